"""Write operations, commit modes, rollback and rejected rows against the real databases."""

from __future__ import annotations

from typing import Any

from db_harness import Db

from etl_core.testing import list_sink, list_source, make_job, route, run_job

SCHEMA = {
    "fields": [
        {"name": "id", "data_type": "integer"},
        {"name": "city", "data_type": "string", "nullable": True},
    ]
}


async def _keyed_table(db: Db, rows: list[tuple[int, str]]) -> str:
    table = db.table()
    text = "VARCHAR(40)" if db.kind == "mariadb" else "TEXT"
    statements = [f"CREATE TABLE {db.quote(table)} (id BIGINT NOT NULL PRIMARY KEY, city {text})"]
    if rows:
        values = ", ".join(f"({i}, '{c}')" for i, c in rows)
        statements.append(f"INSERT INTO {db.quote(table)} (id, city) VALUES {values}")
    await db.execute(*statements)
    return table


async def _write(db: Db, records: list[dict[str, Any]], schema: dict[str, Any] = SCHEMA, **options: Any) -> Any:
    job = make_job(
        list_source("src", records, schema=schema), {**db.writer(**options), "in_port_schemas": {"in": schema}}
    )
    return await run_job(job, data_dir=db.data_dir)


async def _content(db: Db, table: str) -> list[tuple[Any, ...]]:
    return await db.rows(f"SELECT id, city FROM {db.quote(table)} ORDER BY id")


async def test_insert_appends_rows(db: Db) -> None:
    table = await _keyed_table(db, [(1, "Bonn")])
    run = await _write(db, [{"id": 2, "city": "Köln"}, {"id": 3, "city": None}], entity_name=table)
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == [(1, "Bonn"), (2, "Köln"), (3, None)]


async def test_upsert_inserts_new_keys_and_updates_existing_ones_last_one_winning(db: Db) -> None:
    table = await _keyed_table(db, [(1, "Bonn"), (2, "Köln")])
    records = [{"id": 2, "city": "Cologne"}, {"id": 3, "city": "Wien"}, {"id": 3, "city": "Vienna"}]
    run = await _write(db, records, entity_name=table, operation="upsert", key_columns=["id"])
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == [(1, "Bonn"), (2, "Cologne"), (3, "Vienna")]


async def test_upsert_defaults_to_the_tables_primary_key(db: Db) -> None:
    table = await _keyed_table(db, [(1, "Bonn")])
    run = await _write(
        db, [{"id": 1, "city": "Berlin"}, {"id": 5, "city": "Graz"}], entity_name=table, operation="upsert"
    )
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == [(1, "Berlin"), (5, "Graz")]


async def test_update_changes_matching_rows_only(db: Db) -> None:
    table = await _keyed_table(db, [(1, "Bonn"), (2, "Köln")])
    records = [{"id": 2, "city": "Cologne"}, {"id": 9, "city": "Nowhere"}]
    run = await _write(db, records, entity_name=table, operation="update", key_columns=["id"])
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == [(1, "Bonn"), (2, "Cologne")]


async def test_upsert_without_key_columns_on_a_table_without_primary_key_fails_clearly(db: Db) -> None:
    table = db.table()
    await db.execute(f"CREATE TABLE {db.quote(table)} (id INTEGER, city VARCHAR(20))")
    run = await _write(db, [{"id": 1, "city": "x"}], entity_name=table, operation="upsert")
    assert run.status == "FAILED"
    assert f"upsert needs key_columns: table {table} has no primary key" in (run.state.error or "")


async def test_truncate_empties_the_table_once_then_inserts_every_batch(db: Db) -> None:
    table = await _keyed_table(db, [(1, "Bonn"), (2, "Köln")])
    records = [{"id": i, "city": f"c{i}"} for i in range(10, 25)]
    run = await _write(db, records, entity_name=table, operation="truncate", batch_size=4)
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == [(i, f"c{i}") for i in range(10, 25)]


async def test_replace_creates_the_table_anew_from_the_input_schema(db: Db) -> None:
    table = db.table()
    await db.execute(
        f"CREATE TABLE {db.quote(table)} (id INTEGER, old_column INTEGER)",
        f"INSERT INTO {db.quote(table)} VALUES (1, 1)",
    )
    schema = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "label", "data_type": "string"}]}
    run = await _write(db, [{"id": 7, "label": "neu"}], schema, entity_name=table, operation="replace")
    assert run.status == "SUCCESS", run.state.error
    assert await db.columns(table) == ["id", "label"]
    assert await db.rows(f"SELECT id, label FROM {db.quote(table)}") == [(7, "neu")]
    assert await db.tables_like(f"{table}%") == [table]  # no staging table is left behind


async def test_replace_of_a_missing_table_creates_it_with_key_columns_as_primary_key(db: Db) -> None:
    table = db.table()
    run = await _write(db, [{"id": 1, "city": "a"}], entity_name=table, operation="replace", key_columns=["id"])
    assert run.status == "SUCCESS", run.state.error
    again = await _write(db, [{"id": 1, "city": "b"}], entity_name=table, operation="upsert")
    assert again.status == "SUCCESS", again.state.error
    assert await _content(db, table) == [(1, "b")]


async def test_a_missing_table_fails_unless_create_table_is_set(db: Db) -> None:
    table = db.table()
    run = await _write(db, [{"id": 1, "city": "a"}], entity_name=table)
    assert run.status == "FAILED"
    assert f"table {table} does not exist (set create_table: true" in (run.state.error or "")
    assert await db.tables_like(table) == []
    run = await _write(db, [{"id": 1, "city": "a"}], entity_name=table, create_table=True)
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == [(1, "a")]


