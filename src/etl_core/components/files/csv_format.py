"""CSV reading and writing as plain synchronous objects, run by the components in a worker thread.

Reading goes by chunks of bytes (1 MiB in bulk, 64 KiB in row mode): a chunk is decoded incrementally and cut
at the last line break that lies outside quotes (an even number of quote characters before it), so a quoted
field with embedded newlines is never split. Rows are parsed with `csv.reader` and typed one column at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from etl_core.config.schema import FieldDef, Schema
from etl_core.components.support.nesting import flat_columns, flatten, get_path, split_path, to_flat_value, unflatten
from etl_core.components.support.values import convert_text_column
from etl_core.errors import ComponentError

BULK_CHUNK = 1 << 20
ROW_CHUNK = 1 << 16


@dataclass(slots=True)
class ParsedBatch:
    """Records ready to send, and the rows that failed as (raw record, message, line)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[Any, str, int | None]] = field(default_factory=list)
    bytes_read: int = 0


@dataclass(frozen=True, slots=True)
class CsvDialect:
    separator: str = ","
    quotechar: str = '"'
    encoding: str = "utf-8"
    header: bool = True
    null_value: str = ""


class CsvBatchReader:
    """Reads a CSV file into batches of typed records. Not thread-safe; one call at a time."""

    def __init__(
        self,
        path: Path,
        dialect: CsvDialect,
        schema: Schema | None,
        *,
        batch_size: int,
        chunk_size: int = BULK_CHUNK,
        eager: bool = False,
    ) -> None:
        self.path = path
        self.dialect = dialect
        self.schema = schema
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.eager = eager
        self._fh: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._decoder = codecs.getincrementaldecoder(dialect.encoding)(errors="strict")
        self._carry = ""
        self._line = 0
        self._offset = 0
        self._eof = False
        self._first = True
        self._pending: list[tuple[int, list[str]]] = []
        self._header: list[str] | None = None
        self._layout: _Layout | None = None

    def close(self) -> None:
        self._fh.close()

    @property
    def header(self) -> list[str] | None:
        return self._header

    def next_batch(self) -> ParsedBatch | None:
        """The next batch: up to `batch_size` rows (bulk) or whatever one chunk held (eager); None at the end."""
        read_before = self._offset
        while len(self._pending) < self.batch_size and not self._eof:
            self._read_chunk()
            if self.eager and self._pending:
                break
        if not self._pending:
            return None
        rows, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size :]
        batch = self._build(rows)
        batch.bytes_read = self._offset - read_before
        return batch

    def _read_chunk(self) -> None:
        raw = self._fh.read(self.chunk_size)
        final = not raw
        try:
            text = self._decoder.decode(raw, final)
        except UnicodeDecodeError as exc:
            raise ComponentError(
                f"file {str(self.path)!r} is not valid {self.dialect.encoding} near byte "
                f"{self._offset + exc.start}: {exc.reason}",
                stage="read",
            ) from None
        self._offset += len(raw)
        if self._first:
            self._first = False
            if text.startswith("\ufeff"):
                text = text[1:]
        buf = self._carry + text
        if final:
            self._eof = True
            self._carry = ""
            self._parse(buf)
            return
        cut = self._safe_cut(buf)
        self._carry = buf[cut:]
        self._parse(buf[:cut])

    def _safe_cut(self, buf: str) -> int:
        """Index just after the last newline that ends a record (outside quotes), or 0."""
        q = self.dialect.quotechar
        end = len(buf)
        while True:
            nl = buf.rfind("\n", 0, end)
            if nl < 0:
                return 0
            if buf.count(q, 0, nl) % 2 == 0:
                return nl + 1
            end = nl

    def _parse(self, text: str) -> None:
        if not text:
            return
        reader = csv.reader(
            io.StringIO(text, newline=""),
            delimiter=self.dialect.separator,
            quotechar=self.dialect.quotechar,
            strict=False,
        )
        base = self._line
        start = 1
        pending = self._pending
        for row in reader:
            end = reader.line_num
            if row and not (len(row) == 1 and row[0] == ""):
                if self._header is None and self.dialect.header:
                    self._set_header(row, base + start)
                else:
                    pending.append((base + start, row))
            start = end + 1
        self._line = base + reader.line_num
        if self._header is None and not self.dialect.header and pending:
            self._set_header(None, 0)

    def _set_header(self, row: list[str] | None, line: int) -> None:
        if row is None:
            width = len(self._pending[0][1])
            if self.schema is not None:
                names = flat_columns(self.schema)
            else:
                names = [f"column_{i + 1}" for i in range(width)]
        else:
            names = [name.strip() for name in row]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ComponentError(
                    f"file {str(self.path)!r} line {line}: header repeats column(s) {', '.join(dupes)}", stage="read"
                )
        self._header = names
        self._layout = _Layout(names, self.schema, str(self.path))

    def _build(self, rows: list[tuple[int, list[str]]]) -> ParsedBatch:
        assert self._layout is not None
        return self._layout.build(rows, self.dialect)


