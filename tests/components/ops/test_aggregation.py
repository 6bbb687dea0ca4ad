"""aggregation: every op (table), group order, streaming across batches, derived schemas, and jobs."""

from __future__ import annotations

import random
import statistics
from typing import Any

import pytest

from etl_core.components.ops.aggregation import AggregationOptions, Aggregator, derive_aggregation_schema
from etl_core.config.schema import Schema
from etl_core.errors import ConfigError
from etl_core.testing import component, fields, list_sink, list_source, make_job, route, run_job


def aggregate(records: list[dict[str, Any]], group_by: list[str], aggs: list[dict[str, str]], size: int = 1000):
    agg = Aggregator(AggregationOptions.model_validate({"group_by": group_by, "aggregations": aggs}))
    errors = []
    for start in range(0, len(records), size):
        errors += agg.add(records[start : start + size])
    assert errors == []
    return agg.results()


def one(op: str, values: list[Any], src: str = "v") -> Any:
    [row] = aggregate([{"v": v} for v in values], [], [{"src": src, "op": op, "dest": "r"}])
    return row["r"]


OPS = [
    pytest.param("count", [1, None, 3], 2, id="count-counts-non-null"),
    pytest.param("count", [], 0, id="count-of-nothing-is-zero"),
    pytest.param("sum", [1, 2, 3], 6, id="sum-of-ints-stays-int"),
    pytest.param("sum", [1.5, 2.5], 4.0, id="sum-of-floats"),
    pytest.param("sum", [1, 2.5], 3.5, id="sum-mixed-is-float"),
    pytest.param("sum", ["1", "2.5", None], 3.5, id="sum-of-numeric-text"),
    pytest.param("sum", [True, True, False], 2, id="sum-of-booleans-counts-true"),
    pytest.param("sum", [None, None], None, id="sum-of-nulls-is-null"),
    pytest.param("min", [3, 1, 2], 1, id="min"),
    pytest.param("max", [3, 1, 2], 3, id="max"),
    pytest.param("min", ["b", "a"], "a", id="min-text"),
    pytest.param("min", [2, "a", None], 2, id="min-mixed-kinds-numbers-first"),
    pytest.param("max", [2, "a"], "a", id="max-mixed-kinds-text-last"),
    pytest.param("max", [None], None, id="max-of-nulls-is-null"),
    pytest.param("mean", [1, 2], 1.5, id="mean"),
    pytest.param("mean", [], None, id="mean-of-nothing-is-null"),
    pytest.param("median", [3, 1, 2], 2.0, id="median-odd"),
    pytest.param("median", [4, 1, 2, 3], 2.5, id="median-even"),
    pytest.param("std", [1, 2, 3, 4], statistics.stdev([1, 2, 3, 4]), id="std-is-sample"),
    pytest.param("std", [5], None, id="std-of-one-value-is-null"),
    pytest.param("std", [5, None], None, id="std-ignores-nulls"),
    pytest.param("nunique", [1, 1, 2, None], 2, id="nunique-ignores-nulls"),
    pytest.param("nunique", [[1], [1], {"a": 1}], 2, id="nunique-of-lists-and-objects"),
    pytest.param("first", [None, "a", "b"], "a", id="first-non-null"),
    pytest.param("last", ["a", "b", None], "b", id="last-non-null"),
    pytest.param("first", [None], None, id="first-of-nulls-is-null"),
    pytest.param("list", ["a", None, "b"], ["a", None, "b"], id="list-keeps-order-and-nulls"),
]


@pytest.mark.parametrize(("op", "values", "expected"), OPS)
def test_aggregation_op(op: str, values: list[Any], expected: Any) -> None:
    result = one(op, values)
    if isinstance(expected, float):
        assert result == pytest.approx(expected)
    else:
        assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("op", ["mean", "median", "std"])
def test_aggregation_mean_median_std_are_floats_for_integers(op: str) -> None:
    assert isinstance(one(op, [2, 2, 2]), float)


def test_aggregation_count_star_counts_rows_with_nulls() -> None:
    assert one("count", [None, None, 1], src="*") == 3


KEY_ORDERS = [
    pytest.param(["b", "a", None, "c", "a"], ["a", "b", "c", None], id="text-ascending-null-last"),
    pytest.param([3, 1.5, None, 2], [1.5, 2, 3, None], id="numbers-ascending-null-last"),
    pytest.param([2, "x", None, True, 1.5], [True, 1.5, 2, "x", None], id="mixed-kinds-do-not-crash"),
    pytest.param([[2], [1], [2]], [[1], [2]], id="list-keys-group-by-content"),
]