async def test_an_input_field_without_a_table_column_fails_naming_it(db: Db) -> None:
    table = await _keyed_table(db, [])
    schema = {"fields": [*SCHEMA["fields"], {"name": "zip", "data_type": "string"}]}
    run = await _write(db, [{"id": 1, "city": "a", "zip": "1"}], schema, entity_name=table)
    assert run.status == "FAILED"
    assert f"table {table} has no column(s) zip" in (run.state.error or "")


async def test_a_later_component_failing_leaves_the_table_unchanged(db: Db) -> None:
    table = await _keyed_table(db, [(1, "Bonn")])
    records = [{"id": i, "city": f"c{i}"} for i in range(100, 400)]
    writer = {**db.writer(entity_name=table, batch_size=50), "in_port_schemas": {"in": SCHEMA}}
    sink = list_sink("after", schema=SCHEMA, fail_after=150)
    run = await run_job(
        make_job(list_source("src", records, schema=SCHEMA, batch_size=50), writer, sink), data_dir=db.data_dir
    )
    assert run.status == "FAILED"
    assert run.state.current is not None
    assert run.state.current.failed_component == "after"
    assert await _content(db, table) == [(1, "Bonn")]


async def test_a_failure_after_every_row_was_written_still_rolls_back(db: Db) -> None:
    table = await _keyed_table(db, [(1, "Bonn")])
    records = [{"id": i, "city": "x"} for i in range(2, 30)]
    source = list_source("src", records, schema=SCHEMA, batch_size=7)
    route(source, "out", "write")
    route(source, "out", "slow")
    writer = {**db.writer(entity_name=table, operation="truncate"), "in_port_schemas": {"in": SCHEMA}}
    slow = list_sink("slow", schema=SCHEMA, fail_after=len(records), delay_s=0.15)
    run = await run_job(make_job(source, writer, slow, chain=False), data_dir=db.data_dir)
    assert run.status == "FAILED"
    assert run.metrics("write").records_in == len(records)  # everything was written, then rolled back
    assert await _content(db, table) == [(1, "Bonn")]


async def test_commit_batch_keeps_the_batches_committed_before_a_failure(db: Db) -> None:
    table = await _keyed_table(db, [])
    records = [{"id": i, "city": "x"} for i in range(100)]
    writer = {**db.writer(entity_name=table, batch_size=10, commit="batch"), "in_port_schemas": {"in": SCHEMA}}
    source = list_source("src", records, schema=SCHEMA, batch_size=10)
    after = list_sink("after", schema=SCHEMA, fail_after=30)  # gets batches only once they are committed
    run = await run_job(make_job(source, writer, after), data_dir=db.data_dir)
    assert run.status == "FAILED"
    ids = [r[0] for r in await _content(db, table)]
    assert 30 <= len(ids) < 100
    assert len(ids) % 10 == 0
    assert ids == list(range(len(ids)))


async def test_a_retried_attempt_starts_from_the_original_table(db: Db) -> None:
    table = await _keyed_table(db, [])
    records = [{"id": i, "city": "x"} for i in range(40)]
    source = list_source("src", records, schema=SCHEMA, batch_size=10, fail_after=25, fail_attempts=1)
    writer = {**db.writer(entity_name=table, batch_size=10), "in_port_schemas": {"in": SCHEMA}}
    run = await run_job(make_job(source, writer, num_of_retries=1), data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert len(run.state.attempts) == 2
    assert [r[0] for r in await _content(db, table)] == list(range(40))


async def test_rejected_rows_go_to_the_error_port_and_the_rest_is_written(db: Db) -> None:
    table = await _keyed_table(db, [(5, "taken")])
    records = [{"id": i, "city": f"c{i}"} for i in range(1, 12)]
    records[7] = {"id": None, "city": "no key"}  # NOT NULL
    writer = {
        **db.writer(entity_name=table, batch_size=6),
        "in_port_schemas": {"in": SCHEMA},
        "routes": {"error": ["errors"]},
    }
    source = route(list_source("src", records, schema=SCHEMA), "out", "write")
    run = await run_job(make_job(source, writer, list_sink("errors"), chain=False), data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error
    errors = run.records("errors")
    assert [e["record"] for e in errors] == [{"id": 5, "city": "c5"}, {"id": None, "city": "no key"}]
    assert errors[0]["error"].startswith("input record 5: ")
    assert errors[1]["error"].startswith("input record 8: ")
    assert {e["component"] for e in errors} == {"write"}
    assert run.metrics("write").errors == 2
    expected = [(5, "taken")] + [(i, f"c{i}") for i in range(1, 12) if i not in (5, 8)]
    assert await _content(db, table) == sorted(expected)


async def test_a_rejected_row_without_an_error_port_fails_and_writes_nothing(db: Db) -> None:
    table = await _keyed_table(db, [(3, "taken")])
    records = [{"id": i, "city": "x"} for i in range(1, 6)]
    run = await _write(db, records, entity_name=table)
    assert run.status == "FAILED"
    assert "input record 3: " in (run.state.error or "")
    assert await _content(db, table) == [(3, "taken")]


async def test_written_records_pass_through_to_out(db: Db) -> None:
    table = await _keyed_table(db, [])
    records = [{"id": i, "city": "x"} for i in range(5)]
    writer = {**db.writer(entity_name=table), "in_port_schemas": {"in": SCHEMA}}
    run = await run_job(
        make_job(list_source("src", records, schema=SCHEMA), writer, list_sink("next", schema=SCHEMA)),
        data_dir=db.data_dir,
    )
    assert run.status == "SUCCESS", run.state.error
    assert run.records("next") == records


async def test_no_input_records_still_applies_truncate(db: Db) -> None:
    table = await _keyed_table(db, [(1, "a"), (2, "b")])
    run = await _write(db, [], entity_name=table, operation="truncate")
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == []
