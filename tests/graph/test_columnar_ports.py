"""Plan.columnar_ports: which out ports may send `Columns`, decided from the columns mode of every receiver."""

from __future__ import annotations

from typing import Any

import pytest

from etl_core.components.registry import REGISTRY
from etl_core.config import parse_job
from etl_core.graph import Plan, PlanOptions, plan_job

ORDERS = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "city", "data_type": "string"}]}
COUNTS = {"fields": [{"name": "city", "data_type": "string"}, {"name": "n", "data_type": "integer"}]}
BIG = {"column": "id", "operator": ">", "value": 10}


def comp(name: str, comp_type: str, routes: dict[str, list[str]] | None = None, **options: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "comp_type": comp_type, **options}
    if routes:
        c["routes"] = routes
    return c


def read_csv(routes: dict[str, list[str]], name: str = "read") -> dict[str, Any]:
    return comp(name, "read_csv", routes, filepath=f"{name}.csv", out_port_schemas={"out": ORDERS})


def step(name: str, comp_type: str, routes: dict[str, list[str]] | None = None, **options: Any) -> dict[str, Any]:
    options.setdefault("in_port_schemas", {"in": ORDERS})
    return comp(name, comp_type, routes, **options)


def write_csv(name: str, routes: dict[str, list[str]] | None = None, **options: Any) -> dict[str, Any]:
    return step(name, "write_csv", routes, filepath=f"{name}.csv", **options)


def plan(*components: dict[str, Any]) -> Plan:
    return plan_job(parse_job({"name": "j", "components": list(components)}), PlanOptions(check_paths=False))


def columnar(*components: dict[str, Any]) -> set[tuple[str, str]]:
    return set(plan(*components).columnar_ports)


@pytest.mark.parametrize(
    ("comp_type", "mode"),
    [
        ("read_csv", "none"),
        ("type_conversion", "none"),
        ("schema_mapping", "none"),
        ("write_json", "none"),
        ("test_sink", "none"),
        ("aggregation", "consume"),
        ("filter", "pass"),
        ("split", "pass"),
        ("merge", "pass"),
        ("write_csv", "pass"),
        ("write_sqlite", "pass"),
        ("write_postgresql", "pass"),
        ("write_mariadb", "pass"),
    ],
)
def test_each_type_declares_how_it_takes_columns(comp_type: str, mode: str) -> None:
    spec = REGISTRY.get(comp_type)

    assert spec is not None
    assert spec.columns == mode


def test_read_csv_to_filter_to_write_csv_is_columnar_all_the_way() -> None:
    ports = columnar(
        read_csv({"out": ["keep"]}),
        step("keep", "filter", {"pass": ["write"]}, rule=BIG),
        write_csv("write"),
    )

    assert ports == {("read", "out"), ("keep", "pass")}


def test_a_chain_of_filters_passes_columns_through_each_of_them() -> None:
    ports = columnar(
        read_csv({"out": ["a"]}),
        step("a", "filter", {"pass": ["b"]}, rule=BIG),
        step("b", "filter", {"fail": ["write"]}, rule={"column": "city", "operator": "==", "value": "Paris"}),
        write_csv("write"),
    )

    assert ports == {("read", "out"), ("a", "pass"), ("b", "fail")}


def test_a_filter_whose_fail_port_is_unconnected_still_takes_columns() -> None:
    ports = columnar(
        read_csv({"out": ["keep"]}),
        step("keep", "filter", {"pass": ["write"]}, rule=BIG),
        write_csv("write"),
    )

    assert ("read", "out") in ports
    assert ("keep", "fail") not in ports  # no edge: nothing to decide for it


def test_read_csv_to_type_conversion_is_not_columnar() -> None:
    ports = columnar(
        read_csv({"out": ["convert"]}),
        step("convert", "type_conversion", {"out": ["write"]}, rules=[]),
        write_csv("write"),
    )

    assert ("read", "out") not in ports
    assert ports == {("convert", "out")}


def test_a_filter_with_one_non_columnar_receiver_takes_records_though_its_other_port_stays_columnar() -> None:
    ports = columnar(
        read_csv({"out": ["keep"]}),
        step("keep", "filter", {"pass": ["write"], "fail": ["collect"]}, rule=BIG),
        write_csv("write"),
        step("collect", "test_sink"),
    )

    assert ("read", "out") not in ports
    assert ("keep", "fail") not in ports
    assert ("keep", "pass") in ports
    assert ports == {("keep", "pass")}


