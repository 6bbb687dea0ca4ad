"""The loops every format reader and writer component shares.

Readers are synchronous batch readers (`next_batch()` -> `ParsedBatch | None`) driven from the event loop with
one worker-thread hop per batch; writers are `FormatWriter`s (parts.py) fed one batch per hop, staged by
`StagedFile` so the output appears only when the attempt commits. A filepath naming a directory reads every
file of the format in it, in name order, or writes part files into it (parts.py).
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anyio

from etl_core.components.base import ComponentContext
from etl_core.components.files.csv_format import ParsedBatch
from etl_core.components.files.parts import (
    FormatWriter,
    PartFormat,
    RecordErrors,
    names_directory,
    next_part_index,
    part_name,
)
from etl_core.components.files.parts import publish_parts as _publish_parts
from etl_core.components.support.files import StagedFile
from etl_core.errors import ComponentError, RecordError

T = TypeVar("T")
GZIP_MAGIC = b"\x1f\x8b"
GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


class BatchReader(Protocol):
    """A synchronous reader of one input: `next_batch` returns the next batch or None at the end."""

    def next_batch(self) -> ParsedBatch | None: ...
    def close(self) -> None: ...


class InputFile:
    """A file opened for reading as bytes, gunzipped when it starts with the gzip magic number (whatever its
    name says). `offset` is the position in the file itself (compressed bytes for gzip), for `bytes_read`;
    it is counted, not asked of the file, so a pipe (which has no position) reads too.

    `read` returns `size` bytes unless the input ends first. `read1` is row mode's read: one read of the
    underlying file returning what it has (at least a byte, or nothing at the end), so on a pipe or a file
    that is still being written a record that has arrived is not held back until a whole chunk has. With
    gzip, the compressed bytes are then also read that way (`_CompressedFeed`)."""

    def __init__(self, path: Path, *, eager: bool = False) -> None:
        self.path = path
        self._raw = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.gzipped = self._raw.peek(2)[:2] == GZIP_MAGIC
        self._feed: _CompressedFeed | None = None
        self._read_plain = 0
        self._stream: io.BufferedIOBase = self._raw
        if self.gzipped:
            self._feed = _CompressedFeed(self._raw, eager=eager)
            self._stream = gzip.GzipFile(fileobj=self._feed, mode="rb")

    @property
    def offset(self) -> int:
        return self._feed.count if self._feed is not None else self._read_plain

    def read(self, size: int) -> bytes:
        return self._take(self._stream.read, size)

    def read1(self, size: int) -> bytes:
        """At most `size` bytes from one read of what is there (row mode: never waits for a full chunk)."""
        return self._take(self._stream.read1, size)

    def _take(self, read: Callable[[int], bytes], size: int) -> bytes:
        try:
            data = read(size)
        except GZIP_ERRORS as exc:
            raise self._bad_gzip(exc) from None
        if self._feed is None:
            self._read_plain += len(data)
        return data

    def _bad_gzip(self, exc: BaseException) -> ComponentError:
        where = f" (within its first {self.offset} bytes)" if self.offset else ""
        return ComponentError(
            f"file {str(self.path)!r} is not a valid gzip file{where}: {exc or type(exc).__name__}", stage="read"
        )

    def close(self) -> None:
        if self._stream is not self._raw:
            self._stream.close()
        self._raw.close()


class _CompressedFeed:
    """What GzipFile reads compressed bytes from: counts them, and in row mode (`eager`) takes what one read of
    the file gives instead of waiting until GzipFile's whole buffer has arrived (it asks for 128 KiB)."""

    def __init__(self, raw: io.BufferedReader, *, eager: bool) -> None:
        self._raw = raw
        self._eager = eager
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read1(size) if self._eager else self._raw.read(size)
        self.count += len(data)
        return data

    def seek(self, offset: int, /) -> int:
        """GzipFile seeks only to rewind (never done here); kept exact all the same."""
        self.count = self._raw.seek(offset)
        return self.count


