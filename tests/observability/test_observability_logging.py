"""Structured logs: one JSON event per line, run context bound by context variables, secrets masked, files."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import structlog

from etl_core.config.loader import parse_job
from etl_core.graph.planner import PlanOptions, plan_job
from etl_core.observability import logging as etl_logging
from etl_core.observability.logging import configure_logging, execution_log_path
from etl_core.runtime.executor import JobExecutor, RunOptions
from etl_core.testing import fields, list_sink, list_source, make_job, run_job

SCHEMA = fields(n="integer")
RUN_KEYS = {"job_id", "job_name", "execution_id"}


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Logging configured as JSON into a buffer; the default set-up is restored afterwards."""
    buffer = io.StringIO()
    configure_logging("json", "INFO", buffer)
    yield buffer
    configure_logging()


def events(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def numbers(count: int) -> list[dict[str, int]]:
    return [{"n": i} for i in range(count)]


async def run_plan(job: dict[str, Any], data_dir: Path, **kw: Any) -> Any:
    plan = plan_job(parse_job(job), PlanOptions(data_dir=data_dir))
    return await JobExecutor(plan, RunOptions(data_dir=data_dir, **kw.pop("options", {})), **kw).run()


async def test_every_event_of_a_run_carries_the_run_context(captured: io.StringIO, data_dir: Path) -> None:
    job = make_job(list_source("src", numbers(5), schema=SCHEMA), list_sink("sink", schema=SCHEMA), name="ctx job")

    state = await run_plan(job, data_dir, job_id="job-42", execution_id="exec-1")

    logged = events(captured)
    assert [e["event"] for e in logged if "component" not in e] == [
        "execution_started",
        "attempt_started",
        "attempt_finished",
        "execution_finished",
    ]
    for e in logged:
        assert {k: e[k] for k in RUN_KEYS} == {"job_id": "job-42", "job_name": "ctx job", "execution_id": "exec-1"}
        assert e["level"] in ("info", "warning", "error")
        assert e["timestamp"].endswith("Z")
    assert all(e["attempt"] == 1 for e in logged)
    assert state.status == "SUCCESS"


async def test_a_job_file_carrying_its_stored_id_is_logged_under_it(captured: io.StringIO, data_dir: Path) -> None:
    job = make_job(list_source("src", numbers(2), schema=SCHEMA), list_sink("sink", schema=SCHEMA), id="job-7")

    await run_plan(job, data_dir)

    assert {e["job_id"] for e in events(captured)} == {"job-7"}


async def test_components_cancelled_by_a_failure_say_so_with_their_counters(
    captured: io.StringIO, data_dir: Path
) -> None:
    job = make_job(
        list_source("src", numbers(10), schema=SCHEMA, batch_size=1, fail_after=3),
        list_sink("sink", schema=SCHEMA),
    )

    await run_plan(job, data_dir)

    logged = events(captured)
    cancelled = [e for e in logged if e["event"] == "component_cancelled"]
    assert [(e["component"], e["status"], e["attempt"]) for e in cancelled] == [("sink", "CANCELLED", 1)]
    assert 0 <= cancelled[0]["records_in"] <= 3  # what reached it before the source failed


async def test_component_events_name_the_component_and_its_type_with_counters(
    captured: io.StringIO, data_dir: Path
) -> None:
    job = make_job(list_source("src", numbers(7), schema=SCHEMA, batch_size=3), list_sink("sink", schema=SCHEMA))

    await run_plan(job, data_dir)

    finished = {e["component"]: e for e in events(captured) if e["event"] == "component_finished"}
    assert finished["src"]["comp_type"] == "test_source"
    assert finished["sink"]["comp_type"] == "test_sink"
    assert (finished["src"]["records_out"], finished["src"]["batches_out"]) == (7, 3)
    assert (finished["sink"]["records_in"], finished["sink"]["batches_in"]) == (7, 3)
    assert finished["sink"]["status"] == "SUCCESS"
    assert finished["sink"]["attempt"] == 1


async def test_events_are_per_lifecycle_step_never_per_record(captured: io.StringIO, data_dir: Path) -> None:
    counts = []
    for size in (3, 3000):
        captured.seek(0)
        captured.truncate()
        job = make_job(list_source("src", numbers(size), schema=SCHEMA, batch_size=10), list_sink("s", schema=SCHEMA))
        await run_plan(job, data_dir)
        counts.append(len(events(captured)))

    assert counts[0] == counts[1] == 6


async def test_a_failed_attempt_logs_which_component_failed_and_what_was_cancelled(
    captured: io.StringIO, data_dir: Path
) -> None:
    job = make_job(
        list_source("src", numbers(10), schema=SCHEMA, batch_size=1, fail_after=2),
        list_sink("sink", schema=SCHEMA),
        num_of_retries=1,
    )

    await run_plan(job, data_dir, options={"retry_backoff_s": 0, "retry_backoff_max_s": 0})

    logged = events(captured)
    failed = [e for e in logged if e["event"] == "component_failed"]
    assert [(e["component"], e["comp_type"], e["attempt"], e["level"]) for e in failed] == [
        ("src", "test_source", 1, "error"),
        ("src", "test_source", 2, "error"),
    ]
    attempt_failed = [e for e in logged if e["event"] == "attempt_failed"]
    assert [e["attempt"] for e in attempt_failed] == [1, 2]
    assert attempt_failed[0]["failed_component"] == "src"
    assert attempt_failed[0]["error"] == "component 'src' (read): failing on purpose after 2 records"
    retry = [e for e in logged if e["event"] == "attempt_retry_scheduled"]
    assert [(e["attempt"], e["level"]) for e in retry] == [(1, "warning")]
    assert logged[-1]["event"] == "execution_finished"
    assert logged[-1]["status"] == "FAILED"


async def test_concurrent_runs_keep_their_own_context(captured: io.StringIO, data_dir: Path) -> None:
    def job(name: str) -> dict[str, Any]:
        return make_job(
            list_source("src", numbers(6), schema=SCHEMA, batch_size=1, delay_s=0.001),
            list_sink("sink", schema=SCHEMA),
            name=name,
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: run_plan(job("first"), data_dir, execution_id="e-first"))
        tg.start_soon(lambda: run_plan(job("second"), data_dir, execution_id="e-second"))

    logged = events(captured)
    assert {(e["execution_id"], e["job_name"]) for e in logged} == {("e-first", "first"), ("e-second", "second")}
    assert len(logged) == 12


async def test_the_run_context_is_unbound_when_the_run_ends(captured: io.StringIO, data_dir: Path) -> None:
    job = make_job(list_source("src", numbers(1), schema=SCHEMA), list_sink("sink", schema=SCHEMA))

    await run_plan(job, data_dir)
    structlog.get_logger("test").info("after the run")

    assert structlog.contextvars.get_contextvars() == {}
    assert RUN_KEYS.isdisjoint(events(captured)[-1])


def test_values_of_secret_keys_are_masked_at_any_depth(captured: io.StringIO) -> None:
    structlog.get_logger("test").info(
        "connecting",
        password="hunter2",
        client_secret="s3cr3t-value",
        access_token="eyJhbGciOi",
        api_key="k-123",
        options={"db_password": "pw", "host": "db.local", "nested": [{"signing_key": "x" * 32}]},
        user="ada",
    )

    (event,) = events(captured)
    assert event["password"] == event["client_secret"] == event["access_token"] == event["api_key"] == "***"
    assert event["options"] == {"db_password": "***", "host": "db.local", "nested": [{"signing_key": "***"}]}
    assert event["user"] == "ada"
    assert "hunter2" not in captured.getvalue()


def test_passwords_inside_urls_and_dsns_are_masked(captured: io.StringIO) -> None:
    structlog.get_logger("test").error(
        "cannot connect to postgresql://etl:Sup3rS3cret@db:5432/prod",
        dsn="mysql://root:toor@127.0.0.1:3306/test",
        error="connection refused (host=db password=abc123 user=etl)",
    )

    text = captured.getvalue()
    (event,) = events(captured)
    assert event["event"] == "cannot connect to postgresql://etl:***@db:5432/prod"
    assert event["dsn"] == "mysql://root:***@127.0.0.1:3306/test"
    assert "abc123" not in text
    assert "Sup3rS3cret" not in text
    assert "toor" not in text


def test_an_exception_text_is_masked_too(captured: io.StringIO) -> None:
    try:
        raise ConnectionError("postgresql://etl:Sup3rS3cret@db/prod is down")
    except ConnectionError:
        structlog.get_logger("test").exception("failed")

    assert "Sup3rS3cret" not in captured.getvalue()
    assert "postgresql://etl:***@db/prod is down" in events(captured)[0]["exception"]


def test_counters_whose_names_merely_contain_a_secret_word_stay_readable(captured: io.StringIO) -> None:
    structlog.get_logger("test").info("done", passed=3, tokens_issued=2, sent={"pass": 5, "fail": 1})

    (event,) = events(captured)
    assert (event["passed"], event["tokens_issued"], event["sent"]) == (3, 2, {"pass": 5, "fail": 1})


async def test_file_logging_writes_the_execution_events_to_their_own_file(tmp_path: Path, data_dir: Path) -> None:
    buffer = io.StringIO()
    configure_logging("console", "INFO", buffer)
    try:
        job = make_job(
            list_source("src", numbers(3), schema=SCHEMA),
            list_sink("sink", schema=SCHEMA),
            name="nightly/orders: EU",
            file_logging=True,
        )
        run = await run_job(job, data_dir=data_dir, log_dir=tmp_path / "logs")
    finally:
        configure_logging()

    execution_id = run.state.execution_id
    path = tmp_path / "logs" / "nightly_orders_EU" / f"{execution_id}.jsonl"
    assert execution_log_path(tmp_path / "logs", "nightly/orders: EU", execution_id) == path
    logged = [json.loads(line) for line in path.read_text().splitlines()]
    assert logged[0]["event"] == "execution_started"
    assert logged[-1]["event"] == "execution_finished"
    assert len(logged) == 6
    assert all(e["execution_id"] == execution_id and e["job_name"] == "nightly/orders: EU" for e in logged)
    # the console kept its own renderer: the file is JSON whatever the console shows
    assert not buffer.getvalue().lstrip().startswith("{")


async def test_file_logging_holds_only_its_own_execution(captured: io.StringIO, tmp_path: Path, data_dir: Path) -> None:
    logs = tmp_path / "logs"

    def job(name: str, file_logging: bool) -> dict[str, Any]:
        return make_job(
            list_source("src", numbers(4), schema=SCHEMA, batch_size=1, delay_s=0.001),
            list_sink("sink", schema=SCHEMA),
            name=name,
            file_logging=file_logging,
        )

    runs: dict[str, Any] = {}

    async def go(name: str, file_logging: bool) -> None:
        runs[name] = await run_job(job(name, file_logging), data_dir=data_dir, log_dir=logs)

    async with anyio.create_task_group() as tg:
        tg.start_soon(go, "logged", True)
        tg.start_soon(go, "quiet", False)

    (path,) = (logs / "logged").iterdir()
    ids = {json.loads(line)["execution_id"] for line in path.read_text().splitlines()}
    assert ids == {runs["logged"].state.execution_id}
    assert not (logs / "quiet").exists()
    # the file is closed with the execution: later events with its id do not reach it
    size = path.stat().st_size
    structlog.get_logger("test").info("late", execution_id=runs["logged"].state.execution_id)
    assert path.stat().st_size == size


async def test_without_file_logging_no_file_is_written(captured: io.StringIO, tmp_path: Path, data_dir: Path) -> None:
    job = make_job(list_source("src", numbers(1), schema=SCHEMA), list_sink("sink", schema=SCHEMA))

    await run_job(job, data_dir=data_dir, log_dir=tmp_path / "logs")

    assert not (tmp_path / "logs").exists()


def test_the_level_filters_events(captured: io.StringIO) -> None:
    configure_logging("json", "WARNING", captured)
    log = structlog.get_logger("test")
    log.info("hidden")
    log.warning("shown")

    assert [e["event"] for e in events(captured)] == ["shown"]


def test_a_higher_console_level_hides_info_from_the_console_only(tmp_path: Path) -> None:
    buffer = io.StringIO()
    configure_logging("json", "INFO", buffer, console_level="WARNING")
    try:
        from etl_core.observability.logging import close_execution_log, open_execution_log

        path = open_execution_log(tmp_path, "job", "exec-9")
        with structlog.contextvars.bound_contextvars(execution_id="exec-9"):
            structlog.get_logger("test").info("progress")
            structlog.get_logger("test").warning("careful")
        close_execution_log("exec-9")
    finally:
        configure_logging()

    assert [e["event"] for e in events(buffer)] == ["careful"]
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["progress", "careful"]


def test_auto_format_is_json_when_not_on_a_terminal() -> None:
    buffer = io.StringIO()
    configure_logging("auto", "INFO", buffer)
    try:
        structlog.get_logger("test").info("hello", n=1)
    finally:
        configure_logging()

    assert json.loads(buffer.getvalue())["n"] == 1


def test_console_format_renders_readable_lines() -> None:
    buffer = io.StringIO()
    configure_logging("console", "INFO", buffer)
    try:
        structlog.get_logger("test").info("hello", n=1)
    finally:
        configure_logging()

    line = buffer.getvalue()
    assert "hello" in line
    assert "n=1" in line
    assert not line.startswith("{")


def test_library_use_follows_etl_log_format_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    monkeypatch.setenv("ETL_LOG_FORMAT", "console")
    monkeypatch.setattr(etl_logging, "_configured", {})
    try:
        etl_logging.ensure_configured()
        structlog.get_logger("test").info("hello", n=1)
    finally:
        configure_logging()

    line = buffer.getvalue()
    assert "hello" in line
    assert not line.startswith("{")


def test_default_logging_writes_to_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("json", "INFO")
    first.close()  # a harness that captured output at configuration time has gone away
    monkeypatch.setattr(sys, "stderr", second)
    try:
        structlog.get_logger("test").info("still delivered")
    finally:
        configure_logging("json", "INFO", io.StringIO())
        configure_logging()

    assert json.loads(second.getvalue())["event"] == "still delivered"


async def test_an_unwritable_log_directory_is_reported_and_the_job_still_runs(
    captured: io.StringIO, tmp_path: Path, data_dir: Path
) -> None:
    blocked = tmp_path / "logs"
    blocked.write_text("a file where the log directory should be")
    job = make_job(list_source("src", numbers(2), schema=SCHEMA), list_sink("sink", schema=SCHEMA), file_logging=True)

    run = await run_job(job, data_dir=data_dir, log_dir=blocked)

    assert run.status == "SUCCESS"
    assert run.records("sink") == numbers(2)
    (warning,) = [e for e in events(captured) if e["event"] == "execution_log_unavailable"]
    assert warning["level"] == "warning"
    assert warning["execution_id"] == run.state.execution_id
    assert warning["log_dir"] == str(blocked)
    assert warning["error"].startswith("NotADirectoryError")