@pytest.mark.parametrize(("keys", "expected"), KEY_ORDERS)
def test_aggregation_orders_groups_by_key(keys: list[Any], expected: list[Any]) -> None:
    rows = aggregate([{"k": k} for k in keys], ["k"], [{"src": "*", "op": "count", "dest": "n"}], size=2)
    assert [r["k"] for r in rows] == expected


def test_aggregation_multi_column_keys_order_column_by_column() -> None:
    records = [{"a": a, "b": b} for a, b in [("x", 2), ("x", None), ("w", 9), ("x", 1), ("x", 2)]]
    rows = aggregate(records, ["a", "b"], [{"src": "*", "op": "count", "dest": "n"}])
    assert rows == [
        {"a": "w", "b": 9, "n": 1},
        {"a": "x", "b": 1, "n": 1},
        {"a": "x", "b": 2, "n": 2},
        {"a": "x", "b": None, "n": 1},
    ]


def test_aggregation_output_has_group_columns_first_then_dests_in_config_order() -> None:
    rows = aggregate(
        [{"v": 1, "g": "a"}],
        ["g"],
        [{"src": "v", "op": "max", "dest": "z"}, {"src": "v", "op": "min", "dest": "a_min"}],
    )
    assert list(rows[0]) == ["g", "z", "a_min"]


def test_aggregation_dotted_group_column_comes_out_nested() -> None:
    records = [
        {"address": {"city": "B"}, "v": 1},
        {"address": {"city": "A"}, "v": 2},
        {"address": {"city": "B"}, "v": 3},
    ]
    rows = aggregate(records, ["address.city"], [{"src": "v", "op": "sum", "dest": "stats.total"}])
    assert rows == [
        {"address": {"city": "A"}, "stats": {"total": 2}},
        {"address": {"city": "B"}, "stats": {"total": 4}},
    ]


def test_aggregation_without_group_by_on_no_rows_gives_one_record() -> None:
    rows = aggregate([], [], [{"src": "*", "op": "count", "dest": "n"}, {"src": "v", "op": "sum", "dest": "s"}])
    assert rows == [{"n": 0, "s": None}]


def test_aggregation_streams_the_same_result_whatever_the_batch_size() -> None:
    rng = random.Random(7)
    records = [
        {"g": rng.choice(["a", "b", "c", None]), "v": rng.choice([None, *range(-50, 50)]), "f": rng.random()}
        for _ in range(2000)
    ]
    aggs = [
        {"src": "*", "op": "count", "dest": "rows"},
        {"src": "v", "op": "count", "dest": "n"},
        {"src": "v", "op": "sum", "dest": "sum"},
        {"src": "v", "op": "min", "dest": "min"},
        {"src": "v", "op": "max", "dest": "max"},
        {"src": "f", "op": "mean", "dest": "mean"},
        {"src": "v", "op": "median", "dest": "median"},
        {"src": "f", "op": "std", "dest": "std"},
        {"src": "v", "op": "nunique", "dest": "distinct"},
        {"src": "v", "op": "first", "dest": "first"},
        {"src": "v", "op": "last", "dest": "last"},
    ]
    whole = aggregate(records, ["g"], aggs, size=len(records))
    for size in (1, 7, 333):
        chunked = aggregate(records, ["g"], aggs, size=size)
        assert [r["g"] for r in chunked] == ["a", "b", "c", None]
        for a, b in zip(chunked, whole, strict=True):
            assert a == pytest.approx(b)
    by_group = [r for r in records if r["g"] == "a"]
    values = [r["v"] for r in by_group if r["v"] is not None]
    expected = {
        "rows": len(by_group),
        "n": len(values),
        "sum": sum(values),
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(r["f"] for r in by_group),
        "median": float(statistics.median(values)),
        "std": statistics.stdev(r["f"] for r in by_group),
        "distinct": len(set(values)),
        "first": values[0],
        "last": values[-1],
    }
    assert {k: v for k, v in whole[0].items() if k != "g"} == pytest.approx(expected)


def _schema(**types: str) -> Schema:
    return Schema.model_validate(fields(**types))


DERIVED = [
    pytest.param({"src": "*", "op": "count", "dest": "x"}, "integer", id="count-star-integer"),
    pytest.param({"src": "name", "op": "count", "dest": "x"}, "integer", id="count-integer"),
    pytest.param({"src": "name", "op": "nunique", "dest": "x"}, "integer", id="nunique-integer"),
    pytest.param({"src": "n", "op": "sum", "dest": "x"}, "integer", id="sum-of-integer-integer"),
    pytest.param({"src": "f", "op": "sum", "dest": "x"}, "float", id="sum-of-float-float"),
    pytest.param({"src": "b", "op": "sum", "dest": "x"}, "integer", id="sum-of-boolean-integer"),
    pytest.param({"src": "n", "op": "mean", "dest": "x"}, "float", id="mean-float"),
    pytest.param({"src": "n", "op": "median", "dest": "x"}, "float", id="median-float"),
    pytest.param({"src": "n", "op": "std", "dest": "x"}, "float", id="std-float"),
    pytest.param({"src": "name", "op": "min", "dest": "x"}, "string", id="min-keeps-type"),
    pytest.param({"src": "n", "op": "max", "dest": "x"}, "integer", id="max-keeps-type"),
    pytest.param({"src": "b", "op": "first", "dest": "x"}, "boolean", id="first-keeps-type"),
    pytest.param({"src": "f", "op": "last", "dest": "x"}, "float", id="last-keeps-type"),
    pytest.param({"src": "name", "op": "list", "dest": "x"}, "array", id="list-array"),
]


@pytest.mark.parametrize(("agg", "data_type"), DERIVED)
def test_aggregation_derives_its_output_schema(agg: dict[str, str], data_type: str) -> None:
    options = AggregationOptions.model_validate({"group_by": ["city"], "aggregations": [agg]})
    source = _schema(city="string", name="string", n="integer", f="float", b="boolean")
    out = derive_aggregation_schema(options, {"in": source}, ["out"])["out"]
    assert [(f.name, f.data_type) for f in out.fields] == [("city", "string"), ("x", data_type)]


def test_aggregation_list_schema_carries_the_item_type() -> None:
    options = AggregationOptions.model_validate({"aggregations": [{"src": "n", "op": "list", "dest": "ns"}]})
    out = derive_aggregation_schema(options, {"in": _schema(n="integer")}, ["out"])["out"]
    assert out.fields[0].item is not None
    assert out.fields[0].item.data_type == "integer"


def test_aggregation_derives_nothing_for_an_unknown_column() -> None:
    options = AggregationOptions.model_validate({"group_by": ["nope"], "aggregations": []})
    assert derive_aggregation_schema(options, {"in": _schema(n="integer")}, ["out"]) == {}


INVALID = [
    pytest.param(
        {"aggregations": [{"src": "*", "op": "sum", "dest": "x"}]},
        "aggregations[0]: src '*' (all rows) only works with op 'count'",
        id="star-needs-count",
    ),
    pytest.param(
        {"aggregations": [{"src": "v", "op": "avg", "dest": "x"}]},
        "aggregations[0].op: 'avg' is not one of count",
        id="unknown-op",
    ),
    pytest.param(
        {"group_by": ["x"], "aggregations": [{"src": "v", "op": "sum", "dest": "x"}]},
        "output field(s) 'x' appear more than once",
        id="dest-clashes-with-group-column",
    ),
]


@pytest.mark.parametrize(("options", "message"), INVALID)
async def test_aggregation_config_errors_name_their_path(options: dict[str, Any], message: str) -> None:
    schema = fields(v="integer", x="integer")
    job = make_job(
        list_source("src", [], schema=schema),
        component("agg", "aggregation", in_port_schemas={"in": schema}, **options),
        list_sink("out"),
    )
    with pytest.raises(ConfigError) as caught:
        await run_job(job)
    assert any(message in str(issue) and "(name 'agg')" in str(issue) for issue in caught.value.issues), [
        str(i) for i in caught.value.issues
    ]


async def test_aggregation_sends_non_numeric_records_to_the_error_port_and_leaves_them_out() -> None:
    schema = fields(g="string", v="string")
    records = [{"g": "a", "v": "1"}, {"g": "a", "v": "oops"}, {"g": "a", "v": "2"}]
    agg = component(
        "agg",
        "aggregation",
        group_by=["g"],
        aggregations=[{"src": "*", "op": "count", "dest": "n"}, {"src": "v", "op": "sum", "dest": "total"}],
        in_port_schemas={"in": schema},
    )
    route(agg, "out", "out")
    route(agg, "error", "bad")
    job = make_job(list_source("src", records, schema=schema), agg, list_sink("out"), list_sink("bad"), chain=False)
    route(job["components"][0], "out", "agg")
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("out") == [{"g": "a", "n": 2, "total": 3.0}]
    [bad] = run.records("bad")
    assert bad["record"] == {"g": "a", "v": "oops"}
    assert "'oops' is not a number" in bad["error"]
    assert run.metrics("agg").errors == 1