def test_a_writer_whose_pass_through_out_feeds_a_non_columnar_consumer_takes_records() -> None:
    ports = columnar(
        read_csv({"out": ["write"]}),
        write_csv("write", {"out": ["collect"]}),
        step("collect", "test_sink"),
    )

    assert ports == set()


def test_a_writer_whose_pass_through_out_feeds_another_writer_takes_columns() -> None:
    ports = columnar(
        read_csv({"out": ["write"]}),
        write_csv("write", {"out": ["copy"]}),
        write_csv("copy"),
    )

    assert ports == {("read", "out"), ("write", "out")}


def test_a_writer_whose_out_feeds_a_type_conversion_makes_its_whole_upstream_take_records() -> None:
    ports = columnar(
        read_csv({"out": ["keep"]}),
        step("keep", "filter", {"pass": ["write"]}, rule=BIG),
        write_csv("write", {"out": ["convert"]}),
        step("convert", "type_conversion", {"out": ["last"]}, rules=[]),
        write_csv("last"),
    )

    assert ports == {("convert", "out")}


def test_the_error_port_of_read_csv_to_a_dead_letter_writer_may_carry_columns_and_the_out_port_too() -> None:
    # the dead-letter writer accepts columns, so the planner marks the error port columnar; a reader sends
    # error records as plain lists there, which every columnar consumer accepts as well
    p = plan(
        read_csv({"out": ["write"], "error": ["dead"]}),
        write_csv("write"),
        comp("dead", "write_csv", filepath="dead.csv"),
    )

    assert set(p.columnar_ports) == {("read", "out"), ("read", "error")}
    assert p.nodes["dead"].spec.columns == "pass"


def test_an_error_port_to_a_non_columnar_consumer_does_not_change_the_out_port() -> None:
    ports = columnar(
        read_csv({"out": ["write"], "error": ["dead"]}),
        write_csv("write"),
        comp("dead", "test_sink"),
    )

    assert ports == {("read", "out")}


def test_a_filter_whose_error_port_goes_to_a_non_columnar_consumer_still_takes_columns() -> None:
    ports = columnar(
        read_csv({"out": ["keep"]}),
        step("keep", "filter", {"pass": ["write"], "error": ["dead"]}, rule=BIG),
        write_csv("write"),
        comp("dead", "test_sink"),
    )

    assert ports == {("read", "out"), ("keep", "pass")}


def test_split_fanning_out_to_aggregation_and_write_json_takes_records() -> None:
    ports = columnar(
        read_csv({"out": ["copy"]}),
        step("copy", "split", {"out": ["count"], "archive": ["json"]}, extra_output_ports=["archive"]),
        step(
            "count",
            "aggregation",
            {"out": ["write"]},
            group_by=["city"],
            aggregations=[{"src": "*", "op": "count", "dest": "n"}],
        ),
        step("json", "write_json", filepath="archive.json"),
        write_csv("write", in_port_schemas={"in": COUNTS}),
    )

    # the aggregation consumes columns, but write_json does not: split forwards one batch to both
    assert ("read", "out") not in ports
    assert ("copy", "archive") not in ports
    assert ports == {("copy", "out"), ("count", "out")}


def test_split_fanning_out_to_aggregation_and_a_csv_writer_takes_columns() -> None:
    ports = columnar(
        read_csv({"out": ["copy"]}),
        step("copy", "split", {"out": ["count"], "archive": ["csv"]}, extra_output_ports=["archive"]),
        step("count", "aggregation", group_by=["city"], aggregations=[{"src": "*", "op": "count", "dest": "n"}]),
        write_csv("csv"),
    )

    assert ports == {("read", "out"), ("copy", "out"), ("copy", "archive")}


def test_merge_of_two_readers_into_a_writer_takes_columns_from_both() -> None:
    ports = columnar(
        read_csv({"out": ["all"]}, name="web"),
        read_csv({"out": ["all"]}, name="shop"),
        step("all", "merge", {"out": ["write"]}),
        write_csv("write"),
    )

    assert ports == {("web", "out"), ("shop", "out"), ("all", "out")}


def test_an_out_port_with_edges_to_a_columnar_and_a_non_columnar_input_is_not_columnar() -> None:
    ports = columnar(
        read_csv({"out": ["write", "collect"]}),
        write_csv("write"),
        step("collect", "test_sink"),
    )

    assert ports == set()


def test_a_writer_at_the_end_of_a_job_has_no_columnar_port_of_its_own() -> None:
    p = plan(read_csv({"out": ["write"]}), write_csv("write"))

    assert p.nodes["write"].outputs == ["out", "error"]
    assert set(p.columnar_ports) == {("read", "out")}