class OutputFile:
    """A file opened for writing as bytes, gzip-compressed when asked: the counterpart of `InputFile` for the
    JSON and XML writers. `raw` is the file itself (under the compression, when there is one)."""

    def __init__(self, path: Path, *, gz: bool = False, append: bool = False) -> None:
        # closed by close()/abort()
        self.raw: io.BufferedWriter = open(path, "ab") if append else open(path, "wb")  # noqa: SIM115
        self._out: io.BufferedIOBase = self.raw
        if gz:
            self._out = gzip.GzipFile(filename="", fileobj=self.raw, mode="ab" if append else "wb", compresslevel=6)

    def write(self, data: bytes) -> int:
        return self._out.write(data)

    def close(self) -> None:
        self._out.close()
        if self._out is not self.raw:
            self.raw.close()

    def abort(self) -> None:
        """Close without finishing (the file is being thrown away): a half-written gzip stream may refuse."""
        try:
            if self._out is not self.raw:
                self._out.close()
        except (OSError, ValueError):
            pass
        self.raw.close()


class DirectoryReader:
    """Reads the files of one format in a directory, one after the other, in name order. Every batch says
    which file it came from (`source`), so that its record errors can name it."""

    def __init__(self, paths: Sequence[Path], open_one: Callable[[Path], BatchReader]) -> None:
        self._paths = list(paths)
        self._open_one = open_one
        self._current: BatchReader | None = None
        self._path: Path | None = None

    def next_batch(self) -> ParsedBatch | None:
        while True:
            if self._current is None:
                if not self._paths:
                    return None
                self._path = self._paths.pop(0)
                self._current = open_input(self._path, self._open_one)
            batch = self._current.next_batch()
            if batch is not None:
                batch.source = self._path
                return batch
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None


def directory_files(directory: Path, suffixes: Sequence[str]) -> list[Path]:
    """The readable files of a directory with one of `suffixes` (lower case, with dots), by name; hidden
    files (the staging files of writers in progress) are skipped."""
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(tuple(suffixes))
    )


def open_input(path: Path, open_one: Callable[[Path], T]) -> T:
    """`open_one(path)`, with an OS error (missing, unreadable, a directory) as a component error naming it."""
    try:
        return open_one(path)
    except FileNotFoundError:
        raise ComponentError(f"file {str(path)!r} does not exist", stage="open") from None
    except OSError as exc:
        raise ComponentError(f"cannot open {str(path)!r}: {exc.strerror or exc}", stage="open") from None


async def run_reader(ctx: ComponentContext[Any], path: Path, open_reader: Callable[[], BatchReader]) -> None:
    """Open a reader in a worker thread, then send its batches to `out` and its bad records to `error`.

    An OS error while reading (a file of a directory that cannot be opened, an I/O error) fails the
    component naming the file; so does a bad record of a directory's file when no `error` port is wired,
    and a bad record routed to the port says which file of the directory it is in (`route_record_errors`)."""
    reader = await anyio.to_thread.run_sync(lambda: open_input(path, lambda _: open_reader()))
    try:
        async with ctx.output("out") as out:
            while True:
                try:
                    batch = await anyio.to_thread.run_sync(reader.next_batch)
                except OSError as exc:
                    raise ComponentError(f"cannot read {str(path)!r}: {exc.strerror or exc}", stage="read") from None
                if batch is None:
                    break
                ctx.metrics.bytes_read += batch.bytes_read
                if batch.errors:
                    await route_record_errors(ctx, batch.errors, batch.source)
                await out.send(batch.batch)  # an empty batch is not sent
    finally:
        reader.close()


