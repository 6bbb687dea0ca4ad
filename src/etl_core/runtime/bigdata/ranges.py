"""Reading one byte range of a CSV or JSON-lines file with the local format readers.

The readers (`CsvBatchReader`, `JsonLinesReader`) are the local ones, so a range is parsed, typed and
checked exactly as the whole file would be; only their byte source is a `RangeStream` (the header line, then
the range), given through their public `stream=` argument, and their line counting starts where the range does.
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
        stream = cast("IO[bytes]", RangeStream(path, part.start, end, part.head))
        reader = CsvBatchReader(path, dialect, schema, batch_size=ctx.batch_size, chunk_size=BULK_CHUNK, stream=stream)
        return _Shifted(reader, part.line_offset, len(part.head))

    await run_reader(ctx, path, open_reader)


async def read_json_lines_range(ctx: ComponentContext[Any], part: FilePart) -> None:
    """`read_json` over one byte range of a JSON-lines file."""
    assert part.end is not None
    end = part.end
    path = ctx.path(part.path)
    schema = ctx.out_schema("out")

    def open_reader() -> BatchReader:
        return JsonLinesReader(
            path,
            schema,
            batch_size=ctx.batch_size,
            chunk_size=BULK_CHUNK,
            stream=cast(InputFile, RangeStream(path, part.start, end)),
            first_line=part.first_line,
            check_format=part.start == 0,
        )

    await run_reader(ctx, path, open_reader)
