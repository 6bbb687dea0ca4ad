"""The job dialect's models: shapes accepted, unknown keys refused with their JSON path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_core.config import load_job_file, load_job_text, parse_job
from etl_core.errors import ConfigError


def _job(**overrides: object) -> dict[str, object]:
    job: dict[str, object] = {
        "name": "j",
        "components": [{"name": "a", "comp_type": "read_csv", "filepath": "in.csv"}],
    }
    job.update(overrides)
    return job


def _issues(data: object) -> list[tuple[str, str, str | None]]:
    with pytest.raises(ConfigError) as info:
        parse_job(data)
    return [(i.path, i.message, i.component) for i in info.value.issues]


def test_job_defaults_follow_the_dialect() -> None:
    job = parse_job(_job())
    assert job.strategy_type == "row"
    assert job.num_of_retries == 0
    assert job.file_logging is False
    assert job.metadata == {}
    assert job.components[0].description == ""


def test_metadata_underscore_spelling_is_accepted_and_kept() -> None:
    job = parse_job(_job(metadata_={"owner": "ops"}))
    assert job.metadata == {"owner": "ops"}


def test_component_options_are_kept_apart_from_common_fields() -> None:
    job = parse_job(_job())
    comp = job.components[0]
    assert comp.options == {"filepath": "in.csv"}
    assert comp.comp_type == "read_csv"


def test_unknown_job_key_is_an_error_with_its_path() -> None:
    assert _issues(_job(colour="blue")) == [("colour", "unknown key", None)]


def test_unknown_key_in_a_schema_field_names_the_component() -> None:
    comp = {
        "name": "reader",
        "comp_type": "read_csv",
        "out_port_schemas": {"out": {"fields": [{"name": "id", "data_type": "integer", "size": 4}]}},
    }
    issues = _issues(_job(components=[comp]))
    assert issues == [("components[0].out_port_schemas.out.fields[0].size", "unknown key", "reader")]


def test_metadata_and_layout_may_hold_anything() -> None:
    comp = {"name": "a", "comp_type": "x", "layout": {"x": 1, "anything": [1]}, "metadata": {"k": {"deep": 1}}}
    job = parse_job(_job(components=[comp], metadata={"free": {"form": True}}))
    assert job.components[0].layout == {"x": 1, "anything": [1]}


def test_routes_accept_bare_names_and_edge_objects() -> None:
    comp = {"name": "a", "comp_type": "x", "routes": {"out": ["b", {"to": "c", "in_port": "left"}]}}
    job = parse_job(_job(components=[comp]))
    edges = job.components[0].routes["out"]
    assert [(e.to, e.in_port) for e in edges] == [("b", None), ("c", "left")]


def test_extra_ports_accept_names_and_specs() -> None:
    comp = {
        "name": "m",
        "comp_type": "merge",
        "extra_input_ports": ["a", {"name": "b", "required": True, "fanin": "one"}],
    }
    ports = parse_job(_job(components=[comp])).components[0].extra_input_ports
    assert [(p.name, p.required, p.fanin) for p in ports] == [("a", False, "many"), ("b", True, "one")]


@pytest.mark.parametrize(
    ("overrides", "path", "message_part"),
    [
        pytest.param(
            {"strategy_type": "fast"}, "strategy_type", "'fast' is not one of row, bulk, bigdata", id="strategy"
        ),
        pytest.param({"num_of_retries": -1}, "num_of_retries", "greater than or equal to 0", id="retries"),
        pytest.param({"components": []}, "components", "at least 1", id="no-components"),
        pytest.param({"name": ""}, "name", "at least 1 character", id="empty-name"),
    ],
)
def test_bad_job_fields_name_their_path(overrides: dict[str, object], path: str, message_part: str) -> None:
    issues = _issues(_job(**overrides))
    assert len(issues) == 1
    assert issues[0][0] == path
    assert message_part in issues[0][1]


def test_every_structural_error_is_reported_at_once() -> None:
    data = _job(
        strategy_type="nope",
        components=[
            {"name": "a", "comp_type": "x", "routes": {"out": [{"to": ""}]}},
            {
                "name": "b",
                "comp_type": "y",
                "out_port_schemas": {"out": {"fields": [{"name": "f", "data_type": "int"}]}},
            },
        ],
    )
    paths = {p for p, _, _ in _issues(data)}
    assert paths == {
        "strategy_type",
        "components[0].routes.out[0].to",
        "components[1].out_port_schemas.out.fields[0].data_type",
    }


@pytest.mark.parametrize(
    ("field", "message_part"),
    [
        pytest.param({"name": "f", "data_type": "string", "children": []}, "only allowed on object", id="children"),
        pytest.param(
            {"name": "f", "data_type": "string", "item": {"data_type": "string"}}, "only allowed on array", id="item"
        ),
        pytest.param({"name": "f", "data_type": "enum"}, "non-empty 'enum_values'", id="enum-values"),
        pytest.param(
            {"name": "f", "data_type": "integer", "enum_values": ["a"]}, "only allowed on enum", id="enum-on-int"
        ),
    ],
)
def test_schema_field_shapes_must_fit_their_type(field: dict[str, object], message_part: str) -> None:
    comp = {"name": "a", "comp_type": "x", "in_port_schemas": {"in": {"fields": [field]}}}
    issues = _issues(_job(components=[comp]))
    assert issues[0][0] == "components[0].in_port_schemas.in.fields[0]"
    assert message_part in issues[0][1]


def test_duplicate_field_names_in_a_schema_are_refused() -> None:
    fields = [{"name": "id", "data_type": "integer"}, {"name": "id", "data_type": "string"}]
    comp = {"name": "a", "comp_type": "x", "in_port_schemas": {"in": {"fields": fields}}}
    issues = _issues(_job(components=[comp]))
    assert "'id' appears twice" in issues[0][1]


def test_nested_schema_with_object_children_and_array_items_is_accepted() -> None:
    fields = [
        {"name": "address", "data_type": "object", "children": [{"name": "city", "data_type": "string"}]},
        {"name": "tags", "data_type": "array", "item": {"data_type": "string"}},
    ]
    comp = {"name": "a", "comp_type": "x", "in_port_schemas": {"in": {"fields": fields}}}
    schema = parse_job(_job(components=[comp])).components[0].in_port_schemas["in"]
    assert [path for path, _ in schema.leaves()] == ["address.city", "tags"]


def test_a_job_that_is_not_an_object_is_refused() -> None:
    assert _issues([1, 2]) == [("", "a job must be a JSON object, got list", None)]


def test_json_syntax_errors_name_line_and_column() -> None:
    with pytest.raises(ConfigError) as info:
        load_job_text('{\n  "name": "x",\n  oops\n}', "job.json")
    message = info.value.issues[0].message
    assert "job.json: not valid JSON at line 3, column 3" in message


def test_a_job_file_is_read_with_its_raw_document(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    doc = _job(metadata_={"k": 1})
    path.write_text(json.dumps(doc), encoding="utf-8")
    job, raw = load_job_file(path)
    assert job.name == "j"
    assert raw == doc


def test_a_missing_job_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_job_file(tmp_path / "absent.json")
    assert "cannot read job file" in info.value.issues[0].message


def test_issue_text_names_component_and_path_like_the_spec() -> None:
    comp = {"name": "keep_big", "comp_type": "x", "routes": {"out": [{"to": ""}]}}
    with pytest.raises(ConfigError) as info:
        parse_job(_job(components=[{"name": "a", "comp_type": "x"}, {"name": "b", "comp_type": "x"}, comp]))
    assert str(info.value.issues[0]).startswith("components[2] (name 'keep_big'): routes.out[0].to: ")
