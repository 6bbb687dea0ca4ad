"""The store's contract, run on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import sqlite3

import asyncpg
import pytest

from etl_core.params.context import ContextParameter
from etl_core.store import (
    AttemptRecord,
    ContextRecord,
    CredentialsRecord,
    ExecutionQuery,
    ExecutionRecord,
    JobRecord,
    ScheduleRecord,
    Store,
    StoreError,
    open_store,
)
from etl_core.store.migrations import LATEST_VERSION

CONFIG = (
    '{"name": "j", "components": [{"name": "b", "comp_type": "x", "zeta": 1, "alpha": 2.0}], "strategy_type": "bulk"}'
)


def job(job_id: str = "j1", name: str = "first", created: float = 100.0) -> JobRecord:
    return JobRecord(
        id=job_id,
        name=name,
        config_text=CONFIG,
        strategy_type="bulk",
        num_of_retries=2,
        max_concurrent_runs=1,
        file_logging=True,
        metadata={"owner": "ana", "tags": ["x"]},
        created_at=created,
        updated_at=created,
    )


def execution(
    eid: str, job_id: str = "j1", status: str = "SUCCESS", started: float = 10.0, **kw: object
) -> ExecutionRecord:
    base: dict[str, object] = {
        "id": eid,
        "job_id": job_id,
        "job_name": "first",
        "environment": "DEV",
        "status": status,
        "max_attempts": 1,
        "started_at": started,
        "finished_at": started + 5 if status not in ("RUNNING", "PENDING") else None,
    }
    base.update(kw)
    return ExecutionRecord(**base)  # type: ignore[arg-type]


async def test_store_migrates_to_the_latest_version_and_reopening_changes_nothing(
    store: Store, store_url: tuple[str, str | None]
) -> None:
    assert await store.schema_version() == LATEST_VERSION
    await store.create_job(job())
    again = open_store(*store_url[:1], schema=store_url[1])
    await again.open()
    try:
        assert await again.schema_version() == LATEST_VERSION
        assert [j.id for j in await again.list_jobs()] == ["j1"]
    finally:
        await again.close()


async def test_job_round_trips_with_its_config_text_unchanged(store: Store) -> None:
    await store.create_job(job())
    got = await store.get_job("j1")
    assert got is not None
    assert got.config_text == CONFIG
    assert list(json.loads(got.config_text)["components"][0]) == ["name", "comp_type", "zeta", "alpha"]
    assert (got.name, got.strategy_type, got.num_of_retries, got.file_logging) == ("first", "bulk", 2, True)
    assert got.metadata == {"owner": "ana", "tags": ["x"]}
    assert (got.created_at, got.updated_at) == (100.0, 100.0)


async def test_unknown_job_is_none_and_update_or_delete_report_false(store: Store) -> None:
    assert await store.get_job("nope") is None
    assert await store.update_job(job("nope")) is False
    assert await store.delete_job("nope") is False


async def test_jobs_list_in_creation_order_and_update_replaces_config(store: Store) -> None:
    await store.create_job(job("b", "second", created=200.0))
    await store.create_job(job("a", "first", created=100.0))
    assert [j.id for j in await store.list_jobs()] == ["a", "b"]
    changed = job("a", "renamed", created=100.0)
    changed.config_text = '{"name": "renamed"}'
    changed.updated_at = 300.0
    assert await store.update_job(changed) is True
    got = await store.get_job("a")
    assert got is not None
    assert (got.name, got.config_text, got.created_at, got.updated_at) == (
        "renamed",
        '{"name": "renamed"}',
        100.0,
        300.0,
    )
    assert await store.delete_job("a") is True
    assert [j.id for j in await store.list_jobs()] == ["b"]


async def test_duplicate_job_id_is_refused(store: Store) -> None:
    await store.create_job(job())
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await store.create_job(job())


async def test_execution_round_trips_and_updates(store: Store) -> None:
    await store.create_execution(execution("e1", status="RUNNING"))
    e = await store.get_execution("e1")
    assert e is not None
    assert (e.status, e.finished_at, e.trigger, e.totals) == ("RUNNING", None, "api", {})
    e.status = "SUCCESS"
    e.finished_at = 20.5
    e.totals = {"rows_read": 3, "rows_written": 3}
    assert await store.update_execution(e) is True
    got = await store.get_execution("e1")
    assert got is not None
    assert (got.status, got.finished_at, got.totals) == ("SUCCESS", 20.5, {"rows_read": 3, "rows_written": 3})
    assert await store.get_execution("e2") is None


async def test_execution_listing_filters_sorts_and_pages(store: Store) -> None:
    await store.create_execution(execution("e1", started=10.0))
    await store.create_execution(execution("e2", status="FAILED", started=20.0, error="boom"))
    await store.create_execution(execution("e3", job_id="j2", started=30.0, environment="PROD"))
    await store.create_execution(execution("e4", status="RUNNING", started=40.0))

    rows, total = await store.list_executions(ExecutionQuery())
    assert ([r.id for r in rows], total) == (["e4", "e3", "e2", "e1"], 4)
    rows, total = await store.list_executions(ExecutionQuery(job_id="j1", order="asc"))
    assert ([r.id for r in rows], total) == (["e1", "e2", "e4"], 3)
    rows, _ = await store.list_executions(ExecutionQuery(status="FAILED"))
    assert [r.error for r in rows] == ["boom"]
    rows, _ = await store.list_executions(ExecutionQuery(environment="PROD"))
    assert [r.id for r in rows] == ["e3"]
    rows, total = await store.list_executions(ExecutionQuery(started_after=15.0, started_before=35.0))
    assert ([r.id for r in rows], total) == (["e3", "e2"], 2)
    rows, total = await store.list_executions(ExecutionQuery(limit=2, offset=1))
    assert ([r.id for r in rows], total) == (["e3", "e2"], 4)
    # an unfinished execution has no finished_at: it sorts last both ways
    rows, _ = await store.list_executions(ExecutionQuery(sort_by="finished_at", order="desc"))
    assert [r.id for r in rows] == ["e3", "e2", "e1", "e4"]
    rows, _ = await store.list_executions(ExecutionQuery(sort_by="finished_at", order="asc"))
    assert [r.id for r in rows] == ["e1", "e2", "e3", "e4"]
    rows, _ = await store.list_executions(ExecutionQuery(sort_by="status", order="asc"))
    assert [r.status for r in rows] == ["FAILED", "RUNNING", "SUCCESS", "SUCCESS"]


async def test_attempts_keep_component_metrics_in_order_and_can_be_replaced(store: Store) -> None:
    await store.create_execution(execution("e1", status="RUNNING"))
    first = AttemptRecord("e1", 1, "RUNNING", started_at=1.0)
    await store.save_attempt(first)
    first.status = "FAILED"
    first.error = "component 'sink': boom"
    first.failed_component = "sink"
    first.cancelled_components = ["src"]
    first.finished_at = 2.0
    first.components = {
        "src": {"component": "src", "comp_type": "test_source", "status": "CANCELLED", "records_out": 5},
        "sink": {"component": "sink", "comp_type": "test_sink", "status": "FAILED", "records_in": 5},
    }
    await store.save_attempt(first)
    await store.save_attempt(
        AttemptRecord(
            "e1", 2, "SUCCESS", 3.0, 4.0, components={"src": {"comp_type": "test_source", "status": "SUCCESS"}}
        )
    )
    attempts = await store.list_attempts("e1")
    assert [(a.number, a.status) for a in attempts] == [(1, "FAILED"), (2, "SUCCESS")]
    a1 = attempts[0]
    assert (a1.error, a1.failed_component, a1.cancelled_components) == ("component 'sink': boom", "sink", ["src"])
    assert list(a1.components) == ["src", "sink"]
    assert a1.components["sink"]["records_in"] == 5
    assert attempts[1].components == {"src": {"comp_type": "test_source", "status": "SUCCESS"}}
    assert await store.list_attempts("other") == []


async def test_mark_interrupted_fails_unfinished_executions_and_their_attempts(store: Store) -> None:
    await store.create_execution(execution("done"))
    await store.create_execution(execution("running", status="RUNNING"))
    await store.create_execution(execution("pending", status="PENDING"))
    await store.save_attempt(AttemptRecord("running", 1, "RUNNING", started_at=1.0))
    assert sorted(await store.mark_interrupted("interrupted")) == ["pending", "running"]
    running = await store.get_execution("running")
    assert running is not None
    assert (running.status, running.error) == ("FAILED", "interrupted")
    assert running.finished_at is not None
    done = await store.get_execution("done")
    assert done is not None
    assert done.status == "SUCCESS"
    assert done.error is None
    [attempt] = await store.list_attempts("running")
    assert (attempt.status, attempt.error) == ("FAILED", "interrupted")
    assert await store.mark_interrupted("interrupted") == []


async def test_mark_interrupted_ends_the_components_of_an_interrupted_attempt_too(store: Store) -> None:
    await store.create_execution(execution("running", status="RUNNING"))
    await store.create_execution(execution("done"))
    components = {
        "src": {"component": "src", "comp_type": "read_csv", "status": "RUNNING", "records_out": 7},
        "sink": {"component": "sink", "comp_type": "write_csv", "status": "PENDING"},
    }
    await store.save_attempt(AttemptRecord("running", 1, "RUNNING", started_at=1.0, components=dict(components)))
    finished = {"src": {"component": "src", "comp_type": "read_csv", "status": "PENDING"}}
    await store.save_attempt(AttemptRecord("done", 1, "FAILED", 1.0, 2.0, components=finished))

    await store.mark_interrupted("interrupted")

    [attempt] = await store.list_attempts("running")
    assert {n: (m["status"], m.get("error")) for n, m in attempt.components.items()} == {
        "src": ("FAILED", "interrupted"),
        "sink": ("FAILED", "interrupted"),
    }
    assert attempt.components["src"]["records_out"] == 7
    # a finished execution's components keep what they were (a component that never started stays PENDING)
    [done] = await store.list_attempts("done")
    assert done.components["src"]["status"] == "PENDING"


async def test_schedules_crud_and_filter_by_job(store: Store) -> None:
    s = ScheduleRecord("s1", "nightly", "j1", "PROD", "cron", {"hour": 2}, False, 1.0, 1.0)
    await store.create_schedule(s)
    await store.create_schedule(ScheduleRecord("s2", "often", "j2", "DEV", "interval", {"minutes": 5}, True, 2.0, 2.0))
    got = await store.get_schedule("s1")
    assert got == s
    assert [x.id for x in await store.list_schedules()] == ["s1", "s2"]
    assert [x.id for x in await store.list_schedules(job_id="j2")] == ["s2"]
    s.paused = True
    s.trigger_args = {"hour": 3, "minute": 30}
    s.updated_at = 5.0
    assert await store.update_schedule(s) is True
    assert await store.get_schedule("s1") == s
    assert await store.delete_schedule("s1") is True
    assert await store.get_schedule("s1") is None
    assert await store.delete_schedule("s1") is False
    assert await store.update_schedule(s) is False


async def test_context_never_stores_a_secure_value(store: Store) -> None:
    ctx = ContextRecord(
        "c1",
        "warehouse",
        "DEV",
        parameters={
            "schema": ContextParameter("schema", "public"),
            "token": ContextParameter("token", "s3cr3t-value", "string", is_secure=True),
        },
        created_at=1.0,
    )
    await store.create_context(ctx)
    got = await store.get_context("c1")
    assert got is not None
    assert got.parameters["schema"].value == "public"
    assert got.parameters["token"] == ContextParameter("token", None, "string", True)
    assert (got.kind, got.environment, got.credentials_ids) == ("context", "DEV", {})


async def test_credentials_and_mapping_contexts(store: Store) -> None:
    await store.create_credentials(CredentialsRecord("k1", "dev db", "etl", "localhost", 5432, "dev", 1.0))
    await store.create_credentials(CredentialsRecord("k2", "prod db", "etl", "db.prod", None, "prod", 2.0))
    mapping = ContextRecord("m1", "db", "DEV", "credentials_mapping", credentials_ids={"DEV": "k1", "PROD": "k2"})
    await store.create_context(mapping)
    got = await store.get_context("m1")
    assert got is not None
    assert (got.kind, got.credentials_ids) == ("credentials_mapping", {"DEV": "k1", "PROD": "k2"})
    creds = await store.get_credentials("k2")
    assert creds == CredentialsRecord("k2", "prod db", "etl", "db.prod", None, "prod", 2.0)
    assert [c.id for c in await store.list_credentials()] == ["k1", "k2"]
    assert [c.id for c in await store.list_contexts()] == ["m1"]
    assert await store.credentials_in_use("k1") == ["m1"]
    assert await store.delete_context("m1") is True
    assert await store.credentials_in_use("k1") == []
    assert await store.delete_credentials("k1") is True
    assert await store.get_credentials("k1") is None
    assert await store.delete_context("m1") is False


async def test_a_database_from_a_newer_etl_core_is_refused(store_url: tuple[str, str | None]) -> None:
    url, schema = store_url
    s = open_store(url, schema=schema)
    await s.open()
    await s._migrate()  # type: ignore[attr-defined]
    async with s._tx() as c:  # type: ignore[attr-defined]
        await c.execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)", 999, "future", 0.0
        )
    await s.close()
    with pytest.raises(StoreError, match="version 999"):
        await open_store(url, schema=schema).open()


def test_store_urls_choose_the_backend_and_the_postgres_schema() -> None:
    from etl_core.errors import SettingsError
    from etl_core.store.postgres import PostgresStore
    from etl_core.store.sqlite import SqliteStore

    sqlite = open_store("sqlite:///./data/etl.db")
    assert isinstance(sqlite, SqliteStore)
    assert sqlite.path == "./data/etl.db"
    assert open_store("sqlite:////var/lib/etl.db").path == "/var/lib/etl.db"  # type: ignore[attr-defined]
    pg = open_store("postgresql://u@h:5432/db?schema=etl&sslmode=disable")
    assert isinstance(pg, PostgresStore)
    assert (pg.dsn, pg.schema) == ("postgresql://u@h:5432/db?sslmode=disable", "etl")
    with pytest.raises(SettingsError, match="unsupported database 'mysql'"):
        open_store("mysql://h/db")
    with pytest.raises(StoreError, match="bad PostgreSQL schema name"):
        open_store("postgresql://h/db?schema=bad;name")
