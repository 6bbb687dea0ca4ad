"""What a component sees: its options, its context and its ports.

Contract for every component coroutine `async def run(ctx) -> None`:
- it reads batches (lists of records; `Columns` too through `batches()` when registered with `columns=`,
  see columns.py) from `ctx.inputs[port]` until the stream ends and sends batches to
  `ctx.outputs[port]`; it closes what it owns (`async with` on its ports), and closing is the end of data;
- it never mutates a batch or a record it received: an out port with several edges hands the same batch to
  every receiver, so a transform builds new records;
- a record it cannot process goes to `await ctx.record_error(...)`, which routes it to the `error` port when
  that is wired and raises `RecordError` when not;
- a writer stages its output and makes it visible only after `await ctx.commit_point()`, which returns once
  every component of the attempt has finished its work (and raises cancellation if the attempt failed).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import ConfigDict

from etl_core.components.columns import Columns
from etl_core.config.schema import Schema, StrictModel
from etl_core.errors import RecordError
from etl_core.observability.metrics import ComponentMetrics

Record = dict[str, Any]
Batch = list[Record]
AnyBatch = Batch | Columns
"""What an edge carries: a list of records, or (between components that accept them) `Columns`."""

DEFAULT_BATCH_SIZE = 10_000
DEFAULT_BATCH_BYTES = 4 << 20
"""A file reader ends a batch early once it has read this many bytes for it (very wide records)."""


class ComponentOptions(StrictModel):
    """Base of every component's options model. `path_fields` name options that are file paths."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    path_fields: ClassVar[tuple[str, ...]] = ()


OptionsT = TypeVar("OptionsT", bound=ComponentOptions)


class Inbox(Protocol):
    """One input port: an async iterable of batches that ends when every upstream edge has closed."""

    port: str

    def __aiter__(self) -> AsyncIterator[Batch]: ...
    def batches(self) -> AsyncIterator[AnyBatch]:
        """The batches as they arrive: `Columns` too, for components registered with `columns=`."""
        ...

    async def aclose(self) -> None: ...
    async def __aenter__(self) -> Inbox: ...
    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Outbox(Protocol):
    """One output port. `send` hands a batch to every edge (nothing when unconnected: counted as dismissed)."""

    port: str

    @property
    def connected(self) -> bool: ...
    @property
    def columnar(self) -> bool:
        """Whether every receiver accepts `Columns` (the planner's `columnar_ports`)."""
        ...

    async def send(self, batch: AnyBatch) -> None: ...
    async def aclose(self) -> None: ...
    async def __aenter__(self) -> Outbox: ...
    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Logger(Protocol):
    def info(self, event: str, **kw: Any) -> Any: ...
    def warning(self, event: str, **kw: Any) -> Any: ...
    def error(self, event: str, **kw: Any) -> Any: ...
    def debug(self, event: str, **kw: Any) -> Any: ...


@dataclass(slots=True)
class ComponentContext(Generic[OptionsT]):
    """Everything one component instance gets for one attempt. Tests may build it by hand."""

    name: str
    comp_type: str
    options: OptionsT
    inputs: Mapping[str, Inbox]
    outputs: Mapping[str, Outbox]
    metrics: ComponentMetrics
    log: Logger
    strategy: str = "bulk"
    attempt: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE
    batch_bytes: int = DEFAULT_BATCH_BYTES
    in_schemas: Mapping[str, Schema] = field(default_factory=dict)
    out_schemas: Mapping[str, Schema] = field(default_factory=dict)
    resolve_path: Callable[[str], Path] = Path
    commit_barrier: Callable[[], Awaitable[None]] | None = None
    resources: dict[str, Any] = field(default_factory=dict)

    @property
    def row_mode(self) -> bool:
        return self.strategy == "row"

    def input(self, port: str = "in") -> Inbox:
        return self.inputs[port]

    def output(self, port: str = "out") -> Outbox:
        return self.outputs[port]

    def in_schema(self, port: str = "in") -> Schema | None:
        return self.in_schemas.get(port)

    def out_schema(self, port: str = "out") -> Schema | None:
        return self.out_schemas.get(port)

    def path(self, value: str) -> Path:
        """A file option resolved against the data directory; refused outside the allowed roots."""
        return self.resolve_path(value)

    async def commit_point(self) -> None:
        """Wait until every component of the attempt has done its work; only then make output visible.

        The component's output ports are closed first: whatever waits downstream (a dead-letter writer on the
        `error` port, a consumer of a writer's pass-through `out`) must see the end of its input to finish too.
        """
        for port in self.outputs.values():
            await port.aclose()
        if self.commit_barrier is not None:
            t0 = self.metrics.idle_since = time.perf_counter()
            try:
                await self.commit_barrier()
            finally:
                self.metrics.wait_commit_s += time.perf_counter() - t0
                self.metrics.idle_since = None

    async def record_error(self, record: Any, message: str, *, line: int | None = None) -> None:
        """Route one bad record to the `error` port, or fail the component when that is not wired."""
        await self.record_errors([(record, message, line)])

    async def record_errors(self, errors: list[tuple[Any, str, int | None]]) -> None:
        """Route a batch of bad records at once (one channel hop for many errors)."""
        if not errors:
            return
        self.metrics.errors += len(errors)
        port = self.outputs.get("error")
        if port is None or not port.connected:
            record, message, line = errors[0]
            raise RecordError(message, record=record, line=line, component=self.name)
        batch: Batch = []
        for record, message, line in errors:
            item: Record = {"record": record, "error": message, "component": self.name}
            if line is not None:
                item["line"] = line
            batch.append(item)
        await port.send(batch)


ComponentFn = Callable[[ComponentContext[Any]], Awaitable[None]]
