"""Edges: bounded anyio memory object streams between ports, with broadcast and merge.

- Every input port owns one bounded stream. Each edge into it holds a clone of the send side, so several
  edges into one port merge, and the port's stream ends when every upstream edge has closed.
- An output port holds one send side per edge and hands every batch to each of them (broadcast). A memory
  stream's clones would split items between receivers, so broadcasting is explicit here.
- Counting is per batch: one metrics update and at most one clock read pair per batch and port.
- A batch is a list of records or `Columns`. Iterating a port yields lists of records (a `Columns` batch that
  reaches a port not planned for it is turned into records there); `batches()` yields both, for components
  that work on columns.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from types import TracebackType

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from etl_core.components.base import AnyBatch, Batch
from etl_core.components.columns import as_records
from etl_core.observability.metrics import ComponentMetrics

DEFAULT_CAPACITY = 2


class InPort:
    """The receiving end of one input port."""

    def __init__(self, port: str, stream: MemoryObjectReceiveStream[AnyBatch], metrics: ComponentMetrics) -> None:
        self.port = port
        self._stream = stream
        self._metrics = metrics
        metrics.received.setdefault(port, 0)

    async def __aiter__(self) -> AsyncIterator[Batch]:
        async for batch in self.batches():
            yield as_records(batch)

    async def batches(self) -> AsyncIterator[AnyBatch]:
        stream = self._stream
        metrics = self._metrics
        port = self.port
        while True:
            try:
                batch = stream.receive_nowait()
            except anyio.WouldBlock:
                t0 = metrics.idle_since = time.perf_counter()
                try:
                    batch = await stream.receive()
                except anyio.EndOfStream:
                    return
                finally:
                    metrics.wait_receive_s += time.perf_counter() - t0
                    metrics.idle_since = None
            except anyio.EndOfStream:
                return
            else:
                # a full buffer never yields on its own: keep the loop fair and cancellable
                await anyio.lowlevel.checkpoint()
            metrics.received[port] += len(batch)
            metrics.batches_in += 1
            yield batch

    async def aclose(self) -> None:
        self._stream.close()

    async def __aenter__(self) -> InPort:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stream.close()


class OutPort:
    """The sending end of one output port: broadcasts each batch to every edge."""

    def __init__(
        self,
        port: str,
        streams: list[MemoryObjectSendStream[AnyBatch]],
        metrics: ComponentMetrics,
        *,
        columnar: bool = False,
    ) -> None:
        self.port = port
        self._streams = streams
        self._metrics = metrics
        self._columnar = columnar and bool(streams)
        metrics.sent.setdefault(port, 0)

    @property
    def columnar(self) -> bool:
        return self._columnar

    @property
    def connected(self) -> bool:
        return bool(self._streams)

    async def send(self, batch: AnyBatch) -> None:
        if not batch:
            return
        metrics = self._metrics
        if not self._streams:
            metrics.dismissed += len(batch)
            return
        gone: list[MemoryObjectSendStream[AnyBatch]] = []
        for stream in self._streams:
            try:
                stream.send_nowait(batch)
            except anyio.WouldBlock:
                t0 = metrics.idle_since = time.perf_counter()
                try:
                    await stream.send(batch)
                except anyio.BrokenResourceError:
                    gone.append(stream)
                finally:
                    metrics.blocked_send_s += time.perf_counter() - t0
                    metrics.idle_since = None
            except anyio.BrokenResourceError:
                # the receiver finished early; the other edges still get the data
                gone.append(stream)
        for stream in gone:
            self._streams.remove(stream)
            stream.close()
        metrics.sent[self.port] += len(batch)
        metrics.batches_out += 1

    async def aclose(self) -> None:
        for stream in self._streams:
            stream.close()

    async def __aenter__(self) -> OutPort:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def new_stream(
    capacity: int = DEFAULT_CAPACITY,
) -> tuple[MemoryObjectSendStream[AnyBatch], MemoryObjectReceiveStream[AnyBatch]]:
    return anyio.create_memory_object_stream[AnyBatch](capacity)
