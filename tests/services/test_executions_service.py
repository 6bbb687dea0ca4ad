"""The executions service as a scheduler would use it: start, refuse a second run, record history, drain."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from etl_core.errors import ConfigError, ConflictError, NotFoundError
from etl_core.services.executions import INTERRUPTED, ExecutionService
from etl_core.services.metrics import ServerMetrics
from etl_core.settings import Settings
from etl_core.store import ExecutionRecord, JobRecord, Store, open_store
from etl_core.testing import fields, list_sink, list_source, make_job


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        log_dir=tmp_path / "logs",
        component_mode="test",
        retry_backoff_seconds=0.0,
        retry_backoff_max_seconds=0.0,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'etl.db'}")
    await s.open()
    yield s
    await s.close()


async def add_job(store: Store, job_id: str = "j1", **job: Any) -> str:
    delay = job.pop("delay_s", 0.0)
    doc = make_job(
        list_source(
            "src",
            [{"n": i} for i in range(job.pop("records", 3))],
            schema=fields(n="integer"),
            delay_s=delay,
            batch_size=1,
        ),
        list_sink("sink", schema=fields(n="integer"), **job.pop("sink", {})),
        **job,
    )
    await store.create_job(JobRecord(job_id, doc["name"], json.dumps(doc)))
    return job_id


async def wait_done(service: ExecutionService, execution_id: str) -> ExecutionRecord:
    async for event, record, _ in service.events(execution_id, interval=0.01):
        if event == "execution_finished":
            return record
    raise AssertionError("the event stream ended without execution_finished")


async def test_a_scheduled_start_is_recorded_with_its_trigger_and_history(store: Store, settings: Settings) -> None:
    metrics = ServerMetrics()
    service = ExecutionService(store, settings, metrics=metrics)
    await add_job(store)
    record = await service.start("j1", "prod", trigger="schedule:nightly")
    assert (record.status, record.environment, record.trigger) == ("RUNNING", "PROD", "schedule:nightly")
    final = await wait_done(service, record.id)
    assert final.status == "SUCCESS"
    stored = await store.get_execution(record.id)
    assert stored is not None
    assert (stored.status, stored.trigger, stored.totals["rows_written"]) == ("SUCCESS", "schedule:nightly", 3)
    [attempt] = await store.list_attempts(record.id)
    assert attempt.components["sink"]["records_in"] == 3
    assert b'etl_executions_total{status="SUCCESS"} 1.0' in metrics.render()


async def test_a_second_start_is_a_conflict_the_scheduler_can_skip(store: Store, settings: Settings) -> None:
    service = ExecutionService(store, settings)
    await add_job(store, delay_s=0.02, records=200)
    first = await service.start("j1")
    with pytest.raises(ConflictError) as info:
        await service.start("j1", trigger="schedule:often")
    assert info.value.code == "JOB_ALREADY_RUNNING"
    assert info.value.context["running_execution_ids"] == [first.id]
    assert service.running("j1") == [first.id]
    cancelled = await service.cancel(first.id)
    assert cancelled.status == "CANCELLED"
    assert service.running() == []


async def test_unknown_job_and_unplannable_config_are_refused(store: Store, settings: Settings) -> None:
    service = ExecutionService(store, settings)
    with pytest.raises(NotFoundError):
        await service.start("missing")
    await store.create_job(
        JobRecord("bad", "bad", json.dumps({"name": "bad", "components": [{"name": "a", "comp_type": "nope"}]}))
    )
    with pytest.raises(ConfigError):
        await service.start("bad")


async def test_recover_marks_unfinished_runs_failed(store: Store, settings: Settings) -> None:
    await store.create_execution(ExecutionRecord("old", "j1", "numbers", "DEV", "RUNNING", 1, started_at=1.0))
    service = ExecutionService(store, settings)
    assert await service.recover() == ["old"]
    record = await store.get_execution("old")
    assert record is not None
    assert (record.status, record.error) == ("FAILED", INTERRUPTED)


async def test_a_failing_store_write_does_not_fail_the_job(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = ExecutionService(store, settings)
    await add_job(store)

    async def broken(attempt: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "save_attempt", broken)
    record = await service.start("j1")
    assert (await wait_done(service, record.id)).status == "SUCCESS"
    stored = await store.get_execution(record.id)
    assert stored is not None
    assert stored.status == "SUCCESS"


async def test_shutdown_refuses_new_starts_and_cancels_after_the_grace(store: Store, settings: Settings) -> None:
    service = ExecutionService(store, settings)
    await add_job(store, delay_s=0.05, records=500)
    record = await service.start("j1")
    await asyncio.sleep(0.05)
    await service.shutdown(0.05)
    stored = await store.get_execution(record.id)
    assert stored is not None
    assert (stored.status, stored.error) == ("CANCELLED", "cancelled: the server shut down")
    with pytest.raises(ConflictError) as info:
        await service.start("j1")
    assert info.value.code == "SERVER_STOPPING"


async def test_events_of_a_run_end_with_execution_finished(store: Store, settings: Settings) -> None:
    service = ExecutionService(store, settings)
    await add_job(store, delay_s=0.01, records=10)
    record = await service.start("j1")
    names = [event async for event, _, _ in service.events(record.id, interval=0.005)]
    assert names[0] == "snapshot"
    assert names[-1] == "execution_finished"
    assert names.count("execution_finished") == 1
    assert {"attempt_started", "attempt_finished", "metrics"} <= set(names)


async def test_an_executor_crash_is_recorded_as_failed(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl_core.runtime.executor import JobExecutor

    async def crash(self: JobExecutor) -> None:
        raise RuntimeError("executor bug")

    monkeypatch.setattr(JobExecutor, "run", crash)
    service = ExecutionService(store, settings)
    await add_job(store)
    record = await service.start("j1")
    final = await wait_done(service, record.id)
    assert (final.status, final.error) == ("FAILED", "RuntimeError: executor bug")
    stored = await store.get_execution(record.id)
    assert stored is not None
    assert (stored.status, stored.error) == ("FAILED", "RuntimeError: executor bug")
    assert service.running() == []
