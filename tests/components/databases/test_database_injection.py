"""Names and values that try SQL injection either fail or are harmless; the victim table always survives."""

from __future__ import annotations

import pytest
from db_harness import Db

from etl_core.errors import ConfigError
from etl_core.testing import list_sink, list_source, make_job, run_job

SCHEMA = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "name", "data_type": "string"}]}


async def _victim(db: Db) -> str:
    victim = db.table("victim")
    await db.execute(
        f"CREATE TABLE {db.quote(victim)} (id INTEGER, name VARCHAR(50))",
        f"INSERT INTO {db.quote(victim)} VALUES (1, 'alice'), (2, 'bob')",
    )
    return victim


async def _intact(db: Db, victim: str) -> None:
    assert await db.rows(f"SELECT id, name FROM {db.quote(victim)} ORDER BY id") == [(1, "alice"), (2, "bob")]


async def test_an_entity_name_carrying_sql_names_a_missing_table(db: Db) -> None:
    victim = await _victim(db)
    for evil in (
        f'x"; DROP TABLE {victim}; --',
        f"x`; DROP TABLE {victim}; -- ",
        f"{victim} WHERE 1=0; DELETE FROM {victim}",
    ):
        job = make_job(
            list_source("src", [{"id": 3, "name": "eve"}], schema=SCHEMA),
            {**db.writer(entity_name=evil), "in_port_schemas": {"in": SCHEMA}},
        )
        run = await run_job(job, data_dir=db.data_dir)
        assert run.status == "FAILED"
        assert "does not exist" in (run.state.error or "")
    await _intact(db, victim)


async def test_a_table_created_from_a_hostile_name_is_just_oddly_named(db: Db) -> None:
    victim = await _victim(db)
    evil = db.table(f"odd'\"`; drop table {victim}; --")
    job = make_job(
        list_source("src", [{"id": 3, "name": "eve"}], schema=SCHEMA),
        {
            **db.writer(entity_name=f'"{evil.replace(chr(34), chr(34) * 2)}"', create_table=True),
            "in_port_schemas": {"in": SCHEMA},
        },
    )
    run = await run_job(job, data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert await db.rows(f"SELECT id, name FROM {db.quote(evil)}") == [(3, "eve")]
    await _intact(db, victim)


async def test_a_param_value_is_bound_and_never_spliced(db: Db) -> None:
    victim = await _victim(db)
    query = f"SELECT id, name FROM {db.quote(victim)} WHERE name = :name ORDER BY id"
    for evil in ("' OR '1'='1", f"x'; DROP TABLE {victim}; --", "\\'; DROP TABLE x; --", "%s", ":name"):
        run = await run_job(
            make_job(db.reader(query=query, params={"name": evil}), list_sink("sink")), data_dir=db.data_dir
        )
        assert run.status == "SUCCESS", run.state.error
        assert run.records("sink") == []
    run = await run_job(
        make_job(db.reader(query=query, params={"name": "bob"}), list_sink("sink")), data_dir=db.data_dir
    )
    assert run.records("sink") == [{"id": 2, "name": "bob"}]
    await _intact(db, victim)


async def test_a_read_query_that_writes_is_refused_before_it_runs(db: Db) -> None:
    victim = await _victim(db)
    for query in (
        f"DELETE FROM {db.quote(victim)}",
        f"SELECT 1; DROP TABLE {db.quote(victim)}",
        f"select 1 ;DROP TABLE {db.quote(victim)}",
        f"UPDATE {db.quote(victim)} SET name = 'mallory'",
        f"/* a comment */ DROP TABLE {db.quote(victim)}",
    ):
        with pytest.raises(ConfigError) as caught:
            await run_job(make_job(db.reader(query=query), list_sink("sink")), data_dir=db.data_dir)
        assert caught.value.issues[0].path == "components[0]"
        assert caught.value.issues[0].component == "read"
    await _intact(db, victim)


async def test_a_read_query_that_hides_a_write_in_a_select_fails_in_the_read_only_transaction(db: Db) -> None:
    victim = await _victim(db)
    query = f"WITH gone AS (DELETE FROM {db.quote(victim)} RETURNING id) SELECT id FROM gone"
    run = await run_job(make_job(db.reader(query=query), list_sink("sink")), data_dir=db.data_dir)
    assert run.status == "FAILED"
    if db.kind == "postgresql":
        assert "read-only transaction" in (run.state.error or "")
    await _intact(db, victim)


async def test_placeholders_inside_literals_and_comments_stay_text(db: Db) -> None:
    victim = await _victim(db)
    query = (
        f"SELECT id, ':name' AS literal FROM {db.quote(victim)} -- :ignored\n"
        "WHERE name = :name /* :also_ignored */ ORDER BY id"
    )
    run = await run_job(
        make_job(db.reader(query=query, params={"name": "alice"}), list_sink("sink")), data_dir=db.data_dir
    )
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1, "literal": ":name"}]