async def route_record_errors(ctx: ComponentContext[Any], errors: RecordErrors, source: Path | None) -> None:
    """`ctx.record_errors`, for records read from `source`, one file of a directory (None: the component's
    own file, which its configuration names). A line number alone does not say which file of a directory
    it is in: routed to the `error` port, the message starts with the file's name; with no port wired, the
    first bad record fails the component with `file '<path>' line <n>: <why>`."""
    if source is None:
        await ctx.record_errors(errors)
        return
    port = ctx.outputs.get("error")
    if port is not None and port.connected:
        await ctx.record_errors([(record, f"file {source.name!r}: {why}", n) for record, why, n in errors])
        return
    try:
        await ctx.record_errors(errors)
    except RecordError as exc:
        where = f"file {str(source)!r}" + (f" line {exc.line}" if exc.line is not None else "")
        failure = RecordError(f"{where}: {exc.reason}", record=exc.record, component=ctx.name, stage="read")
        failure.line = exc.line
        raise failure from None


def directory_reader(
    path: Path, suffixes: Sequence[str], open_one: Callable[[Path], BatchReader]
) -> Callable[[], BatchReader]:
    """An opener for `run_reader`: one file, or every file of the format in a directory."""

    def open_reader() -> BatchReader:
        if path.is_dir():
            return DirectoryReader(directory_files(path, suffixes), open_one)
        return open_one(path)

    return open_reader


WriterFactory = Callable[[Path, bool], FormatWriter]


async def run_writer(
    ctx: ComponentContext[Any],
    filepath: str,
    open_writer: WriterFactory,
    *,
    parts: PartFormat,
    append: bool,
    append_in_place: bool = True,
) -> None:
    """Write every batch of `in` through a format writer into a staged output, forwarding the written records
    to the optional `out` port. A directory target gets one part file written by `parts` (this engine runs
    one partition): `part-00000` replacing the directory's parts in overwrite mode, the next free index in
    append mode.

    Appending to a single file opens it for appending (`open_writer(target, True)`; a failure truncates it
    back), unless the format cannot grow in place (`append_in_place=False`: a JSON array, an XML document):
    then the output is staged like an overwrite and `open_writer(staged, True)` is expected to start it with
    the target's content, so the target is replaced whole at the commit point or left as it was."""
    part_suffix = parts.suffix
    target = ctx.path(filepath)
    directory = await anyio.to_thread.run_sync(names_directory, filepath, target)
    path = target
    created_dir = False
    if directory:
        created_dir = not await anyio.to_thread.run_sync(target.exists)
        index = await anyio.to_thread.run_sync(next_part_index, target, part_suffix) if append else 0
        path = target / part_name(index, part_suffix)
        open_writer = _part_opener(parts)
    append_file = append and not directory
    try:
        async with StagedFile(ctx, path, append=append_file and append_in_place) as staged:
            writer = await anyio.to_thread.run_sync(open_writer, staged.path, append_file)
            done = False
            try:
                async with ctx.input("in") as inbox, ctx.output("out") as out:
                    async for batch in inbox:
                        outcome = await anyio.to_thread.run_sync(writer.write, batch)
                        ctx.metrics.bytes_written += outcome.bytes_written
                        if outcome.errors:
                            await ctx.record_errors(outcome.errors)
                        if out.connected and outcome.written:
                            await out.send(outcome.written)
                errors = ctx.outputs.get("error")
                if errors is not None:
                    # the commit point waits for every component, the error port's receivers included
                    await errors.aclose()
                await anyio.to_thread.run_sync(writer.close)
                done = True
            finally:
                if not done:
                    writer.abort()  # synchronous: must run even while the task is being cancelled
    except BaseException:
        if created_dir:
            _remove_if_empty(target)
        raise
    if directory and not append:
        await anyio.to_thread.run_sync(_publish_parts, target, part_suffix, {path.name})


def _part_opener(parts: PartFormat) -> WriterFactory:
    def open_part(path: Path, append: bool) -> FormatWriter:
        return parts.open(path, append=append)

    return open_part


def _remove_if_empty(directory: Path) -> None:
    try:
        if not any(directory.iterdir()):
            directory.rmdir()
    except OSError:
        pass  # something else lives there now: leave it
