"""Upserts match on key_columns, whatever unique keys the table has, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from typing import Any

import pytest
from db_harness import Db

from etl_core.testing import list_sink, list_source, make_job, route, run_job

SCHEMA = {
    "fields": [
        {"name": "id", "data_type": "integer"},
        {"name": "code", "data_type": "string"},
        {"name": "v", "data_type": "string", "nullable": True},
    ]
}


async def _table(db: Db, rows: list[tuple[int, str, str]], *, unique_code: bool = False) -> str:
    """A table (id primary key, code, v) holding `rows`; with `unique_code`, a unique index on code too."""
    table = db.table()
    statements = [f"CREATE TABLE {db.quote(table)} (id BIGINT NOT NULL PRIMARY KEY, code VARCHAR(10), v VARCHAR(20))"]
    if unique_code:
        statements.append(f"CREATE UNIQUE INDEX {db.quote(table + '_code')} ON {db.quote(table)} (code)")
    if rows:
        values = ", ".join(f"({i}, '{c}', '{v}')" for i, c, v in rows)
        statements.append(f"INSERT INTO {db.quote(table)} (id, code, v) VALUES {values}")
    await db.execute(*statements)
    return table


async def _upsert(db: Db, records: list[dict[str, Any]], table: str, **options: Any) -> Any:
    """Upsert `records` into `table`, refused records going to the sink `errors`."""
    writer = {
        **db.writer(entity_name=table, operation="upsert", **options),
        "in_port_schemas": {"in": SCHEMA},
        "routes": {"error": ["errors"]},
    }
    source = route(list_source("src", records, schema=SCHEMA), "out", "write")
    return await run_job(make_job(source, writer, list_sink("errors"), chain=False), data_dir=db.data_dir)


async def _content(db: Db, table: str) -> list[tuple[Any, ...]]:
    return await db.rows(f"SELECT id, code, v FROM {db.quote(table)} ORDER BY id")


async def test_upsert_updates_the_row_whose_key_columns_match_even_without_a_unique_key_on_them(db: Db) -> None:
    table = await _table(db, [(1, "A", "old")])
    run = await _upsert(db, [{"id": 2, "code": "A", "v": "new"}], table, key_columns=["code"])
    assert run.status == "SUCCESS", run.state.error
    assert run.records("errors") == []
    assert await _content(db, table) == [(2, "A", "new")]


async def test_upsert_on_the_primary_key_updates_existing_rows_and_inserts_new_ones(db: Db) -> None:
    table = await _table(db, [(1, "A", "old"), (2, "B", "old")])
    records = [{"id": 1, "code": "A", "v": "new"}, {"id": 3, "code": "C", "v": "c"}]
    run = await _upsert(db, records, table, key_columns=["id"])
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == [(1, "A", "new"), (2, "B", "old"), (3, "C", "c")]
    run = await _upsert(db, [{"id": 2, "code": "B", "v": "default key"}], table)
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == [(1, "A", "new"), (2, "B", "default key"), (3, "C", "c")]


async def test_upsert_on_a_unique_index_that_is_not_the_primary_key_matches_on_it(db: Db) -> None:
    table = await _table(db, [(1, "A", "old")], unique_code=True)
    records = [{"id": 2, "code": "A", "v": "new"}, {"id": 3, "code": "B", "v": "b"}]
    run = await _upsert(db, records, table, key_columns=["code"])
    assert run.status == "SUCCESS", run.state.error
    assert await _content(db, table) == [(2, "A", "new"), (3, "B", "b")]


async def test_upsert_on_the_primary_key_does_not_match_a_row_through_another_unique_key(db: Db) -> None:
    table = await _table(db, [(1, "A", "old")], unique_code=True)
    records = [{"id": 2, "code": "A", "v": "new"}, {"id": 3, "code": "B", "v": "b"}]
    run = await _upsert(db, records, table, key_columns=["id"])
    assert run.status == "SUCCESS", run.state.error
    [error] = run.records("errors")
    assert error["record"] == {"id": 2, "code": "A", "v": "new"}
    assert error["error"].startswith("input record 1: ")
    assert await _content(db, table) == [(1, "A", "old"), (3, "B", "b")]


@pytest.mark.parametrize("commit", ["end", "batch"])
async def test_upsert_on_plain_columns_keeps_the_last_row_per_key_and_finds_refused_rows(db: Db, commit: str) -> None:
    table = await _table(db, [(1, "A", "old"), (50, "Z", "old"), (60, "Y", "old")])
    records = [
        {"id": 2, "code": "A", "v": "a1"},
        {"id": 3, "code": "B", "v": "b"},
        {"id": 4, "code": "A", "v": "a2"},  # the same key later in the batch wins
        {"id": 5, "code": "C", "v": "c"},
        {"id": 60, "code": "Q", "v": "q"},  # a new key whose id is taken: refused, the rest of its batch written
        {"id": 6, "code": "Z", "v": "z"},
        {"id": 7, "code": "D", "v": "d"},
        {"id": 8, "code": "B", "v": "b2"},  # a key inserted by the previous batch
        {"id": 9, "code": "E", "v": "e"},
    ]
    run = await _upsert(db, records, table, key_columns=["code"], batch_size=4, commit=commit)
    assert run.status == "SUCCESS", run.state.error
    errors = run.records("errors")
    assert [e["record"] for e in errors] == [{"id": 60, "code": "Q", "v": "q"}]
    assert errors[0]["error"].startswith("input record 5: ")
    assert await _content(db, table) == [
        (4, "A", "a2"),
        (5, "C", "c"),
        (6, "Z", "z"),
        (7, "D", "d"),
        (8, "B", "b2"),
        (9, "E", "e"),
        (60, "Y", "old"),
    ]


async def test_a_failed_upsert_on_plain_columns_leaves_the_table_unchanged(db: Db) -> None:
    table = await _table(db, [(1, "A", "old"), (60, "Y", "old")])
    records = [{"id": 2, "code": "A", "v": "new"}, {"id": 60, "code": "Q", "v": "q"}]
    writer = {
        **db.writer(entity_name=table, operation="upsert", key_columns=["code"]),
        "in_port_schemas": {"in": SCHEMA},
    }
    run = await run_job(make_job(list_source("src", records, schema=SCHEMA), writer), data_dir=db.data_dir)
    assert run.status == "FAILED"
    assert "input record 2: " in (run.state.error or "")
    assert await _content(db, table) == [(1, "A", "old"), (60, "Y", "old")]
