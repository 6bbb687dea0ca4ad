"""filter: rule semantics (table), config errors with their JSON paths, and the component in jobs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from etl_core.components.ops._rules import Rule, compile_rule
from etl_core.errors import ConfigError
from etl_core.testing import component, fields, list_sink, list_source, make_job, route, run_job


def leaf(column: str, operator: str, value: Any = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"column": column, "operator": operator}
    if value is not None:
        rule["value"] = value
    return rule


def node(op: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"logical_operator": op, "rules": list(rules)}


def passes(rule: dict[str, Any], record: dict[str, Any]) -> bool:
    route_batch = compile_rule(Rule.model_validate(rule))
    passed, failed = route_batch([record])
    assert len(passed) + len(failed) == 1
    return bool(passed)


SEMANTICS = [
    # equality
    pytest.param(leaf("n", "==", 5), {"n": 5}, True, id="eq-number"),
    pytest.param(leaf("n", "==", 5), {"n": 5.0}, True, id="eq-int-equals-float"),
    pytest.param(leaf("n", "==", 5), {"n": "5"}, True, id="eq-numeric-string-vs-number"),
    pytest.param(leaf("n", "==", "5"), {"n": 5}, True, id="eq-number-vs-numeric-string-value"),
    pytest.param(leaf("n", "==", 5), {"n": "five"}, False, id="eq-non-numeric-string-vs-number"),
    pytest.param(leaf("s", "==", "abc"), {"s": "Abc"}, False, id="eq-strings-exact-case"),
    pytest.param(leaf("s", "==", "5.0"), {"s": "5"}, False, id="eq-two-strings-compare-as-text"),
    pytest.param(leaf("b", "==", True), {"b": True}, True, id="eq-bool"),
    pytest.param(leaf("b", "==", True), {"b": 1}, False, id="eq-bool-is-not-one"),
    pytest.param(leaf("n", "==", 5), {"n": Decimal("5")}, True, id="eq-decimal"),
    pytest.param(leaf("s", "==", ["a", "b"]), {"s": "b"}, True, id="eq-list-means-in"),
    pytest.param(leaf("s", "==", ["a", "b"]), {"s": "c"}, False, id="eq-list-means-in-miss"),
    pytest.param(leaf("s", "!=", ["a", "b"]), {"s": "c"}, True, id="ne-list-means-not-in"),
    pytest.param(leaf("n", "!=", 5), {"n": 4}, True, id="ne-number"),
    pytest.param(leaf("n", "!=", 5), {"n": 5}, False, id="ne-equal"),
    pytest.param(leaf("n", "!=", 5), {"n": None}, False, id="ne-null-is-false"),
    pytest.param(leaf("n", "!=", 5), {}, False, id="ne-missing-is-false"),
    pytest.param(leaf("n", "!=", 5), {"n": "abc"}, False, id="ne-incomparable-is-false"),
    pytest.param(leaf("s", "!=", "x"), {"s": "y"}, True, id="ne-strings"),
    # ordering
    pytest.param(leaf("n", ">", 9), {"n": "10"}, True, id="gt-numeric-string-vs-number"),
    pytest.param(leaf("n", ">", "9"), {"n": 10}, True, id="gt-number-vs-numeric-string-value"),
    pytest.param(leaf("n", ">", 9), {"n": " 10 "}, True, id="gt-numeric-string-with-spaces"),
    pytest.param(leaf("n", ">", 9), {"n": 9}, False, id="gt-equal-is-false"),
    pytest.param(leaf("n", ">=", 9), {"n": 9}, True, id="ge-equal"),
    pytest.param(leaf("n", "<", 9), {"n": 8.5}, True, id="lt-float"),
    pytest.param(leaf("n", "<=", 9), {"n": 9.0}, True, id="le-equal-float"),
    pytest.param(leaf("n", ">", 9), {"n": "abc"}, False, id="gt-non-numeric-string-is-false"),
    pytest.param(leaf("n", ">", 9), {"n": None}, False, id="gt-null-is-false"),
    pytest.param(leaf("n", ">", 9), {}, False, id="gt-missing-is-false"),
    pytest.param(leaf("n", ">", 9), {"n": [10]}, False, id="gt-list-is-false"),
    pytest.param(leaf("n", ">", 9), {"n": True}, False, id="gt-bool-is-false"),
    pytest.param(leaf("s", "<", "banana"), {"s": "apple"}, True, id="lt-text"),
    pytest.param(leaf("s", ">", "10"), {"s": "9"}, True, id="gt-two-strings-compare-as-text"),
    pytest.param(leaf("d", ">", "2024-01-01"), {"d": datetime(2024, 5, 1, 12)}, True, id="gt-datetime-vs-iso"),
    pytest.param(leaf("d", "<", "2024-01-01"), {"d": date(2023, 12, 31)}, True, id="lt-date-vs-iso"),
    pytest.param(leaf("n", ">", 1), {"n": Decimal("1.5")}, True, id="gt-decimal"),
    # text operators
    pytest.param(leaf("s", "contains", "WORLD"), {"s": "Hello world"}, True, id="contains-ignores-case"),
    pytest.param(leaf("s", "contains", "xyz"), {"s": "Hello"}, False, id="contains-miss"),
    pytest.param(leaf("s", "contains", "x"), {"s": None}, False, id="contains-null-is-false"),
    pytest.param(leaf("n", "contains", "234"), {"n": 12345}, True, id="contains-number-as-text"),
    pytest.param(leaf("t", "contains", "red"), {"t": ["Red", "blue"]}, True, id="contains-list-element"),
    pytest.param(leaf("t", "contains", "re"), {"t": ["Red", "blue"]}, False, id="contains-list-needs-whole-element"),
    pytest.param(leaf("s", "not_contains", "XYZ"), {"s": "hello"}, True, id="not-contains"),
    pytest.param(leaf("s", "not_contains", "ELL"), {"s": "hello"}, False, id="not-contains-ignores-case"),
    pytest.param(leaf("s", "not_contains", "x"), {}, False, id="not-contains-missing-is-false"),
    pytest.param(leaf("t", "not_contains", "red"), {"t": ["blue"]}, True, id="not-contains-list"),
    pytest.param(leaf("s", "starts_with", "HEL"), {"s": "hello"}, True, id="starts-with-ignores-case"),
    pytest.param(leaf("s", "starts_with", "ello"), {"s": "hello"}, False, id="starts-with-miss"),
    pytest.param(leaf("s", "ends_with", "LO"), {"s": "hello"}, True, id="ends-with-ignores-case"),
    pytest.param(leaf("s", "ends_with", "x"), {"s": {"a": 1}}, False, id="ends-with-object-is-false"),
    # membership
    pytest.param(leaf("s", "in", ["a", "b"]), {"s": "a"}, True, id="in-strings"),
    pytest.param(leaf("s", "in", ["a", "b"]), {"s": "A"}, False, id="in-exact-case"),
    pytest.param(leaf("n", "in", [1, 2]), {"n": 2.0}, True, id="in-numbers"),
    pytest.param(leaf("n", "in", [1, 2]), {"n": "2"}, True, id="in-numeric-string-vs-numbers"),
    pytest.param(leaf("n", "in", ["1", "2"]), {"n": 2}, True, id="in-number-vs-numeric-strings"),
    pytest.param(leaf("b", "in", [1]), {"b": True}, False, id="in-bool-is-not-one"),
    pytest.param(leaf("n", "in", [1, 2]), {"n": None}, False, id="in-null-is-false"),
    pytest.param(leaf("s", "not_in", ["a", "b"]), {"s": "c"}, True, id="not-in"),
    pytest.param(leaf("s", "not_in", ["a", "b"]), {"s": "a"}, False, id="not-in-member"),
    pytest.param(leaf("s", "not_in", ["a", "b"]), {"s": None}, False, id="not-in-null-is-false"),
    pytest.param(leaf("s", "not_in", ["a", "b"]), {}, False, id="not-in-missing-is-false"),
    pytest.param(leaf("n", "not_in", [1, 2]), {"n": "abc"}, False, id="not-in-incomparable-is-false"),
    pytest.param(leaf("n", "not_in", []), {"n": 1}, True, id="not-in-empty-list"),
    pytest.param(leaf("n", "in", []), {"n": 1}, False, id="in-empty-list"),
    # regular expressions
    pytest.param(leaf("s", "matches", r"\d{3}"), {"s": "ab123"}, True, id="matches-searches"),
    pytest.param(leaf("s", "matches", "^b"), {"s": "ab"}, False, id="matches-anchored"),
    pytest.param(leaf("s", "matches", "abc"), {"s": "ABC"}, False, id="matches-case-sensitive"),
    pytest.param(leaf("s", "matches", "(?i)abc"), {"s": "ABC"}, True, id="matches-inline-ignore-case"),
    pytest.param(leaf("n", "matches", "^12"), {"n": 123}, True, id="matches-number-as-text"),
    pytest.param(leaf("s", "matches", "a"), {"s": None}, False, id="matches-null-is-false"),
    # null tests
    pytest.param(leaf("n", "is_null"), {}, True, id="is-null-missing"),
    pytest.param(leaf("n", "is_null"), {"n": None}, True, id="is-null-null"),
    pytest.param(leaf("n", "is_null"), {"n": 0}, False, id="is-null-zero"),
    pytest.param(leaf("n", "is_null"), {"n": ""}, False, id="is-null-empty-string-is-a-value"),
    pytest.param(leaf("n", "is_not_null"), {"n": 0}, True, id="is-not-null-zero"),
    pytest.param(leaf("n", "is_not_null"), {}, False, id="is-not-null-missing"),
    pytest.param({"column": "n", "operator": "is_null", "value": ""}, {}, True, id="is-null-ignores-a-value"),
    # logic
    pytest.param(node("AND", leaf("n", ">", 1), leaf("s", "==", "a")), {"n": 2, "s": "a"}, True, id="and-both"),
    pytest.param(node("AND", leaf("n", ">", 1), leaf("s", "==", "a")), {"n": 2, "s": "b"}, False, id="and-one"),
    pytest.param(node("OR", leaf("n", ">", 1), leaf("s", "==", "a")), {"n": 0, "s": "a"}, True, id="or-one"),
    pytest.param(node("OR", leaf("n", ">", 1), leaf("s", "==", "a")), {"n": 0, "s": "b"}, False, id="or-none"),
    pytest.param(node("NOT", leaf("n", ">", 9)), {"n": 5}, True, id="not"),
    pytest.param(node("NOT", leaf("n", ">", 9)), {"n": "abc"}, True, id="not-of-incomparable-is-true"),
    pytest.param(node("NOT", leaf("n", "==", 1)), {}, True, id="not-of-missing-is-true"),
    pytest.param(
        node("AND", node("OR", leaf("a", "==", 1), leaf("b", "==", 1)), node("NOT", leaf("c", "is_null"))),
        {"b": 1, "c": 0},
        True,
        id="nested-tree",
    ),
    pytest.param(node("AND", leaf("n", ">", 1)), {"n": 2}, True, id="and-of-one"),
    # paths
    pytest.param(leaf("address.city", "==", "Berlin"), {"address": {"city": "Berlin"}}, True, id="dotted-nested"),
    pytest.param(leaf("address.city", "==", "Berlin"), {"address.city": "Berlin"}, True, id="dotted-flat-key"),
    pytest.param(leaf("address.city", "==", "Berlin"), {"address": None}, False, id="dotted-null-parent"),
    pytest.param(leaf("tags[1]", "==", "y"), {"tags": ["x", "y"]}, True, id="list-index"),
    pytest.param(leaf("tags[5]", "is_null"), {"tags": ["x"]}, True, id="list-index-out-of-range-is-null"),
]


@pytest.mark.parametrize(("rule", "record", "expected"), SEMANTICS)
def test_filter_rule_semantics(rule: dict[str, Any], record: dict[str, Any], expected: bool) -> None:
    assert passes(rule, record) is expected


def test_filter_keeps_batch_order_and_routes_every_record_once() -> None:
    route_batch = compile_rule(Rule.model_validate(leaf("n", ">", 2)))
    batch = [{"n": i} for i in range(6)] + [{"n": None}, {}]
    passed, failed = route_batch(batch)
    assert passed == [{"n": 3}, {"n": 4}, {"n": 5}]
    assert failed == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": None}, {}]
    assert passed[0] is batch[3]  # records pass through untouched


SCHEMA = fields(id="integer", name="string", amount="float")


def filter_job(rule: Any, name: str = "keep_big") -> dict[str, Any]:
    return make_job(
        list_source("src", [{"id": 1, "name": "a", "amount": 1.0}], schema=SCHEMA),
        component(name, "filter", rule=rule, in_port_schemas={"in": SCHEMA}),
        list_sink("out"),
    )


CONFIG_ERRORS = [
    pytest.param(
        leaf("amount", "equals", 5),
        "components[1] (name 'keep_big'): rule.operator: 'equals' is not one of ==, !=, >, <, >=, <=, contains",
        id="unknown-operator",
    ),
    pytest.param(
        node("AND", leaf("amount", ">", 1), leaf("name", "like", "a")),
        "components[1] (name 'keep_big'): rule.rules[1].operator: 'like' is not one of",
        id="unknown-operator-nested",
    ),
    pytest.param(
        node("NOT", leaf("amount", ">", 1), leaf("name", "==", "a")),
        "components[1] (name 'keep_big'): rule.rules: NOT takes exactly one rule, got 2",
        id="not-with-two-rules",
    ),
    pytest.param(
        {"logical_operator": "XOR", "rules": [leaf("amount", ">", 1)]},
        "components[1] (name 'keep_big'): rule.logical_operator: 'XOR' is not one of AND, OR",
        id="unknown-logical-operator",
    ),
    pytest.param(
        node("OR"),
        "components[1] (name 'keep_big'): rule.rules: OR needs at least one rule",
        id="or-without-rules",
    ),
    pytest.param(
        {"column": "amount", "operator": ">", "value": 1, "rules": []},
        "components[1] (name 'keep_big'): rule: a rule is either a leaf",
        id="leaf-and-node-mixed",
    ),
    pytest.param(
        leaf("amount", "in", 5),
        "components[1] (name 'keep_big'): rule.value: operator 'in' needs a list value, got 5",
        id="in-needs-a-list",
    ),
    pytest.param(
        leaf("name", "matches", "(unclosed"),
        "components[1] (name 'keep_big'): rule.value: '(unclosed' is not a valid regular expression",
        id="bad-regex",
    ),
    pytest.param(
        {"column": "amount", "operator": ">"},
        "components[1] (name 'keep_big'): rule.value: operator '>' needs a value",
        id="missing-value",
    ),
    pytest.param(
        leaf("amount", ">", [1, 2]),
        "components[1] (name 'keep_big'): rule.value: operator '>' needs a number or a string",
        id="ordering-needs-a-scalar",
    ),
    pytest.param(
        {"operator": "==", "value": 1},
        "components[1] (name 'keep_big'): rule: a leaf rule needs 'column' and 'operator'",
        id="leaf-without-column",
    ),
    pytest.param(
        {"column": "amount", "op": "==", "value": 1},
        "components[1] (name 'keep_big'): rule.op: unknown key",
        id="unknown-key",
    ),
]


@pytest.mark.parametrize(("rule", "message"), CONFIG_ERRORS)
async def test_filter_config_errors_name_their_path(rule: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        await run_job(filter_job(rule))
    texts = [str(issue) for issue in caught.value.issues]
    assert any(t.startswith(message) for t in texts), texts


async def test_filter_routes_records_to_pass_and_fail() -> None:
    records = [{"id": i, "name": n, "amount": a} for i, (n, a) in enumerate([("a", 10.0), ("b", 600.0), ("c", None)])]
    flt = component("keep_big", "filter", rule=leaf("amount", ">", 500), in_port_schemas={"in": SCHEMA})
    route(flt, "pass", "big")
    route(flt, "fail", "small")
    job = make_job(list_source("src", records, schema=SCHEMA), flt, list_sink("big"), list_sink("small"), chain=False)
    route(job["components"][0], "out", "keep_big")
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("big") == [{"id": 1, "name": "b", "amount": 600.0}]
    assert [r["id"] for r in run.records("small")] == [0, 2]
    metrics = run.metrics("keep_big")
    assert metrics.sent == {"pass": 1, "fail": 2, "error": 0}
    assert metrics.dismissed == 0


async def test_filter_counts_records_on_unconnected_fail_as_dismissed() -> None:
    records = [{"id": i, "name": "x", "amount": float(i)} for i in range(10)]
    job = make_job(
        list_source("src", records, schema=SCHEMA, batch_size=3),
        component("keep", "filter", rule=leaf("amount", ">=", 7), in_port_schemas={"in": SCHEMA}),
        list_sink("out"),
    )
    run = await run_job(job)
    assert [r["id"] for r in run.records("out")] == [7, 8, 9]
    assert run.metrics("keep").dismissed == 7


async def test_filter_runs_the_original_projects_job_shape() -> None:
    # tests/combinations_jobs/mixed/file_filter_file/json_bulk_filter_json.json of the original etl-core
    schema = {"fields": [{"name": "id", "data_type": "string"}, {"name": "name", "data_type": "string"}]}
    job = {
        "name": "JSON Bulk Filter to JSON",
        "num_of_retries": 0,
        "file_logging": False,
        "strategy_type": "bulk",
        "metadata": {"created_by": "pytest"},
        "components": [
            {
                "name": "reader",
                "comp_type": "test_source",
                "records": [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}, {"id": "10", "name": "c"}],
                "routes": {"out": [{"to": "flt", "in_port": "in"}]},
                "out_port_schemas": {"out": schema},
            },
            {
                "name": "flt",
                "comp_type": "filter",
                "description": "id >= 2",
                "rule": {"column": "id", "operator": ">=", "value": 2},
                "in_port_schemas": {"in": schema},
                "routes": {"pass": [{"to": "writer", "in_port": "in"}]},
                "out_port_schemas": {"pass": schema},
            },
            {"name": "writer", "comp_type": "test_sink", "in_port_schemas": {"in": schema}},
        ],
    }
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("writer") == [{"id": "2", "name": "b"}, {"id": "10", "name": "c"}]