class _Layout:
    """How header columns become record fields: names, types, nesting. Compiled once per file."""

    def __init__(self, header: list[str], schema: Schema | None, source: str) -> None:
        self.header = header
        self.width = len(header)
        self.schema = schema
        self.columns: list[tuple[int, str, FieldDef | None]] = []
        if schema is None:
            self.columns = [(i, name, None) for i, name in enumerate(header)]
            self.nested = False
            return
        index = {name: i for i, name in enumerate(header)}
        missing: list[str] = []
        for path, f in schema.leaves():
            if path in index:
                self.columns.append((index[path], path, f))
                continue
            parts = [n for n in header if n.startswith(path + "[") or n.startswith(path + ".")]
            if not parts:
                missing.append(path)
                continue
            self.columns.extend((index[n], n, None) for n in parts)
        if missing:
            raise ComponentError(
                f"file {source!r}: column(s) {', '.join(missing)} declared in the schema are not in the header "
                f"({', '.join(header)})",
                stage="read",
            )
        self.nested = any("." in name or "[" in name for _, name, _ in self.columns)
        self.getter = itemgetter(*[i for i, _, _ in self.columns]) if self.columns else None

    def build(self, rows: list[tuple[int, list[str]]], dialect: CsvDialect) -> ParsedBatch:
        out = ParsedBatch()
        good: list[tuple[int, list[str]]] = []
        for line, row in rows:
            if len(row) != self.width:
                text = dialect.separator.join(row)
                out.errors.append((text, f"expected {self.width} fields, got {len(row)}", line))
            else:
                good.append((line, row))
        if not good:
            return out
        nv = dialect.null_value
        names = [name for _, name, _ in self.columns]
        converted: list[list[Any]] = []
        bad: dict[int, str] = {}
        for i, _name, f in self.columns:
            raw_col = [row[i] for _, row in good]
            col: list[Any] = [None if v == nv else v for v in raw_col]
            if f is not None and f.data_type not in ("string", "path"):
                col, col_bad = convert_text_column(col, f)
                for idx, msg in col_bad.items():
                    bad.setdefault(idx, msg)
            converted.append(col)
        records = [dict(zip(names, values, strict=True)) for values in zip(*converted, strict=True)]
        if self.nested:
            records = [unflatten(r) for r in records]
        if bad:
            for idx in sorted(bad):
                line, row = good[idx]
                out.errors.append((dict(zip(self.header, row, strict=True)), bad[idx], line))
            records = [r for idx, r in enumerate(records) if idx not in bad]
        out.records = records
        return out


class CsvBatchWriter:
    """Writes batches of records as CSV rows to an open text file."""

    def __init__(
        self,
        fh: IO[str],
        dialect: CsvDialect,
        schema: Schema | None,
        *,
        lineterminator: str = "\n",
        write_header: bool = True,
    ) -> None:
        self._fh = fh
        self._writer = csv.writer(
            fh,
            delimiter=dialect.separator,
            quotechar=dialect.quotechar,
            lineterminator=lineterminator,
            quoting=csv.QUOTE_MINIMAL,
        )
        self._null = dialect.null_value
        self._write_header = write_header and dialect.header
        self._schema = schema
        self.columns: list[str] | None = flat_columns(schema) if schema is not None else None
        self._special: list[int] = []
        self._plain: bool = False
        self._prepare()
        if self.columns is not None:
            self._emit_header()

    def _prepare(self) -> None:
        if self.columns is None:
            return
        self._paths = [split_path(c) for c in self.columns]
        self._plain = all(len(p) == 1 for p in self._paths)
        self._getter = itemgetter(*self.columns) if self.columns else None
        # cells that csv.writer would not render as the dialect wants: null, booleans, containers
        if self._null != "" or self._schema is None:
            self._special = list(range(len(self.columns)))
        else:
            kinds = {path: f.data_type for path, f in self._schema.leaves()}
            self._special = [
                i for i, c in enumerate(self.columns) if kinds.get(c) in ("boolean", "object", "array", None)
            ]

    def _emit_header(self) -> None:
        if self._write_header and self.columns is not None:
            self._writer.writerow(self.columns)
            self._write_header = False

    def write(self, batch: Sequence[dict[str, Any]]) -> int:
        """Write a batch; returns the number of characters written (approximate bytes)."""
        if not batch:
            return 0
        if self.columns is None:
            self.columns = list(flatten(batch[0]).keys())
            self._prepare()
            self._emit_header()
        rows = self._rows(batch)
        before = self._fh.tell() if self._fh.seekable() else 0
        self._writer.writerows(rows)
        return (self._fh.tell() - before) if self._fh.seekable() else 0

    def _rows(self, batch: Sequence[dict[str, Any]]) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]]
        if self._plain and len(self.columns or ()) > 1:
            getter = self._getter
            assert getter is not None
            try:
                rows = [getter(r) for r in batch]
            except KeyError:
                cols = self.columns or []
                rows = [tuple(r.get(c) for c in cols) for r in batch]
        elif self._plain:
            col = (self.columns or [""])[0]
            rows = [(r.get(col),) for r in batch]
        else:
            rows = [tuple(get_path(r, p) for p in self._paths) for r in batch]
        special = self._special
        if special:
            cell = self._cell
            fixed: list[Sequence[Any]] = []
            for row in rows:
                out = list(row)
                for i in special:
                    out[i] = cell(out[i])
                fixed.append(out)
            rows = fixed
        return rows

    def _cell(self, value: Any) -> Any:
        if value is None:
            return self._null
        if isinstance(value, bool):
            return "true" if value else "false"
        return to_flat_value(value)

    def finish(self) -> None:
        """Called once at the end: a file that got no records still gets its header when the schema is known."""
        self._emit_header()
