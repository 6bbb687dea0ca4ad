"""type_conversion: every target and on_error rule (table), paths, no mutation, derived schemas, jobs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from etl_core.components.ops.type_conversion import (
    ConversionRule,
    TypeConversionOptions,
    _Compiled,
    convert_batch,
    derive_conversion_schema,
)
from etl_core.config.schema import Schema
from etl_core.errors import ConfigError
from etl_core.testing import component, fields, list_sink, list_source, make_job, route, run_job


def convert(rules: list[dict[str, Any]], record: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    compiled = [_Compiled(ConversionRule.model_validate(r)) for r in rules]
    out, errors = convert_batch(compiled, [record])
    if errors:
        return None, errors[0][1]
    return out[0], None


def rule(path: str, target: str, on_error: str = "raise", **extra: Any) -> dict[str, Any]:
    return {"column_path": path, "target": target, "on_error": on_error, **extra}


CONVERSIONS = [
    pytest.param(rule("v", "integer"), "42", 42, id="integer-from-text"),
    pytest.param(rule("v", "integer"), " 7 ", 7, id="integer-from-padded-text"),
    pytest.param(rule("v", "integer"), "3.0", 3, id="integer-from-integral-text"),
    pytest.param(rule("v", "integer"), 3.0, 3, id="integer-from-integral-float"),
    pytest.param(rule("v", "integer", "null"), "3.5", None, id="integer-refuses-3.5-null"),
    pytest.param(rule("v", "integer", "null"), 3.5, None, id="integer-refuses-fraction-null"),
    pytest.param(rule("v", "integer", "skip"), "abc", "abc", id="integer-skip-keeps-original"),
    pytest.param(rule("v", "float"), "1.5", 1.5, id="float-from-text"),
    pytest.param(rule("v", "float"), 2, 2.0, id="float-from-int"),
    pytest.param(rule("v", "string"), 5, "5", id="string-from-int"),
    pytest.param(rule("v", "string"), True, "true", id="string-from-bool"),
    pytest.param(rule("v", "string"), "na", "na", id="string-keeps-null-words"),
    pytest.param(rule("v", "string"), "", "", id="string-keeps-empty"),
    pytest.param(rule("v", "path"), 12, "12", id="path-is-text"),
    pytest.param(rule("v", "object"), '{"a": 1}', {"a": 1}, id="object-from-json-text"),
    pytest.param(rule("v", "array"), "[1, 2]", [1, 2], id="array-from-json-text"),
    pytest.param(rule("v", "enum", enum_values=["a", "b"]), "a", "a", id="enum-member"),
    pytest.param(rule("v", "enum", "null", enum_values=["a", "b"]), "z", None, id="enum-non-member-null"),
    pytest.param(rule("v", "integer"), None, None, id="null-stays-null"),
    *[
        pytest.param(rule("v", "boolean"), text, expected, id=f"boolean-{text}")
        for text, expected in [
            ("true", True),
            ("TRUE", True),
            ("t", True),
            ("T", True),
            ("1", True),
            ("yes", True),
            ("Y", True),
            ("false", False),
            ("False", False),
            ("f", False),
            ("0", False),
            ("no", False),
            ("N", False),
            (1, True),
            (0, False),
        ]
    ],
    pytest.param(rule("v", "boolean", "null"), "maybe", None, id="boolean-refuses-maybe"),
    *[
        pytest.param(rule("v", target), text, None, id=f"null-word-{text or 'empty'}-to-{target}")
        for target in ("integer", "float", "boolean")
        for text in ("", "na", "NA", "nan", "NaN", "null", "NULL", "none", "None")
    ],
]


@pytest.mark.parametrize(("conversion", "value", "expected"), CONVERSIONS)
def test_type_conversion_converts(conversion: dict[str, Any], value: Any, expected: Any) -> None:
    out, error = convert([conversion], {"v": value, "other": "x"})
    assert error is None
    assert out == {"v": expected, "other": "x"}
    assert type(out["v"]) is type(expected)


ERRORS = [
    pytest.param(rule("v", "integer"), "3.5", "v: '3.5' is not an integer (integer)", id="integer-3.5"),
    pytest.param(rule("v", "float"), "abc", "v: 'abc' is not a float (float)", id="float-text"),
    pytest.param(rule("v", "boolean"), "maybe", "v: 'maybe' is not a boolean (boolean)", id="boolean-maybe"),
    pytest.param(rule("v", "object"), "[1]", "v: '[1]' is not an object (object)", id="object-from-array"),
    pytest.param(rule("v", "enum", enum_values=["a"]), "z", "v: 'z' is not one of a (enum)", id="enum"),
]


@pytest.mark.parametrize(("conversion", "value", "message"), ERRORS)
def test_type_conversion_raise_reports_a_record_error(conversion: dict[str, Any], value: Any, message: str) -> None:
    out, error = convert([conversion], {"v": value})
    assert out is None
    assert error == message


PATHS = [
    pytest.param(
        rule("address.zip", "integer"),
        {"address": {"zip": "123", "city": "B"}},
        {"address": {"zip": 123, "city": "B"}},
        id="dotted",
    ),
    pytest.param(
        rule("items.*.price", "float"),
        {"items": [{"price": "1.5"}, {"price": "2"}, {"name": "x"}]},
        {"items": [{"price": 1.5}, {"price": 2.0}, {"name": "x"}]},
        id="every-list-element",
    ),
    pytest.param(
        rule("items.*.price", "float", "null"),
        {"items": [{"price": "1.5"}, {"price": "bad"}]},
        {"items": [{"price": 1.5}, {"price": None}]},
        id="every-list-element-null-on-error",
    ),
    pytest.param(rule("tags.*", "integer"), {"tags": ["1", "2"]}, {"tags": [1, 2]}, id="list-of-scalars"),
    pytest.param(rule("tags[1]", "integer"), {"tags": ["1", "2"]}, {"tags": ["1", 2]}, id="list-index"),
    pytest.param(
        rule("orders.*.lines.*.qty", "integer"),
        {"orders": [{"lines": [{"qty": "1"}, {"qty": "2"}]}, {"lines": []}]},
        {"orders": [{"lines": [{"qty": 1}, {"qty": 2}]}, {"lines": []}]},
        id="nested-lists",
    ),
    pytest.param(rule("address.zip", "integer"), {"address.zip": "9"}, {"address.zip": 9}, id="flat-dotted-key"),
    pytest.param(rule("missing.x", "integer"), {"a": 1}, {"a": 1}, id="missing-path-untouched"),
    pytest.param(rule("address.zip", "integer"), {"address": None}, {"address": None}, id="null-parent-untouched"),
    pytest.param(rule("items.*.price", "float"), {"items": "n/a"}, {"items": "n/a"}, id="not-a-list-untouched"),
]


@pytest.mark.parametrize(("conversion", "record", "expected"), PATHS)
def test_type_conversion_follows_paths(
    conversion: dict[str, Any], record: dict[str, Any], expected: dict[str, Any]
) -> None:
    before = copy.deepcopy(record)
    out, error = convert([conversion], record)
    assert error is None
    assert out == expected
    assert record == before  # the input record is never mutated


def test_type_conversion_copies_only_along_the_converted_path() -> None:
    record = {"a": {"x": "1"}, "b": {"deep": [1, 2]}, "items": [{"p": "1"}, {"q": 2}]}
    out, _ = convert([rule("a.x", "integer"), rule("items.*.p", "integer")], record)
    assert out is not None
    assert out is not record
    assert out["b"] is record["b"]  # untouched branches are shared
    assert out["items"][1] is record["items"][1]
    assert out["a"] is not record["a"]
    assert record["a"] == {"x": "1"}


def test_type_conversion_passes_records_without_changes_as_they_are() -> None:
    record = {"n": 1, "s": "x"}
    out, _ = convert([rule("n", "integer"), rule("s", "string")], record)
    assert out is record


def test_type_conversion_reports_the_first_failing_rule_of_a_record() -> None:
    out, error = convert([rule("a", "integer"), rule("b", "integer")], {"a": "x", "b": "y"})
    assert out is None
    assert error == "a: 'x' is not an integer (integer)"


def test_type_conversion_wildcard_error_names_the_path() -> None:
    _, error = convert([rule("items.*.price", "float")], {"items": [{"price": "1"}, {"price": "bad"}]})
    assert error == "items.*.price: 'bad' is not a float (float)"


def _schema(data: dict[str, Any]) -> Schema:
    return Schema.model_validate(data)


def test_type_conversion_derives_the_output_schema() -> None:
    source = _schema(
        {
            "fields": [
                {"name": "id", "data_type": "string"},
                {"name": "address", "data_type": "object", "children": [{"name": "zip", "data_type": "string"}]},
                {
                    "name": "items",
                    "data_type": "array",
                    "item": {"data_type": "object", "children": [{"name": "price", "data_type": "string"}]},
                },
                {"name": "flag", "data_type": "string"},
            ]
        }
    )
    options = TypeConversionOptions.model_validate(
        {
            "rules": [
                rule("id", "integer"),
                rule("address.zip", "integer"),
                rule("items.*.price", "float"),
                rule("flag", "enum", enum_values=["y", "n"]),
                rule("not_there", "integer"),
            ]
        }
    )
    out = derive_conversion_schema(options, {"in": source}, ["out"])["out"]
    by_name = {f.name: f for f in out.fields}
    assert [f.name for f in out.fields] == ["id", "address", "items", "flag"]
    assert by_name["id"].data_type == "integer"
    assert by_name["address"].children is not None
    assert by_name["address"].children[0].data_type == "integer"
    assert by_name["items"].item is not None
    assert by_name["items"].item.children is not None
    assert by_name["items"].item.children[0].data_type == "float"
    assert by_name["flag"].enum_values == ["y", "n"]


CONFIG_ERRORS = [
    pytest.param(rule("v", "number"), "rules[0].target: 'number' is not one of string", id="unknown-target"),
    pytest.param(rule("v", "integer", "ignore"), "rules[0].on_error: 'ignore' is not one of raise", id="bad-on-error"),
    pytest.param(rule("a..b", "integer"), "rules[0]: column_path 'a..b'", id="empty-path-part"),
    pytest.param(rule("*.x", "integer"), "must start with a field name", id="path-starts-with-star"),
    pytest.param(rule("v", "enum"), "rules[0]: target 'enum' needs 'enum_values'", id="enum-without-values"),
]


@pytest.mark.parametrize(("conversion", "message"), CONFIG_ERRORS)
async def test_type_conversion_config_errors_name_their_path(conversion: dict[str, Any], message: str) -> None:
    schema = fields(v="string")
    job = make_job(
        list_source("src", [], schema=schema),
        component("tc", "type_conversion", rules=[conversion], in_port_schemas={"in": schema}),
        list_sink("out"),
    )
    with pytest.raises(ConfigError) as caught:
        await run_job(job)
    texts = [str(i) for i in caught.value.issues]
    assert any(message in t and t.startswith("components[1] (name 'tc')") for t in texts), texts


async def test_type_conversion_routes_failures_to_the_error_port_and_goes_on() -> None:
    schema = fields(id="string", amount="string")
    records = [{"id": "1", "amount": "2.5"}, {"id": "x", "amount": "1"}, {"id": "3", "amount": ""}]
    tc = component(
        "tc",
        "type_conversion",
        rules=[rule("id", "integer"), rule("amount", "float")],
        in_port_schemas={"in": schema},
    )
    route(tc, "out", "out")
    route(tc, "error", "bad")
    job = make_job(list_source("src", records, schema=schema), tc, list_sink("out"), list_sink("bad"), chain=False)
    route(job["components"][0], "out", "tc")
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("out") == [{"id": 1, "amount": 2.5}, {"id": 3, "amount": None}]
    assert run.records("bad") == [
        {"record": {"id": "x", "amount": "1"}, "error": "id: 'x' is not an integer (integer)", "component": "tc"}
    ]


async def test_type_conversion_raise_fails_the_job_without_an_error_port() -> None:
    schema = fields(id="string")
    job = make_job(
        list_source("src", [{"id": "1"}, {"id": "x"}], schema=schema),
        component("tc", "type_conversion", rules=[rule("id", "integer")], in_port_schemas={"in": schema}),
        list_sink("out"),
    )
    run = await run_job(job)
    assert run.status == "FAILED"
    assert "id: 'x' is not an integer" in (run.state.error or "")


async def test_type_conversion_output_schema_is_derived_for_downstream_checks() -> None:
    schema = fields(id="string", name="string")
    job = make_job(
        list_source("src", [{"id": "7", "name": "a"}], schema=schema),
        component("tc", "type_conversion", rules=[rule("id", "integer")], in_port_schemas={"in": schema}),
        list_sink("out", schema=fields(id="integer", name="string")),
    )
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("out") == [{"id": 7, "name": "a"}]


async def test_type_conversion_runs_the_original_projects_skip_job_shape() -> None:
    # tests/combinations_jobs/mixed/file_type_conversion_file/json_bulk_typeconv_skip_json.json
    schema = {"fields": [{"name": "id", "data_type": "string"}, {"name": "name", "data_type": "string"}]}
    job = {
        "name": "JSON Bulk Type Conversion (skip) to JSON",
        "strategy_type": "bulk",
        "components": [
            {
                "name": "reader",
                "comp_type": "test_source",
                "records": [{"id": "1", "name": "1.5"}, {"id": "2", "name": "Bob"}],
                "routes": {"out": [{"to": "tc", "in_port": "in"}]},
                "out_port_schemas": {"out": schema},
            },
            {
                "name": "tc",
                "comp_type": "type_conversion",
                "description": "name->float (skip on invalid, keep originals)",
                "rules": [{"column_path": "name", "target": "float", "on_error": "skip"}],
                "in_port_schemas": {"in": schema},
                "routes": {"out": [{"to": "writer", "in_port": "in"}]},
                "out_port_schemas": {"out": schema},
            },
            {"name": "writer", "comp_type": "test_sink", "in_port_schemas": {"in": schema}},
        ],
    }
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("writer") == [{"id": "1", "name": 1.5}, {"id": "2", "name": "Bob"}]
