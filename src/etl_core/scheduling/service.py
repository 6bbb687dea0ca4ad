"""The scheduler service: schedules kept in the store, mirrored into APScheduler 3's AsyncIOScheduler on the
server's event loop, and fired through the executions service.

    scheduler = SchedulerService(store, executions, metrics=metrics, sync_interval=30)
    await scheduler.start()         # mirrors every stored schedule, then re-syncs every `sync_interval` seconds
    view = await scheduler.create(name="nightly", job_id=job_id, environment="PROD",
                                  trigger_type="cron", trigger_args={"hour": 3, "minute": 0})
    await scheduler.run_now(view.record.id)     # -> ExecutionRecord whose trigger is "schedule:<id>"
    await scheduler.stop()          # nothing fires once this returns

Contract:
- The store is the truth and the scheduler its mirror. Changes made here are written to the store, then
  mirrored at once; `sync()` (at start-up, every `sync_interval` seconds, and on every read) brings the mirror in
  line with whatever the store holds, so schedules written by another process or straight into the database take
  effect without a restart. A schedule whose trigger (type and arguments) is unchanged keeps its APScheduler job:
  a sync, a rename or a pause never resets its cadence.
- A firing re-reads its schedule first, so one deleted, paused or re-timed since the last sync does not fire.
- A firing starts the job through `ExecutionService.start(job_id, environment, trigger="schedule:<id>")`: the
  same history, metrics and one-run-per-job rule as the API. A firing while the job runs is skipped and logged
  (`schedule_skipped`), never queued. Missed runs coalesce into one (`coalesce`, `max_instances=1`); a run later
  than `misfire_grace_time` is dropped and logged (`schedule_missed`). Each firing feeds the scheduler-lag metric.
- A stored schedule that does not build (bad arguments written into the database) is not scheduled: its view
  says `invalid` with the reason, and `schedule_invalid` is logged once per change.
- `stop()` pauses firing, lets firings in progress hand their execution over, then shuts APScheduler down; the
  executions service drains after it (the app's lifespan calls them in that order).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from apscheduler.events import (  # type: ignore[import-untyped]  # APScheduler 3 ships no types
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
)
from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from etl_core.errors import ConfigError, ConfigIssue, ConflictError, NotFoundError
from etl_core.scheduling.triggers import InvalidSchedule, build_trigger, next_fire_time, trigger_key
from etl_core.services.executions import ExecutionService
from etl_core.services.metrics import ServerMetrics
from etl_core.store.base import Store
from etl_core.store.models import ExecutionQuery, ExecutionRecord, ScheduleRecord

log = structlog.get_logger("etl_core.scheduler")

SCHEDULED, PAUSED, FINISHED, INVALID, STOPPED = "scheduled", "paused", "finished", "invalid", "stopped"
_EDITABLE = frozenset({"name", "job_id", "environment", "trigger_type", "trigger_args", "paused"})


def schedule_trigger(schedule_id: str) -> str:
    """The `trigger` recorded on the executions a schedule starts."""
    return f"schedule:{schedule_id}"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


@dataclass(slots=True)
class ScheduleView:
    """A stored schedule as the scheduler sees it now.

    `state`: `scheduled` (it will fire at `next_run_time`), `paused`, `finished` (a one-off that ran, or an
    `end_date` passed), `invalid` (its stored arguments do not build; `error` says why), `stopped` (the scheduler
    is not running).
    """

    record: ScheduleRecord
    next_run_time: datetime | None
    state: str
    error: str | None = None


@dataclass(slots=True)
class _Entry:
    """What the mirror holds for one schedule: the record it mirrors and the trigger key it was built from."""

    record: ScheduleRecord
    key: str
    error: str | None = None


class SchedulerService:
    """Stored schedules fired on the event loop through the executions service (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        executions: ExecutionService,
        *,
        metrics: ServerMetrics | None = None,
        sync_interval: float | None = 30.0,
        misfire_grace_time: float = 300.0,
        stop_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.executions = executions
        self.metrics = metrics
        self.sync_interval = sync_interval
        self.misfire_grace_time = misfire_grace_time
        self.stop_timeout = stop_timeout
        self._clock = clock
        self._scheduler: Any = None
        self._entries: dict[str, _Entry] = {}
        # planned fire time of each submitted firing, handed from APScheduler's submission event to the firing
        self._due: dict[str, datetime] = {}
        self._firing: set[asyncio.Task[Any]] = set()
        self._sync_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopping = False

    # -- life cycle --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._scheduler is not None and not self._stopping

    @property
    def apscheduler(self) -> Any:
        """The AsyncIOScheduler while running (None otherwise), for inspection; change schedules through this
        service, never on it."""
        return self._scheduler

    async def start(self) -> None:
        """Start firing: mirror every stored schedule, then re-sync every `sync_interval` seconds."""
        if self._scheduler is not None:
            return
        self._stopping = False
        scheduler = AsyncIOScheduler(
            event_loop=asyncio.get_running_loop(),
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.misfire_grace_time},
        )
        scheduler.add_listener(self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        scheduler.start()
        self._scheduler = scheduler
        try:
            await self.sync()
        except Exception:
            # the store was just opened; should it fail now, the periodic sync tries again
            log.exception("schedules_sync_failed")
        if self.sync_interval:
            self._sync_task = asyncio.get_running_loop().create_task(
                self._sync_forever(self.sync_interval), name="schedules sync", context=contextvars.Context()
            )
        log.info("scheduler_started", schedules=len(self._entries), sync_interval_s=self.sync_interval)

    async def stop(self) -> None:
        """Stop firing (see the module docstring); the executions already started keep running."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        self._stopping = True
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None
        scheduler.pause()
        # firings already submitted start on the next turn of the loop; let them register, then hand over
        await asyncio.sleep(0)
        if self._firing:
            await asyncio.wait(set(self._firing), timeout=self.stop_timeout)
        scheduler.shutdown(wait=False)
        # AsyncIOScheduler shuts down on the loop's next turn
        await asyncio.sleep(0)
        self._scheduler = None
        self._entries.clear()
        self._due.clear()
        log.info("scheduler_stopped")

    async def _sync_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sync()
            except Exception as exc:  # noqa: BLE001 - a store outage must not end the loop; the next round retries
                log.warning("schedules_sync_failed", error_type=type(exc).__name__, error=str(exc))

    # -- mirroring ---------------------------------------------------------------------------------
    async def sync(self) -> list[ScheduleRecord]:
        """Bring the scheduler in line with the store; returns the stored schedules."""
        async with self._lock:
            records = await self.store.list_schedules()
            if self._scheduler is None:
                return records
            changes: dict[str, int] = {}
            for record in records:
                change = await self._mirror(record)
                if change is not None:
                    changes[change] = changes.get(change, 0) + 1
            for gone in set(self._entries) - {r.id for r in records}:
                self._forget(gone)
                changes["removed"] = changes.get("removed", 0) + 1
        if changes:
            log.info("schedules_synced", schedules=len(records), **changes)
        return records

    async def _mirror(self, record: ScheduleRecord) -> str | None:
        """Mirror one stored schedule (under the lock); returns what changed, or None."""
        scheduler = self._scheduler
        if scheduler is None:
            return None
        key = trigger_key(record.trigger_type, record.trigger_args)
        entry = self._entries.get(record.id)
        if entry is not None and entry.key == key and entry.error is None:
            was_paused, entry.record = entry.record.paused, record
            job = scheduler.get_job(record.id)
            if job is None or was_paused == record.paused:
                return None
            if record.paused:
                scheduler.pause_job(record.id)
                return "paused"
            scheduler.resume_job(record.id)
            return "resumed"
        change = "added" if entry is None else "changed"
        now = datetime.now(UTC)
        problem: InvalidSchedule | None = None
        try:
            trigger = build_trigger(record.trigger_type, record.trigger_args, anchor=record.created_at)
            first = next_fire_time(trigger, now)  # dates written by hand near year 9999 fail here
        except InvalidSchedule as exc:
            problem = exc
        except Exception as exc:  # noqa: BLE001 - one stored schedule that does not build must not stop the others
            problem = InvalidSchedule([ConfigIssue("trigger_args", f"the trigger cannot be used: {exc!r}")])
        if problem is not None:
            self._remove_job(record.id)
            if entry is None or entry.key != key or entry.error is None:
                log.warning("schedule_invalid", schedule_id=record.id, schedule=record.name, error=str(problem))
            self._entries[record.id] = _Entry(record, key, str(problem))
            return "invalid"
        self._entries[record.id] = _Entry(record, key)
        if first is None or (first < now and not await self._one_off_still_due(record, first, now)):
            self._remove_job(record.id)
            return change
        paused = {"next_run_time": None} if record.paused else {}
        scheduler.add_job(
            self._fire, trigger, args=(record.id,), id=record.id, name=record.name, replace_existing=True, **paused
        )
        return change

    async def _one_off_still_due(self, record: ScheduleRecord, run_date: datetime, now: datetime) -> bool:
        """A one-off whose time passed while nothing mirrored it runs late (within the grace time), unless it ran."""
        if (now - run_date).total_seconds() > self.misfire_grace_time:
            return False
        query = ExecutionQuery(job_id=record.job_id, started_after=run_date.timestamp() - 1.0, limit=200)
        rows, _ = await self.store.list_executions(query)
        return all(row.trigger != schedule_trigger(record.id) for row in rows)

    def _remove_job(self, schedule_id: str) -> None:
        if self._scheduler is not None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(schedule_id)

    def _forget(self, schedule_id: str) -> None:
        self._remove_job(schedule_id)
        self._entries.pop(schedule_id, None)

    # -- firing ------------------------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        """APScheduler's events, delivered on the loop right after it submitted the firings that are due."""
        if event.code == EVENT_JOB_SUBMITTED:
            self._due[event.job_id] = event.scheduled_run_times[-1]
        elif event.code == EVENT_JOB_MISSED:
            self._due.pop(event.job_id, None)
            log.warning(
                "schedule_missed",
                schedule_id=event.job_id,
                due_at=_iso(event.scheduled_run_time),
                misfire_grace_time_s=self.misfire_grace_time,
            )
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.info("schedule_skipped", schedule_id=event.job_id, reason="previous_firing_in_progress")

    async def _fire(self, schedule_id: str) -> None:
        """One firing (APScheduler's job function): never raises, every outcome is logged."""
        # the task copied the context of whatever woke the scheduler (a request, perhaps): start clean
        structlog.contextvars.clear_contextvars()
        due = self._due.pop(schedule_id, None)
        task = asyncio.current_task()
        if task is not None:
            self._firing.add(task)
        try:
            await self._fire_once(schedule_id, due)
        except Exception:
            log.exception("schedule_fire_failed", schedule_id=schedule_id, due_at=_iso(due))
        finally:
            if task is not None:
                self._firing.discard(task)

    async def _fire_once(self, schedule_id: str, due: datetime | None) -> None:
        if self._stopping:
            log.info("schedule_skipped", schedule_id=schedule_id, reason="server_stopping", due_at=_iso(due))
            return
        record = await self.store.get_schedule(schedule_id)
        entry = self._entries.get(schedule_id)
        reason = None
        if record is None:
            reason = "deleted"
        elif record.paused:
            reason = "paused"
        elif entry is None or entry.key != trigger_key(record.trigger_type, record.trigger_args):
            reason = "changed"
        if record is None or reason is not None:
            async with self._lock:
                if record is None:
                    self._forget(schedule_id)
                else:
                    await self._mirror(record)
            log.info("schedule_skipped", schedule_id=schedule_id, reason=reason, due_at=_iso(due))
            return
        if entry is not None:
            entry.record = record
        fields = {"schedule_id": schedule_id, "schedule": record.name, "job_id": record.job_id, "due_at": _iso(due)}
        try:
            execution = await self.executions.start(
                record.job_id, record.environment or None, trigger=schedule_trigger(schedule_id)
            )
        except ConflictError as exc:
            reason = "job_running" if exc.code == "JOB_ALREADY_RUNNING" else exc.code.lower()
            log.info("schedule_skipped", **{**exc.context, **fields, "reason": reason})
            return
        except (NotFoundError, ConfigError) as exc:
            log.error("schedule_fire_failed", code=exc.code, error=str(exc), **fields)
            return
        lag = None
        if due is not None:
            lag = max(execution.started_at - due.timestamp(), 0.0)
            if self.metrics is not None:
                self.metrics.record_scheduler_lag(lag)
        log.info(
            "schedule_fired",
            execution_id=execution.id,
            environment=execution.environment,
            lag_s=None if lag is None else round(lag, 6),
            **fields,
        )

    # -- schedules ---------------------------------------------------------------------------------
    def view(self, record: ScheduleRecord) -> ScheduleView:
        """The schedule as mirrored now (callers mirror it first: `get` and `list` do)."""
        scheduler = self._scheduler
        if scheduler is None:
            return ScheduleView(record, None, STOPPED)
        entry = self._entries.get(record.id)
        if entry is not None and entry.error is not None:
            return ScheduleView(record, None, INVALID, entry.error)
        if record.paused:
            return ScheduleView(record, None, PAUSED)
        job = scheduler.get_job(record.id)
        next_run: datetime | None = None if job is None else job.next_run_time
        return ScheduleView(record, next_run, FINISHED if next_run is None else SCHEDULED)

    async def list_schedules(self, job_id: str | None = None) -> list[ScheduleView]:
        """Every schedule (of one job when `job_id` is given), in creation order, after a sync."""
        records = await self.sync()
        return [self.view(r) for r in records if job_id is None or r.job_id == job_id]

    async def get(self, schedule_id: str) -> ScheduleView:
        """One schedule (NotFoundError SCHEDULE_NOT_FOUND), mirrored from the store first."""
        async with self._lock:
            record = await self._record(schedule_id)
            await self._mirror(record)
        return self.view(record)

    async def create(
        self,
        *,
        name: str,
        job_id: str,
        environment: str,
        trigger_type: str,
        trigger_args: dict[str, Any],
        paused: bool = False,
    ) -> ScheduleView:
        """Validate (InvalidSchedule naming every bad argument; the job must exist), store and schedule."""
        now = self._clock()
        record = ScheduleRecord(
            id=uuid.uuid4().hex,
            name=name,
            job_id=job_id,
            environment=environment,
            trigger_type=trigger_type,
            trigger_args=dict(trigger_args),
            paused=paused,
            created_at=now,
            updated_at=now,
        )
        async with self._lock:
            await self._validate(record, new_trigger=True)
            await self.store.create_schedule(record)
            await self._mirror(record)
        log.info("schedule_created", **self._fields(record))
        return self.view(record)

    async def update(self, schedule_id: str, *, validate: bool = True, **changes: Any) -> ScheduleView:
        """Change the given fields (name, job_id, environment, trigger_type, trigger_args, paused).

        The result is validated like a new schedule; a changed trigger must fire again. `validate=False` (pause and
        resume) skips that, so a schedule whose job disappeared can still be paused.
        """
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
        async with self._lock:
            existing = await self._record(schedule_id)
            record = dataclasses.replace(existing, **changes, updated_at=self._clock())
            if validate:
                new_trigger = trigger_key(record.trigger_type, record.trigger_args) != trigger_key(
                    existing.trigger_type, existing.trigger_args
                )
                await self._validate(record, new_trigger=new_trigger)
            if not await self.store.update_schedule(record):
                raise self._not_found(schedule_id)
            await self._mirror(record)
        log.info("schedule_updated", changed=sorted(changes), **self._fields(record))
        return self.view(record)

    @contextlib.asynccontextmanager
    async def changes_held(self) -> AsyncIterator[None]:
        """No schedule is created, changed or deleted (nor a sync applied) while the body runs: deleting a job
        checks that no schedule starts it and deletes it inside, so none can be pointed at it in between."""
        async with self._lock:
            yield

    async def pause(self, schedule_id: str) -> ScheduleView:
        """Stop firing until resumed (idempotent); the cadence is kept."""
        return await self.update(schedule_id, validate=False, paused=True)

    async def resume(self, schedule_id: str) -> ScheduleView:
        """Fire again from the next due time on (idempotent); runs missed while paused are not made up."""
        return await self.update(schedule_id, validate=False, paused=False)

    async def delete(self, schedule_id: str) -> ScheduleRecord:
        """Delete a schedule and stop firing it; returns what was deleted. Its executions stay in the history."""
        async with self._lock:
            record = await self._record(schedule_id)
            if not await self.store.delete_schedule(schedule_id):
                raise self._not_found(schedule_id)
            self._forget(schedule_id)
        log.info("schedule_deleted", **self._fields(record))
        return record

    async def run_now(self, schedule_id: str) -> ExecutionRecord:
        """Start the schedule's job now, paused or not (ConflictError JOB_ALREADY_RUNNING when it runs)."""
        record = await self._record(schedule_id)
        execution = await self.executions.start(
            record.job_id, record.environment or None, trigger=schedule_trigger(schedule_id)
        )
        log.info("schedule_fired", manual=True, execution_id=execution.id, **self._fields(record))
        return execution

    # -- helpers -----------------------------------------------------------------------------------
    async def _record(self, schedule_id: str) -> ScheduleRecord:
        record = await self.store.get_schedule(schedule_id)
        if record is None:
            raise self._not_found(schedule_id)
        return record

    @staticmethod
    def _not_found(schedule_id: str) -> NotFoundError:
        return NotFoundError("SCHEDULE_NOT_FOUND", f"schedule {schedule_id!r} not found", schedule_id=schedule_id)

    @staticmethod
    def _fields(record: ScheduleRecord) -> dict[str, Any]:
        return {"schedule_id": record.id, "schedule": record.name, "job_id": record.job_id}

    async def _validate(self, record: ScheduleRecord, *, new_trigger: bool) -> None:
        """InvalidSchedule listing every problem: the job is missing, an argument does not build the trigger."""
        issues: list[ConfigIssue] = []
        if await self.store.get_job(record.job_id) is None:
            issues.append(ConfigIssue("job_id", f"job {record.job_id!r} not found"))
        try:
            build_trigger(
                record.trigger_type,
                record.trigger_args,
                anchor=record.created_at,
                now=datetime.now(UTC) if new_trigger else None,
            )
        except InvalidSchedule as exc:
            issues.extend(exc.issues)
        if issues:
            raise InvalidSchedule(issues)