async def test_aggregation_fails_on_a_non_numeric_value_without_an_error_port() -> None:
    schema = fields(v="string")
    job = make_job(
        list_source("src", [{"v": "x"}], schema=schema),
        component(
            "agg", "aggregation", aggregations=[{"src": "v", "op": "mean", "dest": "m"}], in_port_schemas={"in": schema}
        ),
        list_sink("out"),
    )
    run = await run_job(job)
    assert run.status == "FAILED"
    assert "'x' is not a number" in (run.state.error or "")


async def test_aggregation_output_takes_the_declared_types() -> None:
    schema = fields(g="string", v="integer")
    out = fields(g="string", total="float", n="string")
    job = make_job(
        list_source("src", [{"g": "a", "v": 1}, {"g": "a", "v": 2}], schema=schema),
        component(
            "agg",
            "aggregation",
            group_by=["g"],
            aggregations=[{"src": "v", "op": "sum", "dest": "total"}, {"src": "*", "op": "count", "dest": "n"}],
            in_port_schemas={"in": schema},
            out_port_schemas={"out": out},
        ),
        list_sink("out"),
    )
    run = await run_job(job)
    assert run.records("out") == [{"g": "a", "total": 3.0, "n": "2"}]
    assert type(run.records("out")[0]["total"]) is float


async def test_aggregation_runs_the_original_projects_job_shape() -> None:
    # tests/combinations_jobs/mixed/file_aggregation_file/json_row_agg_id_stats_csv.json of the original etl-core
    in_schema = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "name", "data_type": "string"}]}
    out_schema = {
        "fields": [
            {"name": "id_min", "data_type": "integer"},
            {"name": "id_max", "data_type": "integer"},
            {"name": "id_sum", "data_type": "integer"},
            {"name": "id_mean", "data_type": "float"},
            {"name": "id_median", "data_type": "float"},
            {"name": "id_std", "data_type": "float"},
            {"name": "n", "data_type": "integer"},
        ]
    }
    job = {
        "name": "JSON Row Aggregation (id stats) to CSV",
        "strategy_type": "row",
        "components": [
            {
                "name": "reader",
                "comp_type": "test_source",
                "records": [{"id": i, "name": f"n{i}"} for i in (1, 2, 3, 4)],
                "batch_size": 1,
                "routes": {"out": [{"to": "agg", "in_port": "in"}]},
                "out_port_schemas": {"out": in_schema},
            },
            {
                "name": "agg",
                "comp_type": "aggregation",
                "description": "stats on id",
                "group_by": [],
                "aggregations": [
                    {"src": "id", "op": "min", "dest": "id_min"},
                    {"src": "id", "op": "max", "dest": "id_max"},
                    {"src": "id", "op": "sum", "dest": "id_sum"},
                    {"src": "id", "op": "mean", "dest": "id_mean"},
                    {"src": "id", "op": "median", "dest": "id_median"},
                    {"src": "id", "op": "std", "dest": "id_std"},
                    {"src": "*", "op": "count", "dest": "n"},
                ],
                "in_port_schemas": {"in": in_schema},
                "routes": {"out": [{"to": "writer", "in_port": "in"}]},
                "out_port_schemas": {"out": out_schema},
            },
            {"name": "writer", "comp_type": "test_sink", "in_port_schemas": {"in": out_schema}},
        ],
    }
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("writer") == [
        {
            "id_min": 1,
            "id_max": 4,
            "id_sum": 10,
            "id_mean": 2.5,
            "id_median": 2.5,
            "id_std": pytest.approx(statistics.stdev([1, 2, 3, 4])),
            "n": 4,
        }
    ]


async def test_aggregation_output_schema_is_derived_for_downstream_checks() -> None:
    schema = fields(name="string", id="string")
    job = make_job(
        list_source("src", [{"id": "1", "name": "x"}, {"id": "2", "name": "x"}], schema=schema),
        component(
            "agg",
            "aggregation",
            group_by=["name"],
            aggregations=[{"src": "*", "op": "count", "dest": "n"}],
            in_port_schemas={"in": schema},
        ),
        list_sink("out", schema=fields(name="string", n="integer")),
    )
    run = await run_job(job)
    assert run.records("out") == [{"name": "x", "n": 2}]
