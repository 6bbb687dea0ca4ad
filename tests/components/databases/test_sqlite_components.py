"""SQLite specifics: the database option is a file path like any other, and readers never create files."""

from __future__ import annotations

from pathlib import Path

import pytest
from db_harness import Db

from etl_core.errors import ConfigError
from etl_core.testing import list_sink, list_source, make_job, run_job

SCHEMA = {"fields": [{"name": "id", "data_type": "integer"}]}


async def test_the_database_path_is_relative_to_the_data_directory(lite: Db) -> None:
    job = make_job(
        list_source("src", [{"id": 1}], schema=SCHEMA),
        {
            "name": "w",
            "comp_type": "write_sqlite",
            "database": "sub/dir/app.db",
            "entity_name": "t",
            "create_table": True,
            "in_port_schemas": {"in": SCHEMA},
        },
    )
    run = await run_job(job, data_dir=lite.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert (lite.data_dir / "sub" / "dir" / "app.db").is_file()


async def test_a_database_outside_the_allowed_roots_is_refused_at_validation(lite: Db, tmp_path: Path) -> None:
    outside = tmp_path.parent / "elsewhere.db"
    job = make_job(
        {"name": "r", "comp_type": "read_sqlite", "database": str(outside), "entity_name": "t"}, list_sink("s")
    )
    with pytest.raises(ConfigError) as caught:
        await run_job(job, data_dir=lite.data_dir)
    assert caught.value.issues[0].path == "components[0].database"
    assert "outside the allowed roots" in caught.value.issues[0].message


async def test_reading_a_missing_file_fails_and_creates_nothing(lite: Db) -> None:
    job = make_job({"name": "r", "comp_type": "read_sqlite", "database": "nope.db", "entity_name": "t"}, list_sink("s"))
    run = await run_job(job, data_dir=lite.data_dir)
    assert run.status == "FAILED"
    assert "unable to open database file" in (run.state.error or "")
    assert not (lite.data_dir / "nope.db").exists()


async def test_upsert_uses_a_unique_index_named_by_key_columns(lite: Db) -> None:
    await lite.execute(
        "CREATE TABLE people (email TEXT, name TEXT)",
        "CREATE UNIQUE INDEX people_email ON people (email)",
        "INSERT INTO people VALUES ('a@x', 'Ann')",
    )
    schema = {"fields": [{"name": "email", "data_type": "string"}, {"name": "name", "data_type": "string"}]}
    job = make_job(
        list_source("src", [{"email": "a@x", "name": "Anna"}, {"email": "b@x", "name": "Bo"}], schema=schema),
        {
            **lite.writer(entity_name="people", operation="upsert", key_columns=["email"]),
            "in_port_schemas": {"in": schema},
        },
    )
    run = await run_job(job, data_dir=lite.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert await lite.rows("SELECT email, name FROM people ORDER BY email") == [("a@x", "Anna"), ("b@x", "Bo")]


async def test_a_reader_sees_the_old_rows_while_a_writer_waits_for_its_commit_point(lite: Db) -> None:
    await lite.execute("CREATE TABLE t (id INTEGER)", "INSERT INTO t VALUES (1)")
    source = list_source("src", [{"id": 2}], schema=SCHEMA)
    source["routes"] = {"out": ["write"]}
    job = make_job(
        source,
        {**lite.writer(entity_name="t"), "in_port_schemas": {"in": SCHEMA}},
        {**lite.reader(name="peek", entity_name="t"), "out_port_schemas": {"out": SCHEMA}, "routes": {"out": ["seen"]}},
        list_sink("seen", schema=SCHEMA),
        chain=False,
    )
    run = await run_job(job, data_dir=lite.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("seen") == [{"id": 1}]  # the commit waits for every component, the reader too
    assert await lite.rows("SELECT id FROM t ORDER BY id") == [(1,), (2,)]
