"""The executions service: starts jobs in the background, keeps their live state, records their history.

The API and the scheduler both start executions here, so history, metrics and the concurrency rule are the same
whoever starts them:

    started = await service.start(job_id, environment="PROD", trigger="schedule:nightly")
    # -> ExecutionRecord (RUNNING), the job runs in its own task
    await service.cancel(started.id)

Contract:
- `start` refuses (ConflictError JOB_ALREADY_RUNNING) when the job already has `max_concurrent_runs` executions
  running in this process; an unknown job is NotFoundError JOB_NOT_FOUND; a config that no longer plans (a
  component type hidden in production, a refused path) or whose `${...}` references do not resolve for the
  environment (through `contexts`, the store-backed ContextSource) is ConfigError.
- Every lifecycle event is written to the store as it happens: the execution row, each attempt, and each
  component's final metrics when an attempt ends. A failing store write is logged, never fails the job; so a job
  whose history could never be written (`recordable_issues`: a NUL character in its or a component's name, a
  retry count beyond what the store keeps) is refused at `start` with a ConfigError instead.
- Reading and planning a stored config runs in a worker thread: a config of thousands of components takes
  seconds to plan, and the event loop (every other request, every live event stream) must not wait for it.
- `recover` (at start-up) marks executions a dead process left PENDING/RUNNING as FAILED ("interrupted").
- `shutdown(grace)` refuses new starts, lets running executions finish for `grace` seconds, then cancels the
  rest, which end CANCELLED.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import structlog

from etl_core.config.loader import parse_job
from etl_core.config.models import JobConfig
from etl_core.errors import ConfigError, ConfigIssue, ConflictError, NotFoundError
from etl_core.graph.plan import Plan
from etl_core.graph.planner import plan_job
from etl_core.observability.metrics import CANCELLED, FAILED, PENDING, RUNNING
from etl_core.params.context import ContextSource
from etl_core.params.resolver import ParameterResolver
from etl_core.runtime.executor import JobExecutor, Listener
from etl_core.runtime.local import plan_options, run_options
from etl_core.runtime.state import AttemptState, ExecutionState
from etl_core.services.metrics import ServerMetrics
from etl_core.settings import Settings
from etl_core.store.base import Store
from etl_core.store.models import AttemptRecord, ExecutionRecord, JobRecord

log = structlog.get_logger("etl_core.server")

INTERRUPTED = "interrupted: the server stopped while this execution was running"
SHUTDOWN = "cancelled: the server shut down"
FINAL_EVENT = "execution_finished"

Event = tuple[str, ExecutionRecord, list[AttemptRecord]]
T = TypeVar("T")

MAX_STORED_INTEGER = 2**31 - 1
"""The largest integer every store keeps (PostgreSQL `INTEGER`): `max_attempts` (retries + 1) and
`max_concurrent_runs` must fit."""

NUL = "\x00"

# planning is CPU work: one plan at a time off the loop, apart from the worker threads the jobs use
_PLANNING = anyio.CapacityLimiter(1)


def recordable_issues(config: JobConfig) -> list[ConfigIssue]:
    """What in a valid job config the executions history could not record, each with its JSON path.

    The job's and its components' names are written to plain text columns, which PostgreSQL refuses to hold a NUL
    character in; `num_of_retries + 1` and `max_concurrent_runs` are written as integers of at most
    `MAX_STORED_INTEGER`. The API refuses such a config when it is stored; `ExecutionService.start` when it runs.
    """
    issues: list[ConfigIssue] = []
    nul_message = "must not contain the NUL character (U+0000): the execution history cannot record it"
    if NUL in config.name:
        issues.append(ConfigIssue("name", nul_message))
    if config.num_of_retries > MAX_STORED_INTEGER - 1:
        issues.append(ConfigIssue("num_of_retries", f"must be at most {MAX_STORED_INTEGER - 1}"))
    if config.max_concurrent_runs > MAX_STORED_INTEGER:
        issues.append(ConfigIssue("max_concurrent_runs", f"must be at most {MAX_STORED_INTEGER}"))
    for index, component in enumerate(config.components):
        if NUL in component.name:
            # the name itself cannot be quoted in a message that is logged or stored: it is the problem
            issues.append(ConfigIssue(f"components[{index}].name", nul_message, component.name.replace(NUL, "?")))
    return issues


async def planning(work: Callable[[], T]) -> T:
    """`work()` (reading and planning job configs: CPU work, seconds for thousands of components) in a worker
    thread, one at a time, so the event loop keeps answering; its exceptions (ConfigError) are raised here."""
    return await anyio.to_thread.run_sync(work, limiter=_PLANNING)


def attempt_record(execution_id: str, attempt: AttemptState) -> AttemptRecord:
    """An attempt's persisted form, with every component's metrics snapshot."""
    return AttemptRecord(
        execution_id=execution_id,
        number=attempt.number,
        status=attempt.status,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        error=attempt.error,
        failed_component=attempt.failed_component,
        cancelled_components=list(attempt.cancelled_components),
        components={name: m.snapshot() for name, m in attempt.components.items()},
    )


@dataclass(slots=True)
class _Live:
    record: ExecutionRecord
    executor: JobExecutor
    task: asyncio.Task[None] | None = None
    finished: bool = False
    cancel_reason: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    subscribers: set[asyncio.Queue[str]] = field(default_factory=set)

    def view(self) -> tuple[ExecutionRecord, list[AttemptRecord]]:
        """The record as of now, merged with the executor's live state."""
        state = self.executor.state
        record = self.record
        if not self.finished and state.status != PENDING:
            record.status = state.status
            record.error = state.error
            if state.started_at is not None:
                record.started_at = state.started_at
            record.totals = state.totals()
        return record, [attempt_record(record.id, a) for a in state.attempts]


