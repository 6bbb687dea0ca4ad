"""Params the query does not name are ignored: only `:name` placeholders are bound, on every backend."""

from __future__ import annotations

from db_harness import Db

from etl_core.testing import list_sink, make_job, run_job


async def _people(db: Db) -> str:
    table = db.table()
    text = "VARCHAR(20)" if db.kind == "mariadb" else "TEXT"
    await db.execute(
        f"CREATE TABLE {db.quote(table)} (id INTEGER, name {text})",
        f"INSERT INTO {db.quote(table)} VALUES (1, 'ann'), (2, 'bo'), (3, 'cy')",
    )
    return table


async def test_a_query_ignores_params_it_does_not_name(db: Db) -> None:
    table = await _people(db)
    query = f"SELECT id, name FROM {db.quote(table)} WHERE id >= :min_id ORDER BY id"
    params = {"min_id": 2, "spare": "never bound", "also_spare": [1, 2]}
    run = await run_job(make_job(db.reader(query=query, params=params), list_sink("s")), data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("s") == [{"id": 2, "name": "bo"}, {"id": 3, "name": "cy"}]


async def test_a_table_read_ignores_params(db: Db) -> None:
    table = await _people(db)
    reader = db.reader(entity_name=table, params={"spare": 1})
    run = await run_job(make_job(reader, list_sink("s")), data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert sorted(r["id"] for r in run.records("s")) == [1, 2, 3]
