"""PostgreSQL specifics: schemas, binary COPY coercion, typed parameters, jsonb, merge constraints."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from db_harness import Db

from etl_core.testing import list_sink, list_source, make_job, run_job


async def test_a_schema_qualified_table_is_written_and_read(pg: Db) -> None:
    table = pg.table()
    schema = {"fields": [{"name": "id", "data_type": "integer"}]}
    job = make_job(
        list_source("src", [{"id": 1}, {"id": 2}], schema=schema),
        {**pg.writer(entity_name=f"public.{table}", create_table=True), "in_port_schemas": {"in": schema}},
    )
    assert (await run_job(job)).status == "SUCCESS"
    run = await run_job(
        make_job(
            {**pg.reader(entity_name=f'"public"."{table}"'), "out_port_schemas": {"out": schema}},
            list_sink("sink", schema=schema),
        )
    )
    assert run.status == "SUCCESS", run.state.error
    assert sorted(r["id"] for r in run.records("sink")) == [1, 2]


async def test_text_values_are_coerced_to_the_columns_types_for_binary_copy(pg: Db) -> None:
    table = pg.table()
    await pg.execute(
        f"CREATE TABLE {table} (n bigint, d date, ts timestamptz, amount numeric(10,2), u uuid, doc jsonb, ok boolean)"
    )
    schema = {"fields": [{"name": c, "data_type": "string"} for c in ("n", "d", "ts", "amount", "u", "doc", "ok")]}
    key = str(uuid.uuid4())
    record = {
        "n": "42",
        "d": "2024-02-29",
        "ts": "2024-02-29T12:30:00+01:00",
        "amount": "19.99",
        "u": key,
        "doc": '{"a": [1, 2]}',
        "ok": "yes",
    }
    job = make_job(
        list_source("src", [record], schema=schema), {**pg.writer(entity_name=table), "in_port_schemas": {"in": schema}}
    )
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    [row] = await pg.rows(f"SELECT n, d, ts, amount, u, doc, ok FROM {table}")
    assert row[0] == 42
    assert row[1] == dt.date(2024, 2, 29)
    assert row[2] == dt.datetime(2024, 2, 29, 11, 30, tzinfo=dt.UTC)
    assert row[3] == Decimal("19.99")
    assert str(row[4]) == key
    assert row[5] == '{"a": [1, 2]}'
    assert row[6] is True


async def test_a_value_the_column_cannot_take_is_a_record_error(pg: Db) -> None:
    table = pg.table()
    await pg.execute(f"CREATE TABLE {table} (id bigint, d date)")
    schema = {"fields": [{"name": "id", "data_type": "string"}, {"name": "d", "data_type": "string"}]}
    records = [{"id": "1", "d": "2024-01-01"}, {"id": "two", "d": "2024-01-02"}, {"id": "3", "d": "not a date"}]
    writer = {**pg.writer(entity_name=table), "in_port_schemas": {"in": schema}, "routes": {"error": ["errors"]}}
    source = list_source("src", records, schema=schema)
    source["routes"] = {"out": ["write"]}
    run = await run_job(make_job(source, writer, list_sink("errors"), chain=False))
    assert run.status == "SUCCESS", run.state.error
    errors = run.records("errors")
    assert [e["record"]["id"] for e in errors] == ["two", "3"]
    assert "column 'id': 'two' is not an integer" in errors[0]["error"]
    assert await pg.rows(f"SELECT id FROM {table}") == [(1,)]


async def test_string_params_take_the_type_the_server_infers(pg: Db) -> None:
    table = pg.table()
    await pg.execute(
        f"CREATE TABLE {table} (id bigint, day date)",
        f"INSERT INTO {table} VALUES (1, '2024-01-01'), (2, '2024-03-01'), (3, '2024-05-01')",
    )
    query = f"SELECT id FROM {table} WHERE day >= :since AND id <> :skip ORDER BY id"
    run = await run_job(make_job(pg.reader(query=query, params={"since": "2024-02-01", "skip": "3"}), list_sink("s")))
    assert run.status == "SUCCESS", run.state.error
    assert run.records("s") == [{"id": 2}]


async def test_a_param_that_does_not_fit_its_type_fails_naming_it(pg: Db) -> None:
    query = "SELECT 1 AS id WHERE now()::date >= :since"
    run = await run_job(make_job(pg.reader(query=query, params={"since": "soon"}), list_sink("s")))
    assert run.status == "FAILED"
    assert "params value for :since does not fit its type date" in (run.state.error or "")


async def test_jsonb_columns_read_as_objects_without_a_schema(pg: Db) -> None:
    run = await run_job(
        make_job(
            pg.reader(query="""SELECT '{"a": {"b": [1, null]}}'::jsonb AS doc, 2.50::numeric AS n"""), list_sink("s")
        )
    )
    assert run.status == "SUCCESS", run.state.error
    assert run.records("s") == [{"doc": {"a": {"b": [1, None]}}, "n": 2.5}]


async def test_upsert_on_a_table_without_any_constraint_matches_key_columns_through_the_stage(pg: Db) -> None:
    table = pg.table()
    await pg.execute(f"CREATE TABLE {table} (id bigint, name text)", f"INSERT INTO {table} VALUES (1, 'a'), (1, 'A')")
    schema = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "name", "data_type": "string"}]}
    job = make_job(
        list_source("src", [{"id": 1, "name": "b"}, {"id": 2, "name": "c"}], schema=schema),
        {**pg.writer(entity_name=table, operation="upsert", key_columns=["id"]), "in_port_schemas": {"in": schema}},
    )
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    # both rows matching the key are updated: without a unique key, a key may match several rows
    assert await pg.rows(f"SELECT id, name FROM {table} ORDER BY id, name") == [(1, "b"), (1, "b"), (2, "c")]


async def test_update_with_batch_commits_stages_every_batch(pg: Db) -> None:
    table = pg.table()
    await pg.execute(
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text)",
        f"INSERT INTO {table} SELECT g, 'old' FROM generate_series(1, 50) g",
    )
    schema = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "name", "data_type": "string"}]}
    records = [{"id": i, "name": "new"} for i in range(1, 51, 2)]
    job = make_job(
        list_source("src", records, schema=schema),
        {
            **pg.writer(entity_name=table, operation="update", commit="batch", batch_size=7),
            "in_port_schemas": {"in": schema},
        },
    )
    run = await run_job(job)
    assert run.status == "SUCCESS", run.state.error
    assert await pg.rows(f"SELECT name, count(*) FROM {table} GROUP BY name ORDER BY name") == [
        ("new", 25),
        ("old", 25),
    ]


async def test_truncate_and_replace_keep_the_old_rows_readable_until_commit_and_roll_back_on_failure(pg: Db) -> None:
    table = pg.table()
    await pg.execute(f"CREATE TABLE {table} (id bigint)", f"INSERT INTO {table} VALUES (1)")
    schema = {"fields": [{"name": "id", "data_type": "integer"}]}
    for operation in ("truncate", "replace"):
        job = make_job(
            list_source("src", [{"id": 5}, {"id": 6}], schema=schema),
            {**pg.writer(entity_name=table, operation=operation), "in_port_schemas": {"in": schema}},
            list_sink("after", schema=schema, fail_after=2),
        )
        run = await run_job(job)
        assert run.status == "FAILED"
        assert await pg.rows(f"SELECT id FROM {table}") == [(1,)]
    assert await pg.tables_like(f"{table}%") == [table]
