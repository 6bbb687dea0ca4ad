"""One partition of a segment, run in-process (no Ray): feeds, exits, shuffles, failures and logs."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest

from etl_core.components import testing_types
from etl_core.components.base import ComponentContext
from etl_core.components.ops.filter import FilterOptions
from etl_core.components.registry import REGISTRY, ComponentType
from etl_core.config.schema import Schema
from etl_core.runtime.bigdata import segment
from etl_core.runtime.bigdata.hashing import ShuffleKey, group_sort_key, stable_hash
from etl_core.runtime.bigdata.segment import PartitionTask, TaskEnv, TaskExit, TaskNode, run_partition
from etl_core.testing import fields

N = Schema.model_validate(fields(n="integer", city="string"))
ENV = TaskEnv(data_dir=Path("."), allowed_roots=(), batch_size=4, edge_capacity=2, attempt=1)
KEEP_EVEN = FilterOptions.model_validate({"rule": {"column": "n", "operator": "in", "value": list(range(0, 100, 2))}})


def keep_even(name: str = "keep") -> TaskNode:
    return TaskNode(name, "filter", KEEP_EVEN, ("in",), ("pass", "fail", "error"), {"in": N}, {"pass": N})


async def run(task: PartitionTask, chunks: dict[str, list[dict[str, Any]]] | None = None) -> tuple[list[Any], Any]:
    emitted: list[Any] = []

    async def emit(item: Any) -> None:
        if not (isinstance(item, tuple) and item[0] == "progress"):
            emitted.append(item)

    report = await run_partition(task, emit, lambda ref: (chunks or {})[ref])
    return list(zip(emitted[::2], emitted[1::2], strict=True)), report


def records(n: range) -> list[dict[str, Any]]:
    return [{"n": i, "city": ["a", "b", None][i % 3]} for i in n]


async def test_a_joined_heads_feeds_are_read_in_order_and_its_output_goes_to_the_driver() -> None:
    task = PartitionTask(
        segment=1,
        partition=0,
        part_index=1_000_000,
        head="keep",
        nodes=(keep_even(),),
        edges=(),
        exits=(TaskExit(7, "keep", "pass"),),
        env=ENV,
        feeds={"in": ["first", "second"]},
    )

    out, report = await run(task, {"first": records(range(10)), "second": records(range(10, 20))})

    assert report.failure is None
    assert all(header == ("out", 7) for header, _ in out)
    assert [r["n"] for _, batch in out for r in batch] == list(range(0, 20, 2))
    assert report.metrics["keep"].received == {"in": 20}
    assert report.metrics["keep"].dismissed == 10  # `fail` has no edge


async def test_a_shuffle_exit_cuts_records_into_buckets_by_key_in_input_order() -> None:
    key = ShuffleKey(3, ("city",), "group")
    task = PartitionTask(
        0, 0, 0, "keep", (keep_even(),), (), (TaskExit(2, "keep", "pass", key),), ENV, feeds={"in": ["x"]}
    )

    out, _ = await run(task, {"x": records(range(40))})

    by_bucket: dict[int, list[dict[str, Any]]] = {}
    for (kind, exit_id, bucket), chunk in out:
        assert (kind, exit_id) == ("chunk", 2)
        by_bucket.setdefault(bucket, []).extend(chunk)
    for bucket, rows in by_bucket.items():
        assert {stable_hash(r["city"]) % 3 for r in rows} == {bucket}
        assert [r["n"] for r in rows] == sorted(r["n"] for r in rows)
    assert sum(len(rows) for rows in by_bucket.values()) == 20


async def test_a_failing_component_is_reported_not_raised_and_the_others_stop() -> None:
    sink = TaskNode("sink", "test_sink", testing_types.TestSinkOptions(fail_after=3), ("in",), (), {"in": N}, {})
    task = PartitionTask(
        0, 0, 0, "keep", (keep_even(), sink), (("keep", "pass", "sink", "in"),), (), ENV, feeds={"in": ["x"]}
    )

    _, report = await run(task, {"x": records(range(40))})

    assert report.failure is not None
    name, error = report.failure
    assert name == "sink"
    assert "failing on purpose" in str(error)


async def test_what_a_component_logs_in_a_partition_is_kept_for_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    async def chatty(ctx: ComponentContext[Any]) -> None:
        async with ctx.input("in") as inbox:
            async for batch in inbox:
                ctx.log.info("batch_seen", size=len(batch))

    spec = REGISTRY.get("test_sink")
    assert spec is not None
    fake = ComponentType(**{**{f: getattr(spec, f) for f in spec.__dataclass_fields__}, "run": chatty})
    monkeypatch.setattr(segment.REGISTRY, "get", lambda name: fake if name == "test_sink" else spec)
    sink = TaskNode("talk", "test_sink", testing_types.TestSinkOptions(), ("in",), (), {"in": N}, {})
    task = PartitionTask(0, 0, 0, "talk", (sink,), (), (), ENV, feeds={"in": ["x"]})

    _, report = await run(task, {"x": records(range(3))})

    assert report.failure is None
    assert [(e.component, e.comp_type, e.level, e.event, e.fields) for e in report.logs] == [
        ("talk", "test_sink", "info", "batch_seen", {"size": 3})
    ]


def test_stable_hash_agrees_with_equality_and_does_not_depend_on_the_process() -> None:
    assert stable_hash(1) == stable_hash(1.0) == stable_hash(True)
    assert stable_hash("Berlin") == zlib.crc32(b"Berlin")
    assert stable_hash(("a", 1)) == stable_hash(("a", 1.0))
    assert stable_hash([1, {"x": 2}]) == stable_hash([1, {"x": 2}])
    assert stable_hash(None) != stable_hash(0)


def test_join_keys_that_are_null_are_spread_over_the_buckets() -> None:
    key = ShuffleKey(4, ("id",), "join")

    pieces = key.bucketize([{"id": None} for _ in range(8)] + [{"id": 5}, {"id": 5.0}], seed=0)

    sizes = {bucket: len(rows) for bucket, rows in pieces}
    assert len(sizes) == 4
    assert [b for b, rows in pieces if {"id": 5} in rows] == [b for b, rows in pieces if {"id": 5.0} in rows]


def test_groups_order_by_their_values_with_nulls_last() -> None:
    rows = [{"city": None, "n": 1}, {"city": "b", "n": 2}, {"city": "a", "n": 3}, {"city": "a", "n": 1}]

    assert sorted(rows, key=group_sort_key(["city", "n"])) == [rows[3], rows[2], rows[1], rows[0]]
