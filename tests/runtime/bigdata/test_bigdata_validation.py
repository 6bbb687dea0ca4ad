"""Planning a bigdata job: types without a distributed form and joins that cannot be partitioned are refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from etl_core.config import parse_job
from etl_core.errors import ConfigError
from etl_core.graph import PlanOptions, plan_job
from etl_core.runtime.bigdata.layout import build_layout
from etl_core.runtime.bigdata.validation import join_partitioning
from etl_core.testing import component, fields, list_sink, list_source, make_job, route

S = fields(id="integer", name="string")
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")


def takes(schema: dict[str, Any], name: str, comp_type: str, **options: Any) -> dict[str, Any]:
    """A component with a schema on its `in` port (its outputs derive theirs)."""
    return component(name, comp_type, in_port_schemas={"in": schema}, **options)


COUNTED = fields(name="string", n="integer")


def plan(job: dict[str, Any], tmp_path: Path) -> Any:
    return plan_job(parse_job(job), PlanOptions(data_dir=tmp_path))


def issues(job: dict[str, Any], tmp_path: Path) -> list[tuple[str, str | None, str]]:
    with pytest.raises(ConfigError) as caught:
        plan(job, tmp_path)
    return [(i.path, i.component, i.message) for i in caught.value.issues]


def join_job(steps: list[dict[str, Any]], outputs: tuple[str, ...] = ("out",)) -> dict[str, Any]:
    ports = ["a", "b", "c"]
    mapping = component(
        "join",
        "schema_mapping",
        extra_input_ports=ports,
        extra_output_ports=list(outputs),
        in_port_schemas=dict.fromkeys(ports, S),
        join_plan={"steps": steps},
    )
    sources = [route(list_source(p, [], schema=S), "out", "join", p) for p in ports]
    for port in outputs:
        route(mapping, port, "sink")
    return make_job(*sources, mapping, list_sink("sink"), chain=False, strategy="bigdata")


def step(left: str, right: str, on: str, out: str, right_on: str | None = None) -> dict[str, Any]:
    return {"left_port": left, "right_port": right, "left_on": on, "right_on": right_on or on, "output_port": out}


@needs_ray
def test_bigdata_plans_a_database_source_to_run_whole(tmp_path: Path) -> None:
    job = make_job(
        component("orders", "read_sqlite", database="db.sqlite", entity_name="orders", out_port_schemas={"out": S}),
        list_sink("sink", schema=S),
        strategy="bigdata",
    )

    assert list(plan(job, tmp_path).nodes) == ["orders", "sink"]


def test_the_same_job_with_strategy_bulk_plans(tmp_path: Path) -> None:
    job = make_job(
        component("orders", "read_sqlite", database="db.sqlite", entity_name="orders", out_port_schemas={"out": S}),
        list_sink("sink", schema=S),
        strategy="bulk",
    )

    assert list(plan(job, tmp_path).nodes) == ["orders", "sink"]


@needs_ray
def test_bigdata_plans_every_distributed_type(tmp_path: Path) -> None:
    job = make_job(
        component("src", "read_csv", filepath="in.csv", out_port_schemas={"out": S}),
        takes(S, "keep", "filter", rule={"column": "id", "operator": ">", "value": 1}),
        takes(S, "count", "aggregation", group_by=["name"], aggregations=[{"src": "*", "op": "count", "dest": "n"}]),
        takes(COUNTED, "dst", "write_json", filepath="out.jsonl"),
        strategy="bigdata",
    )

    assert list(plan(job, tmp_path).nodes) == ["src", "keep", "count", "dst"]


@needs_ray
def test_bigdata_refuses_a_join_plan_that_joins_one_input_on_two_keys(tmp_path: Path) -> None:
    job = join_job([step("a", "b", "id", "ab"), step("a", "c", "name", "out")], outputs=("ab", "out"))

    found = issues(job, tmp_path)

    assert [(p, n) for p, n, _ in found] == [("components[3].join_plan", "join")]
    assert "joins 'a' on 'name', but another step joins it on 'id'" in found[0][2]


@needs_ray
def test_bigdata_plans_a_chain_of_joins_on_one_key(tmp_path: Path) -> None:
    job = join_job([step("a", "b", "id", "ab"), step("ab", "c", "id", "out")])

    assert "join" in plan(job, tmp_path).nodes


def test_join_partitioning_keys_each_input_port_by_its_join_column() -> None:
    options = parse_job(join_job([step("a", "b", "id", "ab", right_on="name")])).components[3].options
    from etl_core.components.ops._mapping_options import SchemaMappingOptions

    keys, why = join_partitioning(SchemaMappingOptions.model_validate(options))

    assert why is None
    assert keys == {"a": "id", "b": "name"}


def test_a_joined_output_with_two_key_names_cannot_be_joined_again() -> None:
    from etl_core.components.ops._mapping_options import SchemaMappingOptions

    job = join_job([step("a", "b", "id", "ab", right_on="name"), step("ab", "c", "id", "out")])
    options = SchemaMappingOptions.model_validate(parse_job(job).components[3].options)

    _, why = join_partitioning(options)

    assert why is not None
    assert "joined columns of different names" in why


@needs_ray
def test_layout_runs_what_follows_an_aggregation_on_the_driver(tmp_path: Path) -> None:
    job = make_job(
        component("src", "read_csv", filepath="in.csv", out_port_schemas={"out": S}),
        takes(S, "keep", "filter", rule={"column": "id", "operator": ">", "value": 1}),
        takes(S, "count", "aggregation", group_by=["name"], aggregations=[{"src": "*", "op": "count", "dest": "n"}]),
        takes(COUNTED, "big", "filter", rule={"column": "n", "operator": ">", "value": 1}),
        takes(COUNTED, "dst", "write_json", filepath="out_dir"),
        strategy="bigdata",
    )

    layout = build_layout(plan(job, tmp_path), directory_writers={"dst"})

    assert [(s.head, s.nodes) for s in layout.segments] == [("src", ["src", "keep"]), ("count", ["count"])]
    assert [x.kind for x in layout.segments[0].exits] == ["shuffle"]
    assert layout.driver == ["big", "dst"]
    assert layout.driver_writers == {"dst"}
    assert layout.ray_writers == set()


def test_bigdata_without_ray_installed_is_refused_on_strategy_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    job = make_job(list_source("src", [], schema=S), list_sink("sink", schema=S), strategy="bigdata")

    found = issues(job, tmp_path)

    assert found == [
        (
            "strategy_type",
            None,
            "strategy_type 'bigdata' runs on Ray, which is not installed: pip install 'etl-core[ray]'",
        )
    ]
