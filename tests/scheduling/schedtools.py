"""Helpers of the scheduling tests: settings, small jobs, waiting for a condition, driving APScheduler directly."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from etl_core.scheduling import SchedulerService
from etl_core.settings import Settings
from etl_core.store import ExecutionQuery, ExecutionRecord, JobRecord, ScheduleRecord, Store

SLOW = {"source": {"delay_s": 0.02, "batch_size": 1}, "records": 500}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "log_dir": tmp_path / "logs",
        "db_url": f"sqlite:///{tmp_path / 'etl.db'}",
        "component_mode": "test",
        "retry_backoff_seconds": 0.0,
        "retry_backoff_max_seconds": 0.0,
        "shutdown_grace_seconds": 0.2,
        "log_format": "json",
    }
    values.update(overrides)
    (tmp_path / "data").mkdir(exist_ok=True)
    return Settings(_env_file=None, **values)


def job_doc(name: str = "numbers", records: int = 3, **job: Any) -> dict[str, Any]:
    """test_source -> test_sink; `source={...}` slows or fails the source."""
    fields = [{"name": "n", "data_type": "integer", "nullable": True}]
    src: dict[str, Any] = {
        "name": "src",
        "comp_type": "test_source",
        "records": [{"n": i} for i in range(records)],
        "out_port_schemas": {"out": {"fields": fields}},
        "routes": {"out": [{"to": "sink"}]},
    }
    src.update(job.pop("source", {}))
    sink = {"name": "sink", "comp_type": "test_sink", "in_port_schemas": {"in": {"fields": fields}}}
    return {"name": name, "strategy_type": "bulk", **job, "components": [src, sink]}


async def store_job(store: Store, **job: Any) -> str:
    doc = job_doc(**job)
    now = time.time()
    job_id = uuid.uuid4().hex
    await store.create_job(JobRecord(job_id, doc["name"], json.dumps(doc), created_at=now, updated_at=now))
    return job_id


def schedule_record(job_id: str, trigger_type: str = "interval", **trigger_args: Any) -> ScheduleRecord:
    """A schedule as another process would write it straight into the database."""
    now = time.time()
    return ScheduleRecord(
        id=uuid.uuid4().hex,
        name="written elsewhere",
        job_id=job_id,
        environment="DEV",
        trigger_type=trigger_type,
        trigger_args=trigger_args or {"hours": 1},
        created_at=now,
        updated_at=now,
    )


async def eventually(check: Callable[[], Awaitable[Any] | Any], within: float = 10.0) -> Any:
    """The first truthy result of `check` (awaited when it is a coroutine), polled for `within` seconds, else a
    failure."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def executions_of(store: Store, schedule_id: str) -> list[ExecutionRecord]:
    rows, _ = await store.list_executions(ExecutionQuery(limit=200, order="asc"))
    return [r for r in rows if r.trigger == f"schedule:{schedule_id}"]


def due_now(scheduler: SchedulerService, schedule_id: str, late: float = 0.0) -> None:
    """Make APScheduler find the schedule due (`late` seconds ago) now, instead of waiting for its trigger."""
    aps = scheduler.apscheduler
    aps.get_job(schedule_id).modify(next_run_time=datetime.now(UTC) - timedelta(seconds=late))
    aps.wakeup()


def events(logs: Sequence[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == name]
