"""One partition of a segment: the segment's components, run by their own coroutines over that partition.

Inside a Ray task this is the local runtime in miniature: a bounded stream per input port, one task per
component, the same `InPort`/`OutPort` edges (broadcast, merge, per-batch metrics), the same contexts. Only
the ends differ:

- the head reads its partition: a source its file or byte range, a join or aggregation its hash bucket
  (chunks fetched from the object store in input order, so `first`/`last`/`list` see the input order);
- an exit is drained: to the driver as ("out", exit id) + batch, or cut into buckets and emitted as
  ("chunk", exit id, bucket) + records whenever a bucket holds a batch's worth;
- every second the counters so far go to the driver as ("progress", counters), for live metrics;
- a directory writer writes its partition's part file into the attempt's staging directory.

What comes back is a `TaskReport`: every component's counters, the events they logged (replayed by the
driver with the run's context), and the failure that stopped the partition, if any. No Ray import here: the
caller passes `emit` (to the driver) and `fetch` (a chunk from the object store), so tests run it in-process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from etl_core.components.base import AnyBatch, Batch, ComponentContext
from etl_core.components.columns import as_records
from etl_core.components.registry import REGISTRY
from etl_core.components.support.files import PathNotAllowed, resolve_data_path
from etl_core.config.schema import Schema
from etl_core.errors import ComponentError, PermanentComponentError
from etl_core.observability.metrics import ComponentMetrics
from etl_core.runtime.bigdata.hashing import ShuffleKey
from etl_core.runtime.bigdata.outputs import write_partition_part
from etl_core.runtime.bigdata.partitions import FilePart
from etl_core.runtime.bigdata.ranges import read_csv_range, read_json_lines_range
from etl_core.runtime.edges import InPort, OutPort, new_stream

Emit = Callable[[Any], Awaitable[None]]
Fetch = Callable[[Any], Batch]
Run = Callable[[ComponentContext[Any]], Awaitable[None]]

_CONSEQUENCES = (anyio.BrokenResourceError, anyio.ClosedResourceError)
_LOG_LIMIT = 200
PROGRESS_S = 1.0


@dataclass(frozen=True, slots=True)
class TaskNode:
    """A component as a partition task runs it: its resolved options, ports and schemas."""

    name: str
    comp_type: str
    options: Any
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    in_schemas: dict[str, Schema]
    out_schemas: dict[str, Schema]


@dataclass(frozen=True, slots=True)
class TaskExit:
    """An edge leaving the segment: to the driver (`shuffle` None) or into the buckets of a join/aggregation."""

    id: int
    src: str
    port: str
    shuffle: ShuffleKey | None = None


@dataclass(frozen=True, slots=True)
class TaskEnv:
    """What every component context of the task gets from the run."""

    data_dir: Path
    allowed_roots: tuple[Path, ...]
    batch_size: int
    edge_capacity: int
    attempt: int
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PartitionTask:
    """One partition of one segment. `part_index` numbers its part files among all partitions of the run."""

    segment: int
    partition: int
    part_index: int
    head: str
    nodes: tuple[TaskNode, ...]
    edges: tuple[tuple[str, str, str, str], ...]
    exits: tuple[TaskExit, ...]
    env: TaskEnv
    source: FilePart | None = None
    feeds: dict[str, list[Any]] = field(default_factory=dict)
    staging: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogEvent:
    component: str
    comp_type: str
    level: str
    event: str
    fields: dict[str, Any]


@dataclass(slots=True)
class TaskReport:
    """What one partition did: counters per component, logged events, and the failure that stopped it."""

    metrics: dict[str, ComponentMetrics]
    logs: list[LogEvent] = field(default_factory=list)
    failure: tuple[str, BaseException] | None = None


class _Log:
    """A component logger that keeps events for the driver to log (a Ray worker has no run context)."""

    def __init__(self, node: TaskNode, events: list[LogEvent]) -> None:
        self._node = node
        self._events = events

    def _keep(self, level: str, event: str, kw: dict[str, Any]) -> None:
        if len(self._events) < _LOG_LIMIT:
            self._events.append(LogEvent(self._node.name, self._node.comp_type, level, event, kw))

    def debug(self, event: str, **kw: Any) -> None:
        self._keep("debug", event, kw)

    def info(self, event: str, **kw: Any) -> None:
        self._keep("info", event, kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._keep("warning", event, kw)

    def error(self, event: str, **kw: Any) -> None:
        self._keep("error", event, kw)


def _resolver(env: TaskEnv, name: str) -> Callable[[str], Path]:
    def resolve_path(value: str) -> Path:
        try:
            return resolve_data_path(value, env.data_dir, env.allowed_roots)
        except PathNotAllowed as exc:
            raise PermanentComponentError(str(exc), component=name, stage="open") from None

    return resolve_path


def _runner(task: PartitionTask, node: TaskNode) -> tuple[Run, Any]:
    """The coroutine that runs `node` in this partition, and the options it runs with."""
    staging = task.staging.get(node.name)
    if staging is not None:
        return partial(write_partition_part, staging=Path(staging), index=task.part_index), node.options
    spec = REGISTRY.get(node.comp_type)
    if spec is None:
        raise PermanentComponentError(f"unknown component type {node.comp_type!r} on this Ray worker", stage="open")
    part = task.source
    if node.name != task.head or part is None:
        return spec.run, node.options
    if part.whole:  # the source itself, on one file of its directory or glob
        return spec.run, node.options.model_copy(update={"filepath": part.path})
    if node.comp_type == "read_csv":
        return partial(read_csv_range, part=part), node.options
    return partial(read_json_lines_range, part=part), node.options


async def run_partition(task: PartitionTask, emit: Emit, fetch: Fetch) -> TaskReport:
    """Run the segment over one partition; failures are reported, not raised."""
    import etl_core.components  # noqa: F401 - registers the built-in types in this worker

    env = task.env
    capacity = max(1, env.edge_capacity)
    senders: dict[tuple[str, str], MemoryObjectSendStream[AnyBatch]] = {}
    receivers: dict[tuple[str, str], MemoryObjectReceiveStream[AnyBatch]] = {}
    for node in task.nodes:
        for port in node.inputs:
            senders[(node.name, port)], receivers[(node.name, port)] = new_stream(capacity)
    outs: dict[tuple[str, str], list[MemoryObjectSendStream[AnyBatch]]] = {
        (n.name, p): [] for n in task.nodes for p in n.outputs
    }
    for src, port, dst, in_port in task.edges:
        outs[(src, port)].append(senders[(dst, in_port)].clone())
    exits: list[tuple[TaskExit, MemoryObjectReceiveStream[AnyBatch]]] = []
    for exit_ in task.exits:
        send, recv = new_stream(capacity)
        outs[(exit_.src, exit_.port)].append(send)
        exits.append((exit_, recv))
    feeds = [(refs, senders[(task.head, port)].clone()) for port, refs in task.feeds.items()]
    for send in senders.values():
        send.close()

    report = TaskReport(metrics={n.name: ComponentMetrics(n.name, n.comp_type) for n in task.nodes})
    failures: list[tuple[str, BaseException]] = []
    contexts: list[tuple[TaskNode, ComponentContext[Any], Run]] = []
    for node in task.nodes:
        metrics = report.metrics[node.name]
        try:
            run, options = _runner(task, node)
        except Exception as exc:  # noqa: BLE001 - reported like a failure of the component
            failures.append((node.name, exc))
            break
        ctx: ComponentContext[Any] = ComponentContext(
            name=node.name,
            comp_type=node.comp_type,
            options=options,
            inputs={p: InPort(p, receivers[(node.name, p)], metrics) for p in node.inputs},
            outputs={p: OutPort(p, outs[(node.name, p)], metrics) for p in node.outputs},
            metrics=metrics,
            log=_Log(node, report.logs),
            strategy="bigdata",
            attempt=env.attempt,
            batch_size=env.batch_size,
            in_schemas=node.in_schemas,
            out_schemas=node.out_schemas,
            resolve_path=_resolver(env, node.name),
            resources=dict(env.resources),
        )
        contexts.append((node, ctx, run))
    if not failures:
        async with anyio.create_task_group() as outer:
            outer.start_soon(_progress, report, emit)
            # every failure lands in `failures` (the root is picked below): the task group's error is not needed
            with contextlib.suppress(Exception):
                async with anyio.create_task_group() as tg:
                    for node, ctx, run in contexts:
                        tg.start_soon(_run_node, node.name, ctx, run, failures)
                    for exit_, recv in exits:
                        tg.start_soon(_drain, exit_, recv, emit, env.batch_size, failures)
                    for refs, send in feeds:
                        tg.start_soon(_feed, task.head, refs, send, fetch, failures)
            outer.cancel_scope.cancel()
    real = [f for f in failures if not isinstance(f[1], _CONSEQUENCES)]
    if real or failures:
        report.failure = (real or failures)[0]
    return report


def counters(metrics: dict[str, ComponentMetrics]) -> dict[str, ComponentMetrics]:
    """A copy of the counters (not the timings) of every component: what the driver adds up."""
    return {
        name: ComponentMetrics(
            name,
            m.comp_type,
            received=dict(m.received),
            sent=dict(m.sent),
            dismissed=m.dismissed,
            errors=m.errors,
            batches_in=m.batches_in,
            batches_out=m.batches_out,
            bytes_read=m.bytes_read,
            bytes_written=m.bytes_written,
        )
        for name, m in metrics.items()
    }


async def _progress(report: TaskReport, emit: Emit) -> None:
    """The partition's counters so far, now and then, so that the driver's metrics are live."""
    while True:
        await anyio.sleep(PROGRESS_S)
        await emit(("progress", counters(report.metrics)))


async def _close(ctx: ComponentContext[Any]) -> None:
    with anyio.CancelScope(shield=True):
        for inbox in ctx.inputs.values():
            await inbox.aclose()
        for outbox in ctx.outputs.values():
            await outbox.aclose()


async def _run_node(name: str, ctx: ComponentContext[Any], run: Run, failures: list[tuple[str, BaseException]]) -> None:
    try:
        await run(ctx)
    except anyio.get_cancelled_exc_class():
        raise
    except BaseException as exc:
        failures.append((name, exc))
        raise
    finally:
        await _close(ctx)


async def _drain(
    exit_: TaskExit,
    recv: MemoryObjectReceiveStream[AnyBatch],
    emit: Emit,
    batch_size: int,
    failures: list[tuple[str, BaseException]],
) -> None:
    try:
        async with recv:
            if exit_.shuffle is None:
                async for batch in recv:
                    await emit(("out", exit_.id))
                    await emit(as_records(batch))
                return
            key = exit_.shuffle
            buffers: dict[int, Batch] = {}
            seen = 0
            async for batch in recv:
                for bucket, records in key.bucketize(as_records(batch), seen):
                    buffer = buffers.setdefault(bucket, [])
                    buffer.extend(records)
                    if len(buffer) >= batch_size:
                        await emit(("chunk", exit_.id, bucket))
                        await emit(buffer)
                        buffers[bucket] = []
                seen += len(batch)
            for bucket in sorted(buffers):
                if buffers[bucket]:
                    await emit(("chunk", exit_.id, bucket))
                    await emit(buffers[bucket])
    except anyio.get_cancelled_exc_class():
        raise
    except BaseException as exc:
        failures.append((exit_.src, exc))
        raise


async def _feed(
    head: str,
    refs: list[Any],
    send: MemoryObjectSendStream[AnyBatch],
    fetch: Fetch,
    failures: list[tuple[str, BaseException]],
) -> None:
    try:
        async with send:
            for ref in refs:
                chunk = await anyio.to_thread.run_sync(fetch, ref)
                await send.send(chunk)
    except anyio.get_cancelled_exc_class():
        raise
    except anyio.BrokenResourceError:
        return  # the head finished without reading everything (it may: a sink that stops early)
    except BaseException as exc:
        failures.append((head, ComponentError(f"cannot fetch a shuffled chunk: {exc}", stage="read")))
        raise
