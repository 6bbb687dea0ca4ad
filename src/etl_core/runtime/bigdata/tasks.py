"""The Ray task that runs one partition: a generator streaming the partition's output to the driver.

The segment runs in an event loop on a thread of the Ray worker; what it emits crosses a small bounded
channel to the task's generator, which yields it to Ray (one object per item, owned by the driver). The
driver reads the small headers and keeps the payload references, so shuffled chunks go from worker to
worker without passing through it. The last item is ("done", TaskReport).

Cancelling the task (`ray.cancel`) interrupts the generator; it closes the channel, which fails the next
emit of the event loop and so stops the segment, and waits a moment for the components to clean up.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Iterator
from functools import partial
from typing import Any

import anyio
import anyio.from_thread

from etl_core.components.base import Batch
from etl_core.errors import ComponentError
from etl_core.observability.metrics import ComponentMetrics
from etl_core.runtime.bigdata.segment import PartitionTask, TaskReport, run_partition
from etl_core.runtime.tuning import tune_gc

_END: Any = object()
_CHANNEL_SIZE = 8
_JOIN_TIMEOUT_S = 30.0


class ChannelClosed(Exception):
    """The consumer of a channel has gone (the task was cancelled)."""


class Channel:
    """A bounded hand-over between the event loop's thread (put) and the generator's thread (get)."""

    def __init__(self, capacity: int) -> None:
        self._items: deque[Any] = deque()
        self._capacity = capacity
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item: Any) -> None:
        with self._cond:
            while len(self._items) >= self._capacity and not self._closed:
                self._cond.wait()
            if self._closed:
                raise ChannelClosed("the partition's consumer has gone")
            self._items.append(item)
            self._cond.notify_all()

    def try_put(self, item: Any) -> bool:
        with self._cond:
            if self._closed:
                raise ChannelClosed("the partition's consumer has gone")
            if len(self._items) >= self._capacity:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    async def aput(self, item: Any) -> None:
        """Put from the event loop: at once when there is room, else from a worker thread."""
        if not self.try_put(item):
            await anyio.to_thread.run_sync(self.put, item, abandon_on_cancel=True)

    def get(self) -> Any:
        with self._cond:
            while not self._items:
                self._cond.wait()
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def _fetch(ref: Any) -> Batch:
    import ray

    chunk: Batch = ray.get(ref)
    return chunk


def partition_generator(task: PartitionTask) -> Iterator[Any]:
    """The body of the Ray task: yields ("out", id), batch, ("chunk", id, bucket), records, ("progress", counters)
    ..., and last ("done", report)."""
    tune_gc()  # a Ray worker running partitions is a process whose job is moving records
    channel = Channel(_CHANNEL_SIZE)
    control: dict[str, Any] = {}

    async def main() -> TaskReport | None:
        async with anyio.from_thread.BlockingPortal() as portal:
            with anyio.CancelScope() as scope:
                control["stop"] = partial(portal.call, scope.cancel)
                return await run_partition(task, channel.aput, _fetch)
        return None  # cancelled: the generator was interrupted and nobody waits for a report

    def loop() -> None:
        try:
            report = anyio.run(main)
        except BaseException as exc:  # noqa: BLE001 - reported to the driver as the partition's failure
            report = _crashed(task, exc)
        if report is None:
            return
        try:
            channel.put(("done", _portable(report)))
            channel.put(_END)
        except ChannelClosed:
            pass

    thread = threading.Thread(target=loop, name=f"etl-partition-{task.partition}", daemon=True)
    thread.start()
    try:
        while True:
            item = channel.get()
            if item is _END:
                return
            yield item
    finally:
        # interrupted (ray.cancel) or done: stop the segment now and let it clean up (staged parts, spill files)
        channel.close()
        _stop(control)
        thread.join(_JOIN_TIMEOUT_S)


def _stop(control: dict[str, Any]) -> None:
    """Cancel the segment from the generator's thread (a no-op when it has finished already)."""
    stop = control.get("stop")
    if stop is not None:
        with contextlib.suppress(Exception):  # the portal is closed: the event loop is done
            stop()


def _crashed(task: PartitionTask, exc: BaseException) -> TaskReport:
    return TaskReport(
        metrics={n.name: ComponentMetrics(n.name, n.comp_type) for n in task.nodes},
        failure=(task.head, ComponentError(f"partition {task.partition} stopped: {exc!r}")),
    )


def _portable(report: TaskReport) -> TaskReport:
    """The report with a failure the driver can unpickle (a ComponentError with its message otherwise)."""
    import pickle

    if report.failure is not None:
        name, exc = report.failure
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - any exception that does not survive the trip is replaced
            report.failure = (name, ComponentError(f"{type(exc).__name__}: {exc}", component=name))
    report.logs = [e for e in report.logs if _picklable(e)]
    return report


def _picklable(value: Any) -> bool:
    import pickle

    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - a log event that cannot travel is dropped
        return False
    return True


_remote: Any = None


def remote_partition() -> Any:
    """The Ray remote function of `partition_generator` (made on first use: Ray is imported lazily)."""
    global _remote
    if _remote is None:
        import ray

        # a lost worker fails the attempt (the executor retries it whole): a half-streamed partition is not
        # retried by Ray itself
        _remote = ray.remote(num_cpus=1, max_retries=0)(partition_generator)
    return _remote