class ExecutionService:
    """Runs executions of stored jobs in background tasks (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        metrics: ServerMetrics | None = None,
        contexts: ContextSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.contexts = contexts
        self._clock = clock
        self._live: dict[str, _Live] = {}
        self._start_lock = asyncio.Lock()
        self._stopping = False

    # -- queries ---------------------------------------------------------------------------------
    def running(self, job_id: str | None = None) -> list[str]:
        """Ids of the executions running in this process (of one job when `job_id` is given)."""
        return [
            eid
            for eid, live in self._live.items()
            if not live.finished and (job_id is None or live.record.job_id == job_id)
        ]

    def live_states(self) -> list[ExecutionState]:
        return [live.executor.state for live in self._live.values() if not live.finished]

    async def get(self, execution_id: str) -> tuple[ExecutionRecord, list[AttemptRecord]]:
        """An execution and its attempts: live figures while it runs, the stored history once it ended."""
        live = self._live.get(execution_id)
        if live is not None:
            return live.view()
        record = await self.store.get_execution(execution_id)
        if record is None:
            raise NotFoundError(
                "EXECUTION_NOT_FOUND", f"execution {execution_id!r} not found", execution_id=execution_id
            )
        return record, await self.store.list_attempts(execution_id)

    # -- life cycle ------------------------------------------------------------------------------
    async def recover(self) -> list[str]:
        """Mark executions left unfinished by a dead process FAILED; returns their ids."""
        ids = await self.store.mark_interrupted(INTERRUPTED)
        if ids:
            log.warning("executions_interrupted", count=len(ids), execution_ids=ids)
        return ids

    async def start(self, job_id: str, environment: str | None = None, *, trigger: str = "api") -> ExecutionRecord:
        """Start an execution of a stored job in the background; returns its record (status RUNNING)."""
        env = (environment or self.settings.execution_env).upper()
        async with self._start_lock:
            if self._stopping:
                raise ConflictError("SERVER_STOPPING", "the server is shutting down; no new executions start")
            job = await self._job(job_id)
            config, plan = await planning(lambda: self._plan(job.config_text))
            unrecordable = recordable_issues(config)
            if unrecordable:
                raise ConfigError(unrecordable)
            running = self.running(job_id)
            if len(running) >= config.max_concurrent_runs:
                raise ConflictError(
                    "JOB_ALREADY_RUNNING",
                    f"job {job_id!r} is already running ({len(running)} of max_concurrent_runs "
                    f"{config.max_concurrent_runs})",
                    job_id=job_id,
                    running_execution_ids=running,
                )
            # `${...}` references and database credentials resolve now, so a missing one is a 422, not a failed run
            resolver = ParameterResolver(self.contexts)
            await resolver.prepare(plan, env)
            record = ExecutionRecord(
                id=uuid.uuid4().hex,
                job_id=job_id,
                job_name=config.name,
                environment=env,
                status=RUNNING,
                max_attempts=config.num_of_retries + 1,
                started_at=self._clock(),
                trigger=trigger,
            )
            await self.store.create_execution(record)
            options = run_options(self.settings)
            options.resolve_options = resolver
            live = _Live(record, JobExecutor(plan, options, execution_id=record.id, job_id=job_id, environment=env))
            live.executor.listener = self._listener(live)
            self._live[record.id] = live
            # a fresh context: the request's context variables (and its structlog bindings) stay behind
            live.task = asyncio.get_running_loop().create_task(
                self._run(live), name=f"execution {record.id}", context=contextvars.Context()
            )
        log.info("execution_submitted", job_id=job_id, execution_id=record.id, environment=env, trigger=trigger)
        return record

    def _plan(self, config_text: str) -> tuple[JobConfig, Plan]:
        config = parse_job(json.loads(config_text))
        return config, plan_job(config, plan_options(self.settings))

    async def _job(self, job_id: str) -> JobRecord:
        job = await self.store.get_job(job_id)
        if job is None:
            raise NotFoundError("JOB_NOT_FOUND", f"job {job_id!r} not found", job_id=job_id)
        return job

    @asynccontextmanager
    async def job_idle(self, job_id: str) -> AsyncIterator[None]:
        """Hold off new starts of the job while the body runs; ConflictError JOB_RUNNING when it runs now."""
        async with self._start_lock:
            running = self.running(job_id)
            if running:
                raise ConflictError(
                    "JOB_RUNNING", f"job {job_id!r} is running", job_id=job_id, running_execution_ids=running
                )
            yield

    async def cancel(self, execution_id: str, *, wait: float = 5.0) -> ExecutionRecord:
        """Cancel a running execution and wait up to `wait` seconds for it to end; returns its record."""
        live = self._live.get(execution_id)
        if live is None or live.finished:
            record, _ = await self.get(execution_id)
            raise ConflictError(
                "EXECUTION_NOT_RUNNING",
                f"execution {execution_id!r} is not running (status {record.status})",
                execution_id=execution_id,
                status=record.status,
            )
        log.info("execution_cancel_requested", execution_id=execution_id, job_id=live.record.job_id)
        live.executor.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(live.done.wait()), wait)
        record, _ = live.view()
        return record

    async def shutdown(self, grace: float) -> None:
        """Stop starting executions, let running ones finish within `grace` seconds, then cancel the rest."""
        async with self._start_lock:
            self._stopping = True
        tasks = [live.task for live in self._live.values() if live.task is not None]
        if not tasks:
            return
        log.info("executions_draining", running=len(tasks), grace_s=grace)
        pending = set(tasks)
        if grace > 0:
            _, pending = await asyncio.wait(tasks, timeout=grace)
        if not pending:
            return
        log.warning("executions_cancelled_at_shutdown", count=len(pending))
        for live in list(self._live.values()):
            live.cancel_reason = SHUTDOWN
            live.executor.cancel()
        _, stuck = await asyncio.wait(pending, timeout=10.0)
        for task in stuck:
            task.cancel()
        if stuck:
            await asyncio.wait(stuck, timeout=5.0)

    # -- running ---------------------------------------------------------------------------------
    def _listener(self, live: _Live) -> Listener:
        async def on_event(event: str, state: ExecutionState) -> None:
            try:
                await self._record(live, event, state)
            except Exception:
                log.exception("execution_record_failed", execution_id=state.execution_id, lifecycle_event=event)
            self._publish(live, event)

        return on_event

    async def _record(self, live: _Live, event: str, state: ExecutionState) -> None:
        record = live.record
        if event in ("attempt_started", "attempt_finished") and state.current is not None:
            await self.store.save_attempt(attempt_record(record.id, state.current))
            if event == "attempt_finished" and self.metrics is not None:
                self.metrics.attempt_finished(state)
            return
        record.status = state.status
        record.error = state.error
        if state.started_at is not None:
            record.started_at = state.started_at
        record.totals = state.totals()
        if event == FINAL_EVENT:
            live.finished = True
            record.finished_at = state.finished_at or self._clock()
            if live.cancel_reason and record.status == CANCELLED:
                record.error = live.cancel_reason
            if self.metrics is not None:
                self.metrics.execution_finished(state)
        await self.store.update_execution(record)

    def _publish(self, live: _Live, event: str) -> None:
        if event == FINAL_EVENT:
            # normally set by `_record` already; also when recording the end failed
            live.finished = True
        for queue in live.subscribers:
            queue.put_nowait(event)

    async def _run(self, live: _Live) -> None:
        record = live.record
        try:
            await live.executor.run()
        except BaseException as exc:
            # the executor records its own failures; reaching here means it crashed or its task was cancelled
            cancelled = isinstance(exc, asyncio.CancelledError)
            if not cancelled:
                log.exception("execution_crashed", execution_id=record.id, job_id=record.job_id)
            if not live.finished:
                await asyncio.shield(self._settle(live, CANCELLED if cancelled else FAILED, exc))
            if cancelled:
                raise
        finally:
            self._live.pop(record.id, None)
            live.done.set()

    async def _settle(self, live: _Live, status: str, exc: BaseException) -> None:
        """Record the end of an execution whose executor could not record it itself."""
        state = live.executor.state
        state.status = status
        state.error = live.cancel_reason or f"{type(exc).__name__}: {exc}"
        state.finished_at = self._clock()
        for attempt in state.attempts:
            if attempt.status in (PENDING, RUNNING):
                attempt.status = status
                attempt.finished_at = state.finished_at
                try:
                    await self.store.save_attempt(attempt_record(live.record.id, attempt))
                except Exception:
                    log.exception("execution_record_failed", execution_id=live.record.id, lifecycle_event="settle")
        await self._listener(live)(FINAL_EVENT, state)

    # -- live events -----------------------------------------------------------------------------
    async def events(self, execution_id: str, *, interval: float = 1.0) -> AsyncGenerator[Event, None]:
        """Lifecycle events and periodic `metrics` snapshots of one execution, until it ends.

        Starts with a `snapshot`; ends with `execution_finished`. An execution that has already ended yields its
        stored snapshot and `execution_finished` at once.
        """
        live = self._live.get(execution_id)
        if live is None:
            record, attempts = await self.get(execution_id)
            yield "snapshot", record, attempts
            yield FINAL_EVENT, record, attempts
            return
        queue: asyncio.Queue[str] = asyncio.Queue()
        live.subscribers.add(queue)
        try:
            yield ("snapshot", *live.view())
            # once subscribed, every event reaches the queue in order, the final one last; when the end came
            # before the subscription, `finished` says so
            while not live.finished or not queue.empty():
                try:
                    event = await asyncio.wait_for(queue.get(), interval)
                except TimeoutError:
                    event = "metrics"
                if event == FINAL_EVENT:
                    break
                yield (event, *live.view())
            yield (FINAL_EVENT, *live.view())
        finally:
            live.subscribers.discard(queue)
