"""The executor: one anyio task group per attempt, a task per component, retries with backoff, cancellation.

    plan ──> attempt 1: [streams per in port] + [task per component] ──fail──> backoff ──> attempt 2 ...
                                    │ success
                                    └─> commit point reached by every component -> writers publish

A component that fails cancels the task group; the attempt records the failing component and error, and the
components cancelled because of it. Every attempt starts from fresh streams, contexts and state.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import structlog
from anyio.streams.memory import MemoryObjectSendStream

from etl_core.components.base import DEFAULT_BATCH_BYTES, AnyBatch, ComponentContext
from etl_core.components.support.files import PathNotAllowed, resolve_data_path
from etl_core.errors import ComponentError, ConfigError, PermanentComponentError
from etl_core.graph.plan import Plan, PlanNode
from etl_core.observability import logging as etl_logging
from etl_core.observability.metrics import CANCELLED, FAILED, RUNNING, SUCCESS, ComponentMetrics
from etl_core.runtime.edges import DEFAULT_CAPACITY, InPort, OutPort, new_stream
from etl_core.runtime.state import AttemptState, ExecutionState

log = structlog.get_logger("etl_core.runtime")

Listener = Callable[[str, ExecutionState], Awaitable[None]]
OptionsResolver = Callable[[PlanNode, str], Any]
AttemptRunner = Callable[["JobExecutor", AttemptState, list[tuple[str, BaseException]]], Awaitable[None]]

_CONSEQUENCES = (anyio.BrokenResourceError, anyio.ClosedResourceError)


@dataclass(slots=True)
class RunOptions:
    """How the runtime runs a plan (from settings, or set by hand in tests)."""

    data_dir: Path = Path("data")
    allowed_roots: tuple[Path, ...] = ()
    batch_size: int = 10_000
    batch_bytes: int = DEFAULT_BATCH_BYTES
    edge_capacity: int = DEFAULT_CAPACITY
    columnar: bool = True
    retry_backoff_s: float = 1.0
    retry_backoff_max_s: float = 30.0
    log_dir: Path | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    resolve_options: OptionsResolver | None = None
    ray_address: str | None = None


class _CommitBarrier:
    """Released when every component has either finished or reached its commit point."""

    def __init__(self, names: list[str]) -> None:
        self._waiting = set(names)
        self._released = anyio.Event()
        if not self._waiting:
            self._released.set()

    def arrive(self, name: str) -> None:
        self._waiting.discard(name)
        if not self._waiting:
            self._released.set()

    async def wait(self, name: str) -> None:
        self.arrive(name)
        await self._released.wait()


def _describe(name: str, exc: BaseException) -> str:
    """The failure as stored and shown (resolved secret values masked: a message may quote an option)."""
    if isinstance(exc, ComponentError):
        if not exc.component:
            exc.component = name
        return etl_logging.scrub(str(exc))
    text = str(exc) or type(exc).__name__
    return etl_logging.scrub(f"component {name!r}: {type(exc).__name__}: {text}")


def _fed_by_data(plan: Plan, name: str) -> bool:
    """A sink that receives records (not only dead letters from `error` ports) counts towards rows written."""
    incoming = plan.edges_into(name)
    return not incoming or any(e.out_port != "error" for e in incoming)


def strategy_runner(strategy: str) -> AttemptRunner | None:
    """The attempt runner of a strategy whose components do not all run in this task group, or None (local).

    `bigdata` runs on Ray (etl_core.runtime.bigdata, imported only when such a job runs). A runner records
    failures as (component, error) in the list it is given and raises on failure, as a task group does.
    """
    if strategy == "bigdata":
        from etl_core.runtime.bigdata.runner import run_attempt

        return run_attempt
    return None


def _retryable(exc: BaseException | None) -> bool:
    if exc is None:
        return True
    if isinstance(exc, (ConfigError, PathNotAllowed)):
        return False
    if isinstance(exc, ComponentError):
        return exc.retryable
    return True


class JobExecutor:
    """Runs one execution of a plan: attempts, retries, cancellation, metrics and lifecycle events."""

    def __init__(
        self,
        plan: Plan,
        options: RunOptions | None = None,
        *,
        execution_id: str | None = None,
        job_id: str | None = None,
        environment: str = "DEV",
        listener: Listener | None = None,
    ) -> None:
        self.plan = plan
        self.options = options or RunOptions()
        self.listener = listener
        self.state = ExecutionState(
            execution_id=execution_id or uuid.uuid4().hex,
            # a job file may carry the id it was stored under (job-config.md: "present when a stored job is sent
            # back"): a run from that file is logged under it too
            job_id=job_id if job_id is not None else plan.job.id,
            job_name=plan.job.name,
            environment=environment,
            max_attempts=plan.job.num_of_retries + 1,
            source_names=tuple(n.name for n in plan.sources),
            sink_names=tuple(n.name for n in plan.sinks if _fed_by_data(plan, n.name)),
        )
        self._scope: anyio.CancelScope | None = None
        self._cancel_requested = False

    def cancel(self) -> None:
        """Stop every component promptly; the execution ends CANCELLED with no partial output."""
        self._cancel_requested = True
        if self._scope is not None:
            self._scope.cancel()

    async def _emit(self, event: str) -> None:
        if self.listener is not None:
            with anyio.CancelScope(shield=True):
                await self.listener(event, self.state)

    async def run(self) -> ExecutionState:
        """Run attempts until one succeeds, retries run out, or the execution is cancelled."""
        state = self.state
        job = self.plan.job
        ids = {
            "job_id": state.job_id,
            "job_name": state.job_name,
            "execution_id": state.execution_id,
            "environment": state.environment,
        }
        etl_logging.ensure_configured()
        file_sink = None
        file_problem = None
        if job.file_logging and self.options.log_dir is not None:
            try:
                file_sink = etl_logging.open_execution_log(self.options.log_dir, job.name, state.execution_id)
            except OSError as exc:
                # the data matters more than its log file: run anyway, and say so in the log that does work
                file_problem = f"{type(exc).__name__}: {exc}"
        try:
            with structlog.contextvars.bound_contextvars(**ids):
                state.status = RUNNING
                state.started_at = time.time()
                if file_problem is not None:
                    log.warning("execution_log_unavailable", log_dir=str(self.options.log_dir), error=file_problem)
                with structlog.contextvars.bound_contextvars(attempt=1):
                    log.info("execution_started", strategy=job.strategy_type, max_attempts=state.max_attempts)
                await self._emit("execution_started")
                with anyio.CancelScope() as scope:
                    self._scope = scope
                    if self._cancel_requested:
                        scope.cancel()
                    await self._attempts()
                self._scope = None
                if self._cancel_requested and state.status != SUCCESS:
                    state.status = CANCELLED
                    state.error = "cancelled on request"
                    if state.current is not None and state.current.status == RUNNING:
                        state.current.status = CANCELLED
                state.finished_at = time.time()
                with structlog.contextvars.bound_contextvars(attempt=len(state.attempts)):
                    log.info(
                        "execution_finished",
                        status=state.status,
                        attempts=len(state.attempts),
                        duration_s=round(state.duration_s, 3),
                        error=state.error,
                        **state.totals(),
                    )
                await self._emit("execution_finished")
        finally:
            if file_sink is not None:
                etl_logging.close_execution_log(state.execution_id)
        return state

    async def _attempts(self) -> None:
        state = self.state
        for number in range(1, state.max_attempts + 1):
            attempt, root = await self._run_attempt(number)
            if attempt.status == SUCCESS:
                state.status = SUCCESS
                state.error = None
                return
            state.status = attempt.status
            state.error = attempt.error
            if attempt.status == CANCELLED or number == state.max_attempts or not _retryable(root):
                return
            delay = min(self.options.retry_backoff_max_s, self.options.retry_backoff_s * 2 ** (number - 1))
            delay *= random.uniform(0.5, 1.0)
            log.warning("attempt_retry_scheduled", attempt=number, retry_in_s=round(delay, 3))
            state.status = RUNNING
            await anyio.sleep(delay)

    async def _run_attempt(self, number: int) -> tuple[AttemptState, BaseException | None]:
        plan = self.plan
        attempt = AttemptState(number=number)
        attempt.components = {n.name: ComponentMetrics(n.name, n.comp_type) for n in plan.nodes.values()}
        self.state.attempts.append(attempt)
        failures: list[tuple[str, BaseException]] = []
        with structlog.contextvars.bound_contextvars(attempt=number):
            attempt.status = RUNNING
            attempt.started_at = time.time()
            log.info("attempt_started")
            await self._emit("attempt_started")
            runner = strategy_runner(plan.job.strategy_type)
            try:
                contexts = self._wire(attempt) if runner is None else {}
            except Exception as exc:  # noqa: BLE001 - e.g. an unresolved ${...} reference fails the attempt
                failures.append(("<executor>", exc))
                contexts = {}
            cancelled = anyio.get_cancelled_exc_class()
            try:
                if runner is not None:
                    await runner(self, attempt, failures)
                elif contexts:
                    await self._run_tasks(contexts, failures)
            except cancelled:
                self._finish_attempt(attempt, failures)
                await self._emit("attempt_finished")
                raise
            except Exception as exc:  # noqa: BLE001 - a component failure; the root cause is in `failures`
                if not failures:
                    failures.append(("<executor>", exc))
            root = self._finish_attempt(attempt, failures)
            await self._emit("attempt_finished")
        return attempt, root

    async def _run_tasks(
        self, contexts: dict[str, ComponentContext[Any]], failures: list[tuple[str, BaseException]]
    ) -> None:
        barrier = _CommitBarrier(list(contexts))
        for ctx in contexts.values():
            ctx.commit_barrier = partial(barrier.wait, ctx.name)
        async with anyio.create_task_group() as tg:
            for node in self.plan.nodes.values():
                tg.start_soon(self._run_component, node, contexts[node.name], barrier, failures)

    def _finish_attempt(self, attempt: AttemptState, failures: list[tuple[str, BaseException]]) -> BaseException | None:
        root = self._settle(attempt, failures)
        attempt.finished_at = time.time()
        if attempt.status == FAILED:
            log.error(
                "attempt_failed",
                failed_component=attempt.failed_component,
                error=attempt.error,
                cancelled_components=attempt.cancelled_components,
            )
        else:
            log.info("attempt_finished", status=attempt.status)
        return root

    def _settle(self, attempt: AttemptState, failures: list[tuple[str, BaseException]]) -> BaseException | None:
        real = [(n, e) for n, e in failures if not isinstance(e, _CONSEQUENCES)]
        chosen = real[0] if real else (failures[0] if failures else None)
        if chosen is None:
            if self._cancel_requested or any(m.status == CANCELLED for m in attempt.components.values()):
                attempt.status = CANCELLED
                attempt.error = "cancelled on request"
            else:
                attempt.status = SUCCESS
            attempt.cancelled_components = [n for n, m in attempt.components.items() if m.status == CANCELLED]
            return None
        name, exc = chosen
        attempt.status = FAILED
        attempt.failed_component = name if name in attempt.components else None
        attempt.error = _describe(name, exc) if name in attempt.components else str(exc)
        attempt.cancelled_components = [n for n, m in attempt.components.items() if m.status == CANCELLED]
        return exc

    def _wire(self, attempt: AttemptState) -> dict[str, ComponentContext[Any]]:
        """Fresh streams and contexts for one attempt."""
        plan = self.plan
        opts = self.options
        capacity = max(1, opts.edge_capacity)
        receivers = {}
        senders: dict[tuple[str, str], MemoryObjectSendStream[AnyBatch]] = {}
        for node in plan.nodes.values():
            for port in node.inputs:
                send, recv = new_stream(capacity)
                senders[(node.name, port)] = send
                receivers[(node.name, port)] = recv
        out_streams: dict[tuple[str, str], list[MemoryObjectSendStream[AnyBatch]]] = {
            (n.name, p): [] for n in plan.nodes.values() for p in n.outputs
        }
        for edge in plan.edges:
            out_streams[(edge.src, edge.out_port)].append(senders[(edge.dst, edge.in_port)].clone())
        for send in senders.values():
            send.close()
        resolve = partial(resolve_data_path, data_dir=opts.data_dir, allowed_roots=opts.allowed_roots)
        contexts: dict[str, ComponentContext[Any]] = {}
        columnar = plan.columnar_ports if opts.columnar else frozenset()
        for node in plan.nodes.values():
            metrics = attempt.components[node.name]
            options = node.options
            if opts.resolve_options is not None:
                options = opts.resolve_options(node, self.state.environment)
            contexts[node.name] = ComponentContext(
                name=node.name,
                comp_type=node.comp_type,
                options=options,
                inputs={p: InPort(p, receivers[(node.name, p)], metrics) for p in node.inputs},
                outputs={
                    p: OutPort(p, out_streams[(node.name, p)], metrics, columnar=(node.name, p) in columnar)
                    for p in node.outputs
                },
                metrics=metrics,
                log=structlog.get_logger("etl_core.component"),
                strategy=plan.job.strategy_type,
                attempt=attempt.number,
                batch_size=opts.batch_size,
                batch_bytes=opts.batch_bytes,
                in_schemas=node.in_schemas,
                out_schemas=node.out_schemas,
                resolve_path=_checked(resolve, node.name),
                resources=opts.resources,
            )
        return contexts

    async def _run_component(
        self,
        node: PlanNode,
        ctx: ComponentContext[Any],
        barrier: _CommitBarrier,
        failures: list[tuple[str, BaseException]],
    ) -> None:
        metrics = ctx.metrics
        with structlog.contextvars.bound_contextvars(component=node.name, comp_type=node.comp_type):
            metrics.start()
            try:
                await node.spec.run(ctx)
            except anyio.get_cancelled_exc_class():
                metrics.finish(CANCELLED)
                log.info("component_cancelled", status=CANCELLED, **_counters(metrics))
                raise
            except BaseException as exc:
                message = _describe(node.name, exc)
                failures.append((node.name, exc))
                if isinstance(exc, _CONSEQUENCES):
                    metrics.finish(CANCELLED, error=message)
                else:
                    metrics.finish(FAILED, error=message)
                    log.error("component_failed", error=message, **_counters(metrics))
                raise
            else:
                # only a component that succeeded counts towards the commit point: a failure never releases it
                barrier.arrive(node.name)
                metrics.finish(SUCCESS)
                log.info("component_finished", status=SUCCESS, **_counters(metrics))
            finally:
                for inbox in ctx.inputs.values():
                    await _close_quietly(inbox.aclose)
                for outbox in ctx.outputs.values():
                    await _close_quietly(outbox.aclose)


async def _close_quietly(close: Callable[[], Awaitable[None]]) -> None:
    with anyio.CancelScope(shield=True):
        await close()


def _checked(resolve: Callable[[str], Path], name: str) -> Callable[[str], Path]:
    def resolve_path(value: str) -> Path:
        try:
            return resolve(value)
        except PathNotAllowed as exc:
            raise PermanentComponentError(str(exc), component=name, stage="open") from None

    return resolve_path


def _counters(m: ComponentMetrics) -> dict[str, Any]:
    return {
        "records_in": m.records_in,
        "records_out": m.records_out,
        "dismissed": m.dismissed,
        "record_errors": m.errors,
        "batches_in": m.batches_in,
        "batches_out": m.batches_out,
        "duration_s": round(m.elapsed_s, 4),
        "bytes_read": m.bytes_read,
        "bytes_written": m.bytes_written,
        "blocked_send_s": round(m.blocked_send_s, 4),
        "wait_receive_s": round(m.wait_receive_s, 4),
        "rows_per_second": round(m.rows_per_second, 1),
    }
