"""Reading one byte range of a CSV or JSON-lines file with the local format readers.

The readers (`CsvBatchReader`, `JsonLinesReader`) are the local ones, so a range is parsed, typed and
checked exactly as the whole file would be; only their byte source is swapped for a `RangeStream` (the
header line, then the range) and their line counting is moved to where the range starts. These are the
readers' private seams (`_fh`, `_in`, `_first_line`, `_checked`): tests/runtime/bigdata cover them, and a
public `stream=` argument on the readers would let this module drop them.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, cast

from etl_core.components.base import ComponentContext
from etl_core.components.files.csv_format import BULK_CHUNK, CsvBatchReader, CsvDialect, ParsedBatch
from etl_core.components.files.json_format import JsonLinesReader
from etl_core.components.files.streaming import BatchReader, InputFile, run_reader
from etl_core.runtime.bigdata.partitions import FilePart


class RangeStream:
    """`head`, then bytes [start, end) of a file: what a format reader reads instead of the whole file."""

    def __init__(self, path: Path, start: int, end: int, head: bytes = b"") -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._fh.seek(start)
        self._left = end - start
        self._head = head
        self._consumed = 0

    @property
    def offset(self) -> int:
        """Bytes handed out so far (the reader's `bytes_read` bookkeeping)."""
        return self._consumed

    def read(self, size: int = -1) -> bytes:
        out = b""
        if self._head:
            take = len(self._head) if size < 0 else size
            out, self._head = self._head[:take], self._head[take:]
            size = -1 if size < 0 else size - len(out)
        if size != 0 and self._left > 0:
            data = self._fh.read(self._left if size < 0 else min(size, self._left))
            self._left -= len(data)
            out += data
        self._consumed += len(out)
        return out

    def close(self) -> None:
        self._fh.close()


class _Shifted:
    """A reader whose record error lines are moved to file lines, and whose re-read header is not counted."""

    def __init__(self, reader: BatchReader, line_offset: int, head_bytes: int) -> None:
        self._reader = reader
        self._offset = line_offset
        self._head = head_bytes

    def next_batch(self) -> ParsedBatch | None:
        batch = self._reader.next_batch()
        if batch is None:
            return None
        if self._head:
            batch.bytes_read = max(0, batch.bytes_read - self._head)
            self._head = 0
        if self._offset and batch.errors:
            shift = self._offset
            batch.errors = [(r, m, None if n is None else n + shift) for r, m, n in batch.errors]
        return batch

    def close(self) -> None:
        self._reader.close()


async def read_csv_range(ctx: ComponentContext[Any], part: FilePart) -> None:
    """`read_csv` over one byte range: the same options, typing, record errors and line numbers."""
    assert part.end is not None
    end = part.end
    opts = ctx.options
    path = ctx.path(part.path)
    dialect = CsvDialect(opts.separator, opts.quotechar, opts.encoding, opts.header, opts.null_value)
    schema = ctx.out_schema("out")

    def open_reader() -> BatchReader:
        reader = CsvBatchReader(path, dialect, schema, batch_size=ctx.batch_size, chunk_size=BULK_CHUNK)
        reader._fh.close()
        reader._fh = cast("IO[bytes]", RangeStream(path, part.start, end, part.head))
        return _Shifted(reader, part.line_offset, len(part.head))

    await run_reader(ctx, path, open_reader)


async def read_json_lines_range(ctx: ComponentContext[Any], part: FilePart) -> None:
    """`read_json` over one byte range of a JSON-lines file."""
    assert part.end is not None
    end = part.end
    path = ctx.path(part.path)
    schema = ctx.out_schema("out")

    def open_reader() -> BatchReader:
        reader = JsonLinesReader(path, schema, batch_size=ctx.batch_size, chunk_size=BULK_CHUNK)
        reader._in.close()
        reader._in = cast(InputFile, RangeStream(path, part.start, end))
        reader._first_line = part.first_line
        # "no line of the first chunk parses: not JSON lines" is about the file's start, not a range's
        reader._checked = part.start > 0
        return reader

    await run_reader(ctx, path, open_reader)
