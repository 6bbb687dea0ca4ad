"""MariaDB specifics: strict mode, the atomic RENAME swap, percent signs, temporary staging."""

from __future__ import annotations

from db_harness import Db

from etl_core.testing import list_sink, list_source, make_job, route, run_job


async def test_a_value_too_long_for_its_column_is_refused_not_truncated(maria: Db) -> None:
    table = maria.table()
    await maria.execute(f"CREATE TABLE {table} (id INT, code VARCHAR(3))")
    schema = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "code", "data_type": "string"}]}
    writer = {**maria.writer(entity_name=table), "in_port_schemas": {"in": schema}, "routes": {"error": ["errors"]}}
    source = route(
        list_source("src", [{"id": 1, "code": "abc"}, {"id": 2, "code": "abcdef"}], schema=schema), "out", "write"
    )
    run = await run_job(make_job(source, writer, list_sink("errors"), chain=False))
    assert run.status == "SUCCESS", run.state.error
    [error] = run.records("errors")
    assert error["record"] == {"id": 2, "code": "abcdef"}
    assert "Data too long for column 'code'" in error["error"]
    assert await maria.rows(f"SELECT id, code FROM {table}") == [(1, "abc")]


async def test_replace_swaps_an_existing_table_in_one_rename(maria: Db) -> None:
    table = maria.table()
    await maria.execute(f"CREATE TABLE {table} (id INT, legacy INT)", f"INSERT INTO {table} VALUES (1, 1)")
    schema = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "note", "data_type": "string"}]}
    job = make_job(
        list_source("src", [{"id": 2, "note": "ü😀"}], schema=schema),
        {**maria.writer(entity_name=table, operation="replace"), "in_port_schemas": {"in": schema}},
    )
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert await maria.columns(table) == ["id", "note"]
    assert await maria.rows(f"SELECT id, note FROM {table}") == [(2, "ü😀")]
    assert await maria.tables_like(f"{table}%") == [table]


async def test_a_failed_replace_drops_its_staging_table_and_keeps_the_old_one(maria: Db) -> None:
    table = maria.table()
    await maria.execute(f"CREATE TABLE {table} (id INT)", f"INSERT INTO {table} VALUES (1)")
    schema = {"fields": [{"name": "id", "data_type": "integer"}]}
    job = make_job(
        list_source("src", [{"id": 2}], schema=schema),
        {**maria.writer(entity_name=table, operation="replace"), "in_port_schemas": {"in": schema}},
        list_sink("after", schema=schema, fail_after=1),
    )
    run = await run_job(job)
    assert run.status == "FAILED"
    assert await maria.rows(f"SELECT id FROM {table}") == [(1,)]
    assert await maria.tables_like(f"{table}%") == [table]


async def test_percent_signs_in_names_and_literals_survive_the_drivers_formatting(maria: Db) -> None:
    table = maria.table("pct%s%d")
    schema = {"fields": [{"name": "rate%", "data_type": "float"}]}
    job = make_job(
        list_source("src", [{"rate%": 0.5}], schema=schema),
        {**maria.writer(entity_name=table, create_table=True), "in_port_schemas": {"in": schema}},
    )
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    query = f"SELECT `rate%`, '100%s' AS label FROM `{table}` WHERE `rate%` > :min"
    run = await run_job(make_job(maria.reader(query=query, params={"min": 0.1}), list_sink("s")))
    assert run.status == "SUCCESS", run.state.error
    assert run.records("s") == [{"rate%": 0.5, "label": "100%s"}]


async def test_update_matches_rows_through_a_temporary_staging_table(maria: Db) -> None:
    table = maria.table()
    await maria.execute(
        f"CREATE TABLE {table} (a INT, b VARCHAR(5), v INT, PRIMARY KEY (a, b))",
        f"INSERT INTO {table} VALUES (1, 'x', 0), (1, 'y', 0), (2, 'x', 0)",
    )
    schema = {
        "fields": [
            {"name": "a", "data_type": "integer"},
            {"name": "b", "data_type": "string"},
            {"name": "v", "data_type": "integer"},
        ]
    }
    records = [{"a": 1, "b": "y", "v": 7}, {"a": 2, "b": "x", "v": 8}, {"a": 3, "b": "z", "v": 9}]
    job = make_job(
        list_source("src", records, schema=schema),
        {**maria.writer(entity_name=table, operation="update"), "in_port_schemas": {"in": schema}},
    )
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert await maria.rows(f"SELECT a, b, v FROM {table} ORDER BY a, b") == [(1, "x", 0), (1, "y", 7), (2, "x", 8)]
