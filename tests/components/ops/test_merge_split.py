"""merge and split: every record of every input out once; every record to every output."""

from __future__ import annotations

from typing import Any

import pytest

from etl_core.testing import fields, list_sink, list_source, run_job

N = fields(n="integer")


def src(name: str, values: range, to: str, port: str = "in", size: int = 3, delay: float = 0.0) -> dict[str, Any]:
    comp = list_source(name, [{"n": v} for v in values], schema=N, batch_size=size, delay_s=delay)
    comp["routes"] = {"out": [{"to": to, "in_port": port}]}
    return comp


def job(*components: dict[str, Any]) -> dict[str, Any]:
    return {"name": "fan test", "strategy_type": "bulk", "components": list(components)}


MERGES = [
    pytest.param(["a", "b", "c"], [], id="extra-input-ports"),
    pytest.param([], ["in", "in", "in"], id="several-edges-into-in"),
    pytest.param(["a"], ["in", "in"], id="both"),
]


@pytest.mark.parametrize(("extra", "into_in"), MERGES)
async def test_merge_forwards_every_record_of_every_input(extra: list[str], into_in: list[str]) -> None:
    ports = extra + into_in
    sources = [src(f"s{i}", range(i * 100, i * 100 + 10), "m", port) for i, port in enumerate(ports)]
    merge: dict[str, Any] = {
        "name": "m",
        "comp_type": "merge",
        "extra_input_ports": extra,
        "in_port_schemas": dict.fromkeys({*ports}, N),
        "routes": {"out": ["sink"]},
    }
    run = await run_job(job(*sources, merge, list_sink("sink", schema=N)))
    assert run.status == "SUCCESS", run.state.error
    got = [r["n"] for r in run.records("sink")]
    assert sorted(got) == sorted(v for i in range(len(ports)) for v in range(i * 100, i * 100 + 10))
    for i in range(len(ports)):  # each input keeps its own order
        mine = [v for v in got if i * 100 <= v < i * 100 + 10]
        assert mine == list(range(i * 100, i * 100 + 10))
    assert run.metrics("m").records_out == 10 * len(ports)


async def test_merge_interleaves_inputs_as_they_arrive() -> None:
    fast = src("fast", range(6), "m", "a", size=1)
    slow = src("slow", range(100, 102), "m", "b", size=1, delay=0.2)
    merge = {
        "name": "m",
        "comp_type": "merge",
        "extra_input_ports": ["a", "b"],
        "in_port_schemas": {"a": N, "b": N},
        "routes": {"out": ["sink"]},
    }
    run = await run_job(job(fast, slow, merge, list_sink("sink", schema=N)), edge_capacity=1)
    got = [r["n"] for r in run.records("sink")]
    # the fast input is not held back behind the slow one: all of it is through before the slow one's first record
    assert got.index(5) < got.index(100)
    assert sorted(got) == [0, 1, 2, 3, 4, 5, 100, 101]


SPLITS = [
    pytest.param(["x", "y"], 0, id="extra-output-ports"),
    pytest.param([], 3, id="several-edges-on-out"),
    pytest.param(["x"], 2, id="both"),
]


@pytest.mark.parametrize(("extra", "edges_on_out"), SPLITS)
async def test_split_sends_every_record_to_every_output(extra: list[str], edges_on_out: int) -> None:
    sinks = [f"x_{p}" for p in extra] + [f"out_{i}" for i in range(edges_on_out)]
    routes: dict[str, list[str]] = {p: [f"x_{p}"] for p in extra}
    if edges_on_out:
        routes["out"] = [f"out_{i}" for i in range(edges_on_out)]
    split = {
        "name": "sp",
        "comp_type": "split",
        "extra_output_ports": extra,
        "in_port_schemas": {"in": N},
        "routes": routes,
    }
    run = await run_job(job(src("s", range(20), "sp"), split, *[list_sink(s, schema=N) for s in sinks]))
    assert run.status == "SUCCESS", run.state.error
    for sink in sinks:
        assert [r["n"] for r in run.records(sink)] == list(range(20))
    assert run.metrics("sp").records_out == 20 * len(extra) + 20 * min(edges_on_out, 1)


async def test_split_skips_ports_without_an_edge() -> None:
    split = {
        "name": "sp",
        "comp_type": "split",
        "extra_output_ports": ["x", "unused"],
        "in_port_schemas": {"in": N},
        "routes": {"x": ["sink"]},
    }
    run = await run_job(job(src("s", range(5), "sp"), split, list_sink("sink", schema=N)))
    assert len(run.records("sink")) == 5
    assert run.metrics("sp").dismissed == 0  # delivered on `x`: nothing was lost
    assert run.metrics("sp").sent["x"] == 5


async def test_split_without_any_edge_counts_its_records_as_dismissed() -> None:
    split = {"name": "sp", "comp_type": "split", "extra_output_ports": ["x"], "in_port_schemas": {"in": N}}
    run = await run_job(job(src("s", range(5), "sp"), split))
    assert run.status == "SUCCESS", run.state.error
    assert run.metrics("sp").dismissed == 5
