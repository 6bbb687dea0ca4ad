"""One attempt of a bigdata plan, driven from the executor (its strategy hook for `strategy_type: "bigdata"`).

    resolve options ─> connect Ray ─> layout (segments, driver components) ─> source partitions
    one task group:
      segment schedulers ──Ray task per partition──> collectors: headers read, payload refs kept
          shuffle chunks ──> per (join/aggregation, port, bucket), in input order ──> next segment's partitions
          driver batches ──> per (exit, partition) ──> feeders, in partition order ──> driver components
      driver components (the executor's own `_run_component`: metrics, logs, commit point as a local run)
      publishers: the staged part files of directory writers, once the commit point is reached
      commit barrier: every driver component, every publisher, and "<ray>" (every segment done)
    finally: cancel Ray tasks still running, discard staged parts that were not published

Executions, attempts, metrics and lifecycle events keep the local shape: a Ray component is RUNNING from the
start of the attempt and finishes (with its counters summed over its partitions) when its last partition, its
feeders to the driver and its publishing are done; a failing partition fails the component it names, cancels
the rest of the attempt, and the executor's retries start a fresh attempt.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from etl_core.components.base import Batch
from etl_core.errors import ComponentError
from etl_core.graph.plan import PlanEdge
from etl_core.observability.metrics import CANCELLED, FAILED, RUNNING, SUCCESS, ComponentMetrics
from etl_core.runtime.bigdata.builder import TaskBuilder
from etl_core.runtime.bigdata.cluster import connect
from etl_core.runtime.bigdata.driver import driver_node, wire_driver
from etl_core.runtime.bigdata.hashing import group_sort_key
from etl_core.runtime.bigdata.layout import Layout, Segment, build_layout
from etl_core.runtime.bigdata.outputs import discard, part_format, publish, staging_dir
from etl_core.runtime.bigdata.partitions import FilePart
from etl_core.runtime.bigdata.prepare import Refused, directory_targets, source_partitions
from etl_core.runtime.bigdata.segment import TaskReport
from etl_core.runtime.bigdata.tasks import remote_partition
from etl_core.runtime.bigdata.validation import Role

# the executor's own pieces, so that Ray components finish, fail and log exactly as local ones
from etl_core.runtime.executor import _CommitBarrier, _counters, _describe

if TYPE_CHECKING:
    from etl_core.runtime.executor import JobExecutor
    from etl_core.runtime.state import AttemptState

log = structlog.get_logger("etl_core.runtime")
component_log = structlog.get_logger("etl_core.component")

RAY_DONE = "<ray>"
STOP_WAIT_S = 10.0

Failures = list[tuple[str, BaseException]]
RefQueue = tuple[MemoryObjectSendStream[Any], MemoryObjectReceiveStream[Any]]


async def run_attempt(executor: JobExecutor, attempt: AttemptState, failures: Failures) -> None:
    """Run one attempt of `executor.plan` on Ray; failures go to `failures` (and raise, as a task group does)."""
    await _Attempt(executor, attempt, failures).run()


@dataclass(slots=True)
class _Partition:
    source: FilePart | None = None
    feeds: dict[str, list[Any]] = field(default_factory=dict)


class _SegmentRun:
    """A segment during the attempt: its partitions, the driver-bound refs per (exit, partition), progress."""

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        self.driver_exits = [x.id for x in segment.exits if x.kind == "driver"]
        self.partitions: list[_Partition] = []
        self.queues: dict[tuple[int, int], RefQueue] = {}
        self.known = anyio.Event()
        self.done = anyio.Event()
        self.drained: list[anyio.Event] = []
        self._left: list[int] = []

    def start(self, partitions: list[_Partition]) -> None:
        self.partitions = partitions
        for p in range(len(partitions)):
            for exit_id in self.driver_exits:
                self.queues[(exit_id, p)] = anyio.create_memory_object_stream[Any](math.inf)
        self.drained = [anyio.Event() for _ in partitions]
        self._left = [len(self.driver_exits)] * len(partitions)
        self.known.set()

    def drained_one(self, p: int) -> None:
        """One driver feeder has taken everything partition `p` sent it."""
        self._left[p] -= 1
        if self._left[p] <= 0:
            self.drained[p].set()


class _Attempt:
    def __init__(self, executor: JobExecutor, attempt: AttemptState, failures: Failures) -> None:
        self.executor = executor
        self.plan = executor.plan
        self.opts = executor.options
        self.attempt = attempt
        self.failures = failures
        self.metrics = attempt.components
        self.token = f"{executor.state.execution_id[:12]}-{attempt.number}"
        self.resources = self.opts.resources
        self.options: dict[str, Any] = {}
        self.layout: Layout | None = None
        self.runs: list[_SegmentRun] = []
        self.targets: dict[str, Path] = {}
        self.staging: dict[str, Path] = {}
        self.published: set[str] = set()
        self.running: dict[int, Any] = {}
        self.pending: dict[str, int] = {}
        self.chunks: dict[str, dict[str, dict[int, list[tuple[int, int, int, Any]]]]] = {}
        self.cpus = 1
        self.slots = anyio.Semaphore(1)
        self.builder: TaskBuilder | None = None

    # -- the attempt --------------------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            asyncio.get_running_loop()  # Ray's object references are awaited as asyncio futures
        except RuntimeError:
            self.failures.append(("<executor>", RuntimeError("strategy bigdata needs the asyncio event loop")))
            return
        try:
            self.options = self._resolve_options()
        except Exception as exc:  # noqa: BLE001 - e.g. an unresolved ${...} reference fails the attempt
            self.failures.append(("<executor>", exc))
            return
        ok = False
        try:
            address = getattr(self.opts, "ray_address", None)
            try:
                info = await anyio.to_thread.run_sync(connect, address, abandon_on_cancel=True)
            except Exception as exc:  # noqa: BLE001 - no Ray, no attempt: said as the attempt's error
                self.failures.append(("<executor>", exc))
                return
            self.cpus = info.cpus
            opts = self.opts
            try:
                self.targets = await anyio.to_thread.run_sync(
                    directory_targets, self.plan, self.options, opts.data_dir, opts.allowed_roots
                )
                layout = self.layout = build_layout(self.plan, set(self.targets), self.options)
                found = await anyio.to_thread.run_sync(
                    partial(
                        source_partitions,
                        self.plan,
                        layout,
                        self.options,
                        opts.data_dir,
                        opts.allowed_roots,
                        cpus=self.cpus,
                        part_bytes=self.resources.get("bigdata_partition_bytes"),
                    )
                )
                sources = {i: [_Partition(source=part) for part in parts] for i, parts in found.items()}
            except Refused as exc:
                self._fail_quietly(exc.component, exc.error)
                return
            log.info(
                "bigdata_attempt_started",
                ray_address=info.address or "local",
                cpus=info.cpus,
                segments=len(layout.segments),
                driver_components=layout.driver,
            )
            await self._run(layout, sources)
            ok = True
        finally:
            with anyio.CancelScope(shield=True):
                await self._stop(ok)

    async def _run(self, layout: Layout, sources: dict[int, list[_Partition]]) -> None:
        self.staging = {n: staging_dir(self.targets[n], self.token) for n in layout.ray_writers | layout.driver_writers}
        for name in layout.ray_writers:  # partitions write into it only while it exists (see outputs.py)
            await anyio.to_thread.run_sync(partial(self.staging[name].mkdir, parents=True, exist_ok=True))
        self.runs = [_SegmentRun(s) for s in layout.segments]
        self.builder = TaskBuilder(
            self.plan,
            layout,
            self.options,
            self.opts,
            attempt=self.attempt.number,
            staging=self.staging,
            shuffle_partitions=self._shuffle_partitions(),
        )
        ray_nodes = {n for s in layout.segments for n in s.nodes}
        for name in ray_nodes:
            self.pending[name] = len(layout.segments_of(name)) + (name in layout.ray_writers)
            self.metrics[name].start()
        driver = set(layout.driver)
        for edge in self.plan.edges:
            if edge.src in ray_nodes and edge.dst in driver:
                self.pending[edge.src] += 1
        publishers = [f"publish:{n}" for n in sorted(layout.ray_writers)]
        barrier = _CommitBarrier([*layout.driver, *publishers, RAY_DONE])
        contexts, feeds = wire_driver(
            self.plan, layout, self.options, self.opts, self.metrics, self.attempt.number, barrier
        )
        self.slots = anyio.Semaphore(self._max_inflight())
        async with anyio.create_task_group() as tg:
            for name in layout.driver:
                node = driver_node(self.plan.nodes[name], layout, self.staging, self.targets)
                tg.start_soon(self.executor._run_component, node, contexts[name], barrier, self.failures)
            for edge_id, send in feeds.items():
                tg.start_soon(self._feed, edge_id, send)
            for run in self.runs:
                tg.start_soon(self._schedule, run, sources.get(run.segment.index, []))
            for name in sorted(layout.ray_writers):
                tg.start_soon(self._publish, name, barrier)
            tg.start_soon(self._all_done, barrier)

    async def _stop(self, ok: bool) -> None:
        """Cancel what still runs on Ray, wait for it a moment, and drop every unpublished staged part."""
        gens = list(self.running.values())
        if gens:
            import ray

            for gen in gens:
                try:
                    ray.cancel(gen)
                except Exception:  # noqa: BLE001 - a task that already ended cannot be cancelled
                    continue
            with anyio.move_on_after(STOP_WAIT_S):
                for gen in gens:
                    try:
                        async for _ in gen:
                            pass
                    except Exception:  # noqa: BLE001 - the cancellation itself, or the task's failure
                        continue
        for name, staging in self.staging.items():
            if name not in self.published:
                await anyio.to_thread.run_sync(discard, staging)
        if not ok:
            for m in self.metrics.values():
                if m.status == RUNNING:  # as locally: what never started stays PENDING
                    m.finish(CANCELLED)

    async def _all_done(self, barrier: _CommitBarrier) -> None:
        for run in self.runs:
            await run.done.wait()
        barrier.arrive(RAY_DONE)

    # -- segments and partitions --------------------------------------------------------------------------------
    async def _schedule(self, run: _SegmentRun, sources: list[_Partition]) -> None:
        segment = run.segment
        for index in sorted(segment.upstream):
            await self.runs[index].done.wait()
        assert self.layout is not None
        partitions = sources if self.layout.roles[segment.head] is Role.SOURCE else self._bucketed(segment)
        run.start(partitions)
        started = time.monotonic()
        window = self._max_inflight()
        async with anyio.create_task_group() as tg:
            for p in range(len(partitions)):
                if run.driver_exits and p >= window:
                    await run.drained[p - window].wait()
                await self.slots.acquire()
                tg.start_soon(self._run_partition, run, p)
        run.done.set()
        log.info(
            "bigdata_segment_finished",
            head=segment.head,
            components=segment.nodes,
            partitions=len(partitions),
            duration_s=round(time.monotonic() - started, 3),
        )
        for name in segment.nodes:
            self._step(name)

    def _bucketed(self, segment: Segment) -> list[_Partition]:
        """A join or aggregation's partitions: one per non-empty bucket (a global aggregation always has one)."""
        head = self.plan.nodes[segment.head]
        store = self.chunks.pop(head.name, {})  # the partitions hold the references from now on
        assert self.builder is not None
        count = self.builder.buckets[head.name]
        partitions: list[_Partition] = []
        for bucket in range(count):
            feeds: dict[str, list[Any]] = {}
            for port in head.inputs:
                chunks = sorted(store.get(port, {}).get(bucket, []), key=lambda c: (c[0], c[1], c[2]))
                if chunks:
                    feeds[port] = [c[3] for c in chunks]
            if feeds or count == 1:
                partitions.append(_Partition(feeds=feeds))
        return partitions

    async def _run_partition(self, run: _SegmentRun, p: int) -> None:
        segment = run.segment
        try:
            part = run.partitions[p]
            assert self.builder is not None
            task = self.builder.task(segment, p, part.source, part.feeds)
            gen = remote_partition().options(name=f"etl:{segment.head}:{p}").remote(task)
            self.running[id(gen)] = gen
            report: TaskReport | None = None
            seen: dict[str, ComponentMetrics] = {}
            seq = 0
            try:
                async for ref in gen:
                    header = await ref
                    if header[0] == "progress":
                        self._progress(seen, header[1])
                        continue
                    if header[0] == "done":
                        report = header[1]
                        continue
                    payload = await gen.__anext__()
                    if header[0] == "out":
                        run.queues[(header[1], p)][0].send_nowait(payload)
                    else:
                        self._chunk(header[1], header[2], (segment.index, p, seq), payload)
                        seq += 1
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:  # noqa: BLE001 - a worker lost, a task Ray could not run
                lost = ComponentError(f"partition {p} failed on Ray: {exc}", component=segment.head, stage="run")
                self._fail(segment.head, lost)
            finally:
                self.running.pop(id(gen), None)
                for exit_id in run.driver_exits:
                    run.queues[(exit_id, p)][0].close()
            if report is None:
                self._fail(segment.head, ComponentError(f"partition {p} ended without a report", stage="run"))
            self._progress(seen, report.metrics)
            self._replay(report, p)
            if report.failure is not None:
                self._fail(*report.failure)
            run.partitions[p] = _Partition()  # its shuffled input may go from the object store now
        finally:
            self.slots.release()

    def _chunk(self, exit_id: int, bucket: int, order: tuple[int, int, int], ref: Any) -> None:
        edge = self.plan.edges[exit_id]
        by_port = self.chunks.setdefault(edge.dst, {}).setdefault(edge.in_port, {})
        by_port.setdefault(bucket, []).append((*order, ref))

    def _progress(self, seen: dict[str, ComponentMetrics], now: dict[str, ComponentMetrics]) -> None:
        """Add what a partition counted since its last report (`seen` holds what was added before)."""
        for name, m in now.items():
            total = self.metrics[name]
            before = seen.get(name) or ComponentMetrics(name, m.comp_type)
            for port, n in m.received.items():
                total.received[port] = total.received.get(port, 0) + n - before.received.get(port, 0)
            for port, n in m.sent.items():
                total.sent[port] = total.sent.get(port, 0) + n - before.sent.get(port, 0)
            total.dismissed += m.dismissed - before.dismissed
            total.errors += m.errors - before.errors
            total.batches_in += m.batches_in - before.batches_in
            total.batches_out += m.batches_out - before.batches_out
            total.bytes_read += m.bytes_read - before.bytes_read
            total.bytes_written += m.bytes_written - before.bytes_written
            seen[name] = m

    def _replay(self, report: TaskReport, p: int) -> None:
        """Log what the partition's components logged, with the run's context and the component bound."""
        for event in report.logs:
            with structlog.contextvars.bound_contextvars(component=event.component, comp_type=event.comp_type):
                getattr(component_log, event.level)(event.event, partition=p, **event.fields)

    # -- driver side ------------------------------------------------------------------------------------------
    async def _feed(self, edge_id: int, send: MemoryObjectSendStream[Batch]) -> None:
        """Hand a driver exit's batches to its driver component: partition order, or key order for groups."""
        assert self.layout is not None
        edge = self.plan.edges[edge_id]
        runs = [r for r in self.runs if edge.src in r.segment.nodes]
        async with send:
            if self.layout.roles[edge.src] is Role.AGGREGATE and edge.out_port == "out":
                await self._feed_groups(edge_id, edge, runs, send)
            else:
                broken = False
                for run in runs:
                    await run.known.wait()
                    for p in range(len(run.partitions)):
                        _, recv = run.queues[(edge_id, p)]
                        async with recv:
                            async for ref in recv:
                                if broken:
                                    continue
                                batch = await ref
                                try:
                                    await send.send(batch)
                                except anyio.BrokenResourceError:
                                    broken = True  # the component stopped reading: what is left is dropped
                        run.drained_one(p)
        self._step(edge.src)

    async def _feed_groups(
        self, edge_id: int, edge: PlanEdge, runs: list[_SegmentRun], send: MemoryObjectSendStream[Batch]
    ) -> None:
        """An aggregation's groups, merged from its sorted buckets into the local order (group values, nulls last)."""
        sorted_runs: list[Batch] = []
        for run in runs:
            await run.known.wait()
            for p in range(len(run.partitions)):
                records: Batch = []
                _, recv = run.queues[(edge_id, p)]
                async with recv:
                    async for ref in recv:
                        records.extend(await ref)
                sorted_runs.append(records)
                run.drained_one(p)
        key = group_sort_key(self.options[edge.src].group_by)
        merged: Batch = await anyio.to_thread.run_sync(lambda: list(heapq.merge(*sorted_runs, key=key)))
        size = max(1, self.opts.batch_size)
        try:
            for start in range(0, len(merged), size):
                await send.send(merged[start : start + size])
        except anyio.BrokenResourceError:
            return

    async def _publish(self, name: str, barrier: _CommitBarrier) -> None:
        node = self.plan.nodes[name]
        options = self.options[name]
        target, staging = self.targets[name], self.staging[name]
        append = getattr(options, "mode", "overwrite") == "append"
        await barrier.wait(f"publish:{name}")
        try:
            fmt = part_format(node.comp_type, options, node.in_schemas.get("in"))
            await anyio.to_thread.run_sync(lambda: publish(staging, target, fmt, append=append))
        except Exception as exc:  # noqa: BLE001 - the writer fails at its commit, as a local writer would
            error = ComponentError(
                f"cannot publish the parts of {str(target)!r}: {exc}", component=name, stage="commit"
            )
            self._fail(name, error)
        self.published.add(name)
        self._step(name)

    # -- completion and failure ---------------------------------------------------------------------------------
    def _step(self, name: str) -> None:
        """One of a Ray component's duties is done (a segment, a feeder, publishing); the last finishes it."""
        self.pending[name] -= 1
        if self.pending[name] > 0:
            return
        m = self.metrics[name]
        if m.status != RUNNING:
            return
        m.finish(SUCCESS)
        with structlog.contextvars.bound_contextvars(component=name, comp_type=m.comp_type):
            log.info("component_finished", status=SUCCESS, **_counters(m))

    def _fail_quietly(self, name: str, exc: BaseException) -> None:
        """Record a component's failure (metrics, event) before anything runs."""
        self.failures.append((name, exc))
        m = self.metrics.get(name)
        if m is None:
            return
        message = _describe(name, exc)
        with structlog.contextvars.bound_contextvars(component=name, comp_type=m.comp_type):
            m.finish(FAILED, error=message)
            log.error("component_failed", error=message, **_counters(m))

    def _fail(self, name: str, exc: BaseException) -> NoReturn:
        """A Ray component failed: record it and stop the attempt (raising cancels the task group)."""
        if name not in self.metrics:
            self.failures.append(("<executor>", exc))
        else:
            self._fail_quietly(name, exc)
        raise exc

    # -- building blocks ----------------------------------------------------------------------------------------
    def _resolve_options(self) -> dict[str, Any]:
        resolver = self.opts.resolve_options
        env = self.executor.state.environment
        return {n.name: (resolver(n, env) if resolver is not None else n.options) for n in self.plan.nodes.values()}

    def _shuffle_partitions(self) -> int:
        return int(self.resources.get("bigdata_shuffle_partitions") or max(2, 2 * self.cpus))

    def _max_inflight(self) -> int:
        return int(self.resources.get("bigdata_max_inflight") or max(2, 2 * self.cpus))
