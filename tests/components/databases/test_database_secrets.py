"""Passwords never appear in errors, metrics or logs, whatever fails."""

from __future__ import annotations

import pytest
from db_harness import Db

from etl_core.testing import list_sink, list_source, make_job, run_job

SECRET = "Tr0ub4dor&3-horse-battery"
SCHEMA = {"fields": [{"name": "id", "data_type": "integer"}]}


def _everything(run: object, captured: str) -> str:
    state = run.state  # type: ignore[attr-defined]
    parts = [str(state.error), captured]
    for attempt in state.attempts:
        parts.append(str(attempt.error))
        parts.extend(str(m.snapshot()) for m in attempt.components.values())
    return "\n".join(parts)


async def test_refused_credentials_fail_without_showing_the_password(
    maria: Db, capfd: pytest.CaptureFixture[str]
) -> None:
    dsn = f"mysql://root:{SECRET}@127.0.0.1:3306/test"
    job = make_job({**maria.reader(query="SELECT 1 AS id"), "dsn": dsn}, list_sink("sink"), num_of_retries=2)
    run = await run_job(job)
    assert run.status == "FAILED"
    assert "Access denied for user 'root'" in (run.state.error or "")
    assert len(run.state.attempts) == 1  # refused credentials are not retried
    text = _everything(run, capfd.readouterr().err)
    assert SECRET not in text
    assert "root@127.0.0.1:3306/test" in text


async def test_an_unreachable_server_is_named_without_its_password(pg: Db, capfd: pytest.CaptureFixture[str]) -> None:
    dsn = f"postgresql://postgres:{SECRET}@127.0.0.1:1/test"
    job = make_job(
        list_source("src", [{"id": 1}], schema=SCHEMA),
        {**pg.writer(entity_name="whatever"), "dsn": dsn, "in_port_schemas": {"in": SCHEMA}},
        num_of_retries=1,
    )
    run = await run_job(job)
    assert run.status == "FAILED"
    assert "postgresql postgres@127.0.0.1:1/test" in (run.state.error or "")
    assert len(run.state.attempts) == 2  # a refused connection is transient: retried
    assert SECRET not in _everything(run, capfd.readouterr().err)


async def test_a_malformed_dsn_is_shown_masked(pg: Db, capfd: pytest.CaptureFixture[str]) -> None:
    dsn = f"postgresql://postgres:{SECRET}@127.0.0.1:notaport/test"
    run = await run_job(make_job({**pg.reader(query="SELECT 1 AS id"), "dsn": dsn}, list_sink("sink")))
    assert run.status == "FAILED"
    assert "postgresql://postgres:***@127.0.0.1:notaport/test" in (run.state.error or "")
    assert SECRET not in _everything(run, capfd.readouterr().err)


async def test_a_dsn_of_the_wrong_kind_is_refused_masked(maria: Db) -> None:
    run = await run_job(
        make_job({**maria.reader(query="SELECT 1 AS id"), "dsn": f"postgresql://u:{SECRET}@h/db"}, list_sink("s"))
    )
    assert run.status == "FAILED"
    assert "has scheme 'postgresql'; expected mysql://, mariadb://" in (run.state.error or "")
    assert SECRET not in (run.state.error or "")


async def test_an_unresolved_reference_in_a_dsn_is_named_when_no_resolver_ran(pg: Db) -> None:
    run = await run_job(
        make_job({**pg.reader(query="SELECT 1 AS id"), "dsn": "postgresql://u:${pw}@h/db"}, list_sink("s"))
    )
    assert run.status == "FAILED"
    assert "still contains a ${...} reference" in (run.state.error or "")
