"""Database options are checked when the job is validated, before any connection is made."""

from __future__ import annotations

from typing import Any

import pytest

from etl_core.config.loader import parse_job
from etl_core.errors import ConfigError
from etl_core.graph.planner import plan_job
from etl_core.testing import list_sink, list_source, make_job

SCHEMA = {"fields": [{"name": "id", "data_type": "integer"}]}


def _issues(component: dict[str, Any]) -> list[tuple[str, str]]:
    """The issues of a reader (feeding a sink) or a writer (fed by a source), paths relative to it."""
    if component["comp_type"].startswith("write_"):
        job = make_job(list_source("src", [], schema=SCHEMA), {**component, "in_port_schemas": {"in": SCHEMA}})
        prefix = "components[1]"
    else:
        job = make_job(component, list_sink("s"))
        prefix = "components[0]"
    with pytest.raises(ConfigError) as caught:
        plan_job(parse_job(job))
    return [(i.path.replace(prefix, "components[0]"), i.message) for i in caught.value.issues]


def test_a_reader_needs_a_table_or_a_query() -> None:
    assert _issues({"name": "r", "comp_type": "read_postgresql", "dsn": "postgresql://h/db"}) == [
        ("components[0]", "give entity_name (a table to read) or query (a SELECT)")
    ]


def test_every_placeholder_needs_a_param_in_the_readers_driver() -> None:
    reader = {"name": "r", "comp_type": "read_mariadb", "dsn": "mysql://h/db"}
    [(path, message)] = _issues({**reader, "query": "SELECT * FROM t WHERE a = :a", "params": {"b": 1}})
    assert path == "components[0]"
    assert "the query uses :a but params has no value for it" in message
    [(_, message)] = _issues(
        {"name": "r", "comp_type": "read_postgresql", "dsn": "postgresql://h/db", "query": "SELECT $1"}
    )
    assert "the query uses the driver's own placeholder '$1'" in message


def test_spare_params_pass_validation_with_a_query_or_a_table() -> None:
    reader = {"name": "r", "comp_type": "read_mariadb", "dsn": "mysql://h/db"}
    with_query = {**reader, "query": "SELECT * FROM t WHERE a = :a", "params": {"a": 1, "spare": "x"}}
    with_table = {**reader, "entity_name": "t", "params": {"spare": "x"}}
    assert plan_job(parse_job(make_job(with_query, list_sink("s")))).nodes["r"].options.params == {"a": 1, "spare": "x"}
    assert plan_job(parse_job(make_job(with_table, list_sink("s")))).nodes["r"].options.params == {"spare": "x"}


def test_entity_names_and_key_columns_are_checked() -> None:
    writer = {"name": "w", "comp_type": "write_sqlite", "database": "x.db"}
    assert _issues({**writer, "entity_name": "a.b.c"}) == [
        ("components[0].entity_name", "entity name 'a.b.c' has 3 parts; use 'table' or 'schema.table'")
    ]
    assert _issues({**writer, "entity_name": "t", "key_columns": ["id", "id"]}) == [
        ("components[0].key_columns", "key_columns repeats id")
    ]
    assert _issues({**writer, "entity_name": "t", "operation": "merge"})[0][1].startswith("'merge' is not one of")
    assert _issues({**writer, "entity_name": "t", "commit": "never"})[0][0] == "components[0].commit"
    assert _issues(writer) == [("components[0].entity_name", "required")]


def test_references_are_left_for_the_resolver() -> None:
    reader = {
        "name": "r",
        "comp_type": "read_postgresql",
        "dsn": "postgresql://u:${pw}@h/db",
        "entity_name": "${schema}.orders",
        "query": "SELECT * FROM ${table} WHERE a = :a",
        "params": {"a": "${value}"},
    }
    plan = plan_job(parse_job(make_job(reader, list_sink("s"))))
    assert plan.nodes["r"].options.entity_name == "${schema}.orders"


def test_every_database_option_is_in_the_json_schema_with_a_description() -> None:
    from etl_core.components.registry import REGISTRY

    for name in ("read_postgresql", "write_postgresql", "read_mariadb", "write_mariadb"):
        props = REGISTRY.get(name).options.model_json_schema()["properties"]  # type: ignore[union-attr]
        assert "dsn" in props
        assert props["dsn"].get("writeOnly") is True
    props = REGISTRY.get("write_sqlite").options.model_json_schema()["properties"]  # type: ignore[union-attr]
    assert set(props) == {"database", "entity_name", "batch_size", "operation", "key_columns", "create_table", "commit"}
