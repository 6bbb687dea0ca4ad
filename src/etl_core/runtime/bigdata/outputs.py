"""Directory outputs: every partition writes one staged part file; the driver publishes them at the commit point.

    partition 3 ──write_part──> data/.out.bigdata-<execution>-<attempt>/part-00003.jsonl    (hidden, beside)
    commit point ──publish──>   data/out/part-00000.jsonl, part-00001.jsonl, ...             (partition order)

Parts are written with the format writer classes of the local writers (`parts.write_part`, `part_format_for`;
CSV parts with `CsvBatchWriter`), so a part file is exactly what the local writer writes for that partition's
records. A partition without records writes no part; a run without any record still publishes one empty part
(a valid empty output: a CSV header, an empty JSON-lines file, an XML root). Publishing moves the staged parts
into the target (after its existing parts in append mode; replacing the older parts of the format in
overwrite mode) and removes the staging directory; a failed or cancelled attempt removes it and leaves the
target untouched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.from_thread

from etl_core.components.base import Batch, ComponentContext, Outbox, Record
from etl_core.components.files.csv_format import CsvBatchWriter, CsvDialect
from etl_core.components.files.parts import (
    FormatWriter,
    PartFormat,
    WriteOutcome,
    existing_parts,
    next_part_index,
    part_format_for,
    part_name,
    publish_parts,
    write_part,
)
from etl_core.config.schema import Schema
from etl_core.errors import ComponentError


class CsvPartWriter:
    """One CSV part file (header first) through the local writer's `CsvBatchWriter`. See parts.FormatWriter."""

    def __init__(self, path: Path, options: Any, schema: Schema | None, *, append: bool = False) -> None:
        dialect = CsvDialect(options.separator, options.quotechar, options.encoding, options.header, options.null_value)
        self._fh: IO[str] = open(path, "a" if append else "w", encoding=options.encoding, newline="")  # noqa: SIM115
        fresh = not append or self._fh.tell() == 0
        self._writer = CsvBatchWriter(
            self._fh, dialect, schema, lineterminator=options.lineterminator, write_header=fresh
        )

    def write(self, batch: list[Record]) -> WriteOutcome:
        return WriteOutcome(batch, self._writer.write(batch))

    def close(self) -> None:
        self._writer.finish()
        self._fh.close()

    def abort(self) -> None:
        self._fh.close()


def part_format(comp_type: str, options: Any, schema: Schema | None) -> PartFormat:
    """The part files a file writer component writes into a directory."""
    if comp_type == "write_csv":
        try:
            return part_format_for(comp_type, options, schema)
        except ValueError:

            def open_csv(path: Path, *, append: bool = False) -> FormatWriter:
                return CsvPartWriter(path, options, schema, append=append)

            return PartFormat("csv", open_csv)
    return part_format_for(comp_type, options, schema)


def staging_dir(target: Path, token: str) -> Path:
    """The hidden directory beside `target` where one attempt's parts wait for the commit point."""
    return target.parent / f".{target.name}.bigdata-{token}"


class _Forwarding:
    """A format writer that also hands what it wrote to the writer's pass-through `out` port."""

    def __init__(self, inner: FormatWriter, out: Outbox) -> None:
        self._inner = inner
        self._out = out

    def write(self, batch: list[Record]) -> WriteOutcome:
        outcome = self._inner.write(batch)
        if outcome.written:
            anyio.from_thread.run(self._out.send, outcome.written)
        return outcome

    def close(self) -> None:
        self._inner.close()

    def abort(self) -> None:
        self._inner.abort()


def _forwarding(fmt: PartFormat, out: Outbox) -> PartFormat:
    def open_part(path: Path, *, append: bool = False) -> FormatWriter:
        return _Forwarding(fmt.open(path, append=append), out)

    return PartFormat(fmt.suffix, open_part)


async def _next(batches: AsyncIterator[Batch]) -> Batch | None:
    try:
        return await batches.__anext__()
    except StopAsyncIteration:
        return None


def _pull(first: Batch, batches: AsyncIterator[Batch]) -> Iterator[Batch]:
    """The batches of an inbox as a blocking iterator, for `write_part` in a worker thread."""
    yield first
    while True:
        batch = anyio.from_thread.run(_next, batches)
        if batch is None:
            return
        yield batch


async def write_partition_part(ctx: ComponentContext[Any], staging: Path, index: int) -> None:
    """A file writer's run in one partition: its records into `staging/part-<index>`, nothing when it gets none.

    Records the format refuses go to the writer's `error` port (or fail it); written records go on to `out`.
    """
    fmt = part_format(ctx.comp_type, ctx.options, ctx.in_schema("in"))
    out = ctx.outputs.get("out")
    if out is not None and out.connected:
        fmt = _forwarding(fmt, out)
    async with ctx.input("in") as inbox:
        batches = inbox.__aiter__()
        first = await _next(batches)
        if first is None:
            return
        try:
            result = await anyio.to_thread.run_sync(write_part, staging, index, _pull(first, batches), fmt)
        except FileNotFoundError:
            # the driver removed it: the attempt is over (cancelled or failed), and a part now would be litter
            raise ComponentError(f"the staging directory {str(staging)!r} is gone", stage="write") from None
    ctx.metrics.bytes_written += result.bytes_written
    if result.errors:
        await ctx.record_errors(result.errors)
    if out is not None:
        await out.aclose()


def publish(staging: Path, target: Path, fmt: PartFormat, *, append: bool) -> list[str]:
    """Move the staged parts into `target` in partition order; returns the published names (blocking)."""
    staged = existing_parts(staging, fmt.suffix)
    if not staged:
        write_part(staging, 0, [], fmt)
        staged = existing_parts(staging, fmt.suffix)
    target.mkdir(parents=True, exist_ok=True)
    first = next_part_index(target, fmt.suffix) if append else 0
    names: list[str] = []
    for k, index in enumerate(sorted(staged)):
        name = part_name(first + k, fmt.suffix)
        os.replace(staged[index], target / name)
        names.append(name)
    if not append:
        publish_parts(target, fmt.suffix, set(names))
    discard(staging)
    return names


def discard(staging: Path) -> None:
    """Remove a staging directory and whatever a failed or cancelled attempt left in it. A part that a
    stopping worker created while the tree was being removed keeps the directory alive: remove it again."""
    for _ in range(3):
        shutil.rmtree(staging, ignore_errors=True)
        if not staging.exists():
            return


async def write_parts_on_driver(ctx: ComponentContext[Any], staging: Path, target: Path) -> None:
    """A directory writer that runs on the driver (after an aggregation, say): one partition, then publish."""
    append = getattr(ctx.options, "mode", "overwrite") == "append"
    fmt = part_format(ctx.comp_type, ctx.options, ctx.in_schema("in"))
    try:
        await anyio.to_thread.run_sync(lambda: staging.mkdir(parents=True, exist_ok=True))
        await write_partition_part(ctx, staging, 0)
        errors = ctx.outputs.get("error")
        if errors is not None:
            await errors.aclose()  # the commit point waits for every component, the error port's receivers too
        await ctx.commit_point()
        await anyio.to_thread.run_sync(lambda: publish(staging, target, fmt, append=append))
    except BaseException:
        discard(staging)  # synchronous: must run even while the task is being cancelled
        raise
