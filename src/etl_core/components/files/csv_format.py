"""CSV reading and writing as plain synchronous objects, run by the components in a worker thread.

Reading goes by chunks of bytes (128 KiB in bulk, several per worker-thread hop; in row mode what one read of
the file returns, up to 64 KiB, so a pipe's rows are not held back waiting for more): a chunk
is decoded incrementally and cut at the last line break that lies outside quotes, so a quoted field with
embedded newlines is never split. The cut is guessed and verified by the parse itself (the text up to the cut
plus a sentinel line must end with the sentinel as a row of its own). The guess is the last line break until a
record has spanned lines, then the last line break with an even number of quote characters before it (exact
for RFC 4180 files); a stray quote inside an unquoted field (`12" pipe`) breaks parity, and then the boundary is
found exactly by letting `csv.reader` walk the lines. Rows are typed one column at a time; a reader asked for
`columnar` batches hands the typed columns on as `Columns` (flat layouts only) instead of building records.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, cast

from etl_core.components.base import DEFAULT_BATCH_BYTES
from etl_core.components.columns import Columns
from etl_core.components.support.nesting import flat_columns, flatten, get_path, split_path, to_flat_value, unflatten
from etl_core.components.support.values import convert_text_column, fast_text_column
from etl_core.config.schema import FieldDef, Schema
from etl_core.errors import ComponentError

# small enough that a parsed chunk's rows die young (cache, GC); the thread hop is paid per batch, not per chunk
BULK_CHUNK = 1 << 17
ROW_CHUNK = 1 << 16
RENDER_SLICE = 500
CSV_SUFFIXES = (".csv", ".tsv", ".txt")  # the files of a directory read_csv reads (as the bigdata strategy does)
# the csv module refuses fields over 128 KiB by default; a long text cell is data, not an error (batches end on
# their byte budget instead, ETL_BATCH_BYTES)
FIELD_LIMIT = 1 << 30
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
_KINDS: dict[str, type] = {"integer": int, "float": float, "boolean": bool}
_UNDECODED = re.compile("[\udc80-\udcff]")  # what surrogateescape decodes an undecodable byte to
RAW_LIMIT = 1 << 16  # characters of a never-closed quoted field kept as its error's `record`
_BOOL_CELLS = {True: "true", False: "false"}


_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def wide_encoding(head: bytes) -> str | None:
    """`UTF-16` or `UTF-32` when `head` (a file's first bytes) starts with that encoding's byte order mark."""
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return name
    return None


@dataclass(slots=True)
class ParsedBatch:
    """Records (or columns) ready to send, and the rows that failed as (raw record, message, line)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    columns: Columns | None = None  # instead of `records`, from a reader asked for columnar batches
    errors: list[tuple[Any, str, int | None]] = field(default_factory=list)
    bytes_read: int = 0
    source: Path | None = None  # the file of a directory that the batch came from (DirectoryReader)

    @property
    def batch(self) -> list[dict[str, Any]] | Columns:
        """What to send: the columns when there are, else the records."""
        return self.columns if self.columns is not None else self.records


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
        stream: IO[bytes] | None = None,
        columnar: bool = False,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        """`stream`, when given, is read instead of opening `path` (a byte range of a larger file, say); the
        reader closes it. `path` still names the file in messages. `columnar` batches are `Columns` when the
        layout is flat (no dotted or indexed header names to nest)."""
        self.path = path
        self.dialect = dialect
        self.schema = schema
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.eager = eager
        self.columnar = columnar
        self.batch_bytes = batch_bytes
        # imported here: streaming imports this module (ParsedBatch)
        from etl_core.components.files.streaming import InputFile

        # a gzipped file (by its magic number) is read decompressed, as read_json and read_xml do
        self._fh: IO[bytes] = stream if stream is not None else cast("IO[bytes]", InputFile(path, eager=eager))
        # row mode takes what one read of the file gives (a pipe, a file still being written): a row that has
        # arrived is not held back until a whole chunk has (engine.md §2); a stream without `read1` reads fully
        self._read: Callable[[int], bytes] = getattr(self._fh, "read1", self._fh.read) if eager else self._fh.read
        # a byte the encoding cannot decode becomes a lone surrogate (U+DC80..U+DCFF), which no decoded text
        # holds otherwise: the row it is in is a record error (_undecodable), the rest of the file still reads
        self._decoder = codecs.getincrementaldecoder(dialect.encoding)(errors="surrogateescape")
        self._errors: list[tuple[Any, str, int | None]] = []  # record errors found while parsing, by line
        self._carry = ""
        self._line = 0
        self._offset = 0
        self._eof = False
        self._first = True
        self._rows: list[list[str]] = []
        self._lines: list[int] = []
        self._header: list[str] | None = None
        self._layout: _Layout | None = None
        # a line no record can end with: parsed after a chunk, it comes back as its own row only when the
        # chunk's last record was complete (otherwise an open quoted field swallows it)
        mark = next(c for c in "\x00\x01\x02" if c not in (dialect.separator, dialect.quotechar))
        self._sentinel_row = [mark * 8]
        self._sentinel = mark * 8 + "\n"
        self._spanning = False  # whether a record has spanned lines yet (see _read_chunk)
        self._exact_base = max(2 * chunk_size, 1 << 16)
        self._exact_after = self._exact_base

    def close(self) -> None:
        self._fh.close()

    @property
    def header(self) -> list[str] | None:
        return self._header

    def next_batch(self) -> ParsedBatch | None:
        """The next batch: up to `batch_size` rows, or fewer once `batch_bytes` were read for it (bulk), or
        whatever one chunk held (eager); None at the end."""
        read_before = self._offset
        size = self.batch_size
        while len(self._rows) < size and not self._eof:
            if self._rows and self._offset - read_before >= self.batch_bytes:
                break
            self._read_chunk()
            if self.eager and self._rows:
                break
        if not self._rows and not self._errors:
            return None
        rows, self._rows = self._rows[:size], self._rows[size:]
        lines, self._lines = self._lines[:size], self._lines[size:]
        if rows:
            assert self._layout is not None
            batch = self._layout.build(rows, lines, self.dialect, columnar=self.columnar)
        else:
            batch = ParsedBatch()
        if self._errors:
            # the errors of lines up to this batch's last row (all of them once no row is left)
            upto = lines[-1] if self._rows else None
            found = [e for e in self._errors if upto is None or (e[2] or 0) <= upto]
            self._errors = [e for e in self._errors if upto is not None and (e[2] or 0) > upto]
            batch.errors = sorted(batch.errors + found, key=lambda e: e[2] or 0)
        batch.bytes_read = self._offset - read_before
        return batch

    def _read_chunk(self) -> None:
        raw = self._read(self.chunk_size)
        final = not raw
        try:
            text = self._decoder.decode(raw, final)
        except UnicodeDecodeError as exc:
            raise ComponentError(
                f"file {str(self.path)!r} is not valid {self.dialect.encoding} near byte "
                f"{self._offset + exc.start}: {exc.reason}",
                stage="read",
            ) from None
        if self._offset == 0 and raw:
            self._check_encoding(raw)
        self._offset += len(raw)
        if self._first and text:
            # a tiny chunk may decode to nothing yet: the BOM is the first character that arrives
            self._first = False
            if text.startswith("\ufeff"):
                text = text[1:]
        buf = self._carry + text
        if final:
            self._eof = True
            self._carry = ""
            self._parse_last(buf)
            return
        # until a record has spanned lines, the last line break ends a record (the verifying parse checks)
        cut = self._safe_cut(buf) if self._spanning else buf.rfind("\n") + 1
        if cut == 0 and len(buf) > self._exact_after:
            # parity found no boundary in a lot of text: a stray quote, or one huge quoted field
            cut = self._exact_cut(buf)
            # a huge field is rescanned only after the buffer has doubled again (linear, not quadratic)
            self._exact_after = self._exact_base if cut else 2 * len(buf)
        if cut and not self._parse(buf[:cut], verify=True):
            if not self._spanning:
                # a quoted field holds line breaks: from now on the cut is guessed from quote parity
                self._spanning = True
                cut = self._safe_cut(buf)
                if cut == 0 or self._parse(buf[:cut], verify=True):
                    self._carry = buf[cut:]
                    return
            cut = self._exact_cut(buf)
            self._parse(buf[:cut])
        self._carry = buf[cut:]

    def _check_encoding(self, head: bytes) -> None:
        """A file that starts with a UTF-16/32 byte order mark while read as another encoding: every row would
        be an undecodable record; say what to set instead."""
        wide = wide_encoding(head)
        if wide is not None and not codecs.lookup(self.dialect.encoding).name.startswith(wide.lower()):
            raise ComponentError(
                f"file {str(self.path)!r} starts with a {wide} byte order mark but is read as "
                f"{self.dialect.encoding}: set its encoding to {wide.lower()!r}",
                stage="read",
            )

    def _parse_last(self, text: str) -> None:
        """Parse the file's last records. A quoted field still open at the end of the file (a missing closing
        quote) swallows every line after its opening: that record is a record error at its first line (the
        header: the file fails), and the records before it are read."""
        if not text:
            return
        if not text.endswith(("\n", "\r")):
            text += "\n"  # the last line may lack its line break; the verifying sentinel needs one
        if self._parse(text, verify=True):
            return
        cut = self._exact_cut(text, ends=("\n", "\r"))
        self._parse(text[:cut])
        rest = text[cut:].rstrip("\r\n")
        line = self._line + 1
        if self._header is None and self.dialect.header:
            raise ComponentError(
                f"file {str(self.path)!r} line {line}: the header has a quoted field that is never closed",
                stage="read",
            )
        later = len(rest.splitlines()) - 1
        shown = rest if len(rest) <= RAW_LIMIT else rest[:RAW_LIMIT] + "..."
        self._errors.append(
            (
                shown,
                f"a quoted field that starts in this line is never closed: the file ends inside it "
                f"({later} line(s) later), so the lines after it cannot be read as records",
                line,
            )
        )

    def _safe_cut(self, buf: str) -> int:
        """Index just after the last newline with an even number of quotes before it, or 0 (a fast guess)."""
        q = self.dialect.quotechar
        end = len(buf)
        quotes = buf.count(q)  # quotes in buf[:end], kept up to date while walking back
        while True:
            nl = buf.rfind("\n", 0, end)
            if nl < 0:
                return 0
            quotes -= buf.count(q, nl, end)
            if quotes % 2 == 0:
                return nl + 1
            end = nl

    def _exact_cut(self, buf: str, ends: tuple[str, ...] = ("\n",)) -> int:
        """Index just after the last complete record that ends with a newline (or one of `ends`), or 0 (slow: a
        step per line)."""
        pos = 0
        exhausted = False

        def lines() -> Iterator[str]:
            nonlocal pos, exhausted
            for line in io.StringIO(buf, newline=""):
                pos += len(line)
                yield line
            exhausted = True

        reader = csv.reader(lines(), delimiter=self.dialect.separator, quotechar=self.dialect.quotechar, strict=False)
        cut = 0
        for _row in reader:
            if exhausted:  # the reader asked for more lines in the middle of this record: it is cut off
                break
            if buf[pos - 1] in ends:
                cut = pos
        return cut

    def _parse(self, text: str, *, verify: bool = False) -> bool:
        """Parse complete records. With `verify`, first check that `text` ends with a complete record and
        return False, consuming nothing, when it does not."""
        if not text:
            return True
        reader = csv.reader(
            io.StringIO(text + self._sentinel if verify else text, newline=""),
            delimiter=self.dialect.separator,
            quotechar=self.dialect.quotechar,
            strict=False,
        )
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise self._malformed(exc, reader.line_num) from None
        line_num = reader.line_num
        if verify:
            if not rows or rows[-1] != self._sentinel_row:
                return False
            rows.pop()
            line_num -= 1
        base = self._line
        self._line = base + line_num
        if line_num == len(rows) and all(rows):
            # the common case: one line per record, no blank lines, so line numbers follow from positions
            lines: list[int] = list(range(base + 1, base + 1 + len(rows)))
        else:
            self._spanning = True
            rows, lines = self._parse_tracking_lines(text, base)
        if self._header is None and self.dialect.header and rows:
            self._set_header(rows[0], lines[0])
            rows, lines = rows[1:], lines[1:]
        if not text.isascii() and _UNDECODED.search(text) is not None:  # isascii is O(1): a flag of the str
            rows, lines = self._undecodable(rows, lines)
        self._rows.extend(rows)
        self._lines.extend(lines)
        if self._header is None and not self.dialect.header and self._rows:
            self._set_header(None, 0)
        return True

    def _undecodable(self, rows: list[list[str]], lines: list[int]) -> tuple[list[list[str]], list[int]]:
        """Take the rows holding a byte the encoding could not decode out as record errors."""
        keep_rows: list[list[str]] = []
        keep_lines: list[int] = []
        header = self._header or []
        for row, line in zip(rows, lines, strict=True):
            bad = next(((i, m) for i, f in enumerate(row) if (m := _UNDECODED.search(f)) is not None), None)
            if bad is None:
                keep_rows.append(row)
                keep_lines.append(line)
                continue
            i, found = bad
            column = f"{header[i]!r}" if i < len(header) else f"{i + 1}"
            byte = ord(found.group()) - 0xDC00
            shown = csv_text([_UNDECODED.sub("\ufffd", f) for f in row], self.dialect)
            why = f"not valid {self.dialect.encoding}: byte 0x{byte:02X} in column {column} cannot be decoded"
            self._errors.append((shown, why, line))
        return keep_rows, keep_lines

    def _malformed(self, exc: csv.Error, line_in_chunk: int) -> ComponentError:
        return ComponentError(
            f"file {str(self.path)!r} line {self._line + max(1, line_in_chunk)}: cannot parse CSV: {exc}", stage="read"
        )

    def _parse_tracking_lines(self, text: str, base: int) -> tuple[list[list[str]], list[int]]:
        """Slow path for chunks with multi-line records or blank lines: the start line of every record."""
        reader = csv.reader(
            io.StringIO(text, newline=""),
            delimiter=self.dialect.separator,
            quotechar=self.dialect.quotechar,
            strict=False,
        )
        rows: list[list[str]] = []
        lines: list[int] = []
        start = 1
        for row in reader:
            # a blank line parses as []; `""` (one empty field, a null in a one-column file) as [""]
            if row:
                rows.append(row)
                lines.append(base + start)
            start = reader.line_num + 1
        return rows, lines

    def _set_header(self, row: list[str] | None, line: int) -> None:
        if row is None:
            width = len(self._rows[0])
            names = flat_columns(self.schema) if self.schema is not None else [f"column_{i + 1}" for i in range(width)]
        else:
            if any(_UNDECODED.search(name) for name in row):
                raise ComponentError(
                    f"file {str(self.path)!r} line {line}: the header is not valid {self.dialect.encoding} "
                    "(is the file in another encoding? set `encoding`)",
                    stage="read",
                )
            # a blank header cell names its column by position, as read_excel does
            names = [name.strip() or f"column_{i + 1}" for i, name in enumerate(row)]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ComponentError(
                    f"file {str(self.path)!r} line {line}: header repeats column(s) {', '.join(dupes)}", stage="read"
                )
        self._header = names
        self._layout = _Layout(names, self.schema, str(self.path))


def csv_text(row: Sequence[str], dialect: CsvDialect) -> str:
    """A parsed row as CSV text again, in the file's dialect and without a line terminator: what a record error
    carries as `record` for a row that could not become a record, so that it reads back as the same fields
    (`1,"a,b"` stays `1,"a,b"`, not `1,a,b`). Fields are quoted where needed (QUOTE_MINIMAL); the writer's line
    terminator is CRLF only so that a field holding a line break of either kind is quoted too."""
    buf = io.StringIO()
    csv.writer(
        buf, delimiter=dialect.separator, quotechar=dialect.quotechar, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL
    ).writerow(row)
    return buf.getvalue()[:-2]


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
            parts = [n for n in header if n.startswith((path + "[", path + "."))]
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

    def build(
        self, rows: list[list[str]], lines: list[int], dialect: CsvDialect, *, columnar: bool = False
    ) -> ParsedBatch:
        """Typed records for `rows` (one column at a time); rows that do not fit become errors. With
        `columnar` and a flat layout the typed columns are the batch (`Columns`), no record is built."""
        out = ParsedBatch()
        width = self.width
        try:
            # the transposition itself checks the widths: a strict zip stops at the first row of another width
            columns = list(zip(*rows, strict=True))
        except ValueError:
            columns = []
        if rows and len(columns) != width:
            keep = [k for k, r in enumerate(rows) if len(r) == width]
            for k, r in enumerate(rows):
                if len(r) != width:
                    out.errors.append((csv_text(r, dialect), f"expected {width} fields, got {len(r)}", lines[k]))
            rows = [rows[k] for k in keep]
            lines = [lines[k] for k in keep]
            columns = list(zip(*rows, strict=True))
        if not rows:
            return out
        # the columns hold every field now: the row lists can go before the typed columns are built (memory)
        rows.clear()
        nv = dialect.null_value
        names = [name for _, name, _ in self.columns]
        converted: list[Sequence[Any]] = []
        kinds: list[type | None] = []  # the exact type of a column's values, when one pass made them all
        bad: dict[int, str] = {}
        for i, _name, f in self.columns:
            col: Sequence[Any] = columns[i]
            typed = f is not None and f.data_type not in ("string", "path")
            if typed and nv == "":
                # the usual case: every field of the column is a plain spelling of its type (an empty field, a
                # null, never is), converted in one C-level pass without looking for nulls first
                assert f is not None
                fast = fast_text_column(col, f.data_type)
                if fast is not None:
                    converted.append(fast)
                    kinds.append(_KINDS[f.data_type])
                    continue
            # an empty field is null; with another null_value it still is in a typed column (it cannot be
            # anything else there), while a text column keeps "" so that written empty strings round-trip
            if typed and nv != "":
                if nv in col or "" in col:
                    col = [None if v == nv or v == "" else v for v in col]
                kinds.append(None)
            else:
                nulls = nv in col
                if nulls:
                    col = [None if v == nv else v for v in col]
                kinds.append(None if typed or nulls else str)
            if f is not None and typed:
                col, col_bad = convert_text_column(col, f)
                for idx, msg in col_bad.items():
                    bad.setdefault(idx, msg)
            converted.append(col)
        if bad:
            for idx in sorted(bad):
                raw = [column[idx] for column in columns]
                out.errors.append((dict(zip(self.header, raw, strict=True)), bad[idx], lines[idx]))
            # width errors were collected first; the first error of a batch must be the first in the file
            out.errors.sort(key=lambda e: e[2] or 0)
        if columnar and not self.nested and names:
            batch = Columns(names, converted, kinds)
            out.columns = batch.take([i for i in range(len(batch)) if i not in bad]) if bad else batch
            return out
        records = [dict(zip(names, values)) for values in zip(*converted)]  # noqa: B905 - widths checked above
        if self.nested:
            records = [unflatten(r) for r in records]
        if bad:
            records = [r for idx, r in enumerate(records) if idx not in bad]
        out.records = records
        return out


class _Stopped(Exception):
    """A slice of rows could not be written; the `done` rows before it were."""

    def __init__(self, done: int) -> None:
        super().__init__(done)
        self.done = done


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
        # rows are rendered into a buffer and handed to the file once per batch (one write call, not one per row)
        self._buf = io.StringIO()
        self._writer = csv.writer(
            self._buf,
            delimiter=dialect.separator,
            quotechar=dialect.quotechar,
            lineterminator=lineterminator,
            quoting=csv.QUOTE_MINIMAL,
        )
        # csv.writer quotes a value holding a line break only when the break is part of its line terminator:
        # with "\n" a lone "\r" would go out unquoted and split the row when read back
        self._lineterminator = lineterminator
        self._cr_writer = (
            None
            if "\r" in lineterminator
            else csv.writer(
                self._buf,
                delimiter=dialect.separator,
                quotechar=dialect.quotechar,
                lineterminator="\r\n",
                quoting=csv.QUOTE_MINIMAL,
            )
        )
        self._mark = self._position()
        self._null = dialect.null_value
        self._write_header = write_header and dialect.header
        self._schema = schema
        self.columns: list[str] | None = flat_columns(schema) if schema is not None else None
        self._special: list[int] = []
        self._plain: bool = False
        self._count = 0  # records given so far, for the record numbers of refused ones
        self._prepare()
        if self.columns is not None:
            self._emit_header()

    def _prepare(self) -> None:
        if self.columns is None:
            return
        self._paths = [split_path(c) for c in self.columns]
        self._plain = all(len(p) == 1 for p in self._paths)
        self._getters = [itemgetter(c) for c in self.columns]
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
            try:
                self._put([self.columns])
            except _Stopped:
                raise ComponentError(
                    f"the header ({', '.join(self.columns)}) cannot be written: {self._unwritable(self.columns)}",
                    stage="write",
                ) from None
            self._write_header = False

    def _position(self) -> int:
        return self._fh.tell() if self._fh.seekable() else 0

    def _written(self) -> int:
        """Bytes written to the file since the last call (header included)."""
        now = self._position()
        written, self._mark = now - self._mark, now
        return written

    def _put(self, rows: Iterable[Sequence[Any]]) -> None:
        """Render and write `rows` a slice at a time: writerows holds the GIL for its whole C loop, and slices
        keep that under a millisecond or two (the event loop serving the API gets its turn), and a batch is never
        held as rendered text all at once (memory)."""
        buf = self._buf
        remaining = iter(rows)
        done = 0
        while part := list(islice(remaining, RENDER_SLICE)):
            try:
                self._writer.writerows(part)
                text = buf.getvalue()
                if self._cr_writer is not None and "\r" in text:
                    text = self._cr_safe(part)
                # a text file encodes the whole text before writing any of it: a character its encoding lacks
                # fails the slice with nothing of it in the file
                self._fh.write(text)
            except (UnicodeEncodeError, csv.Error):
                raise _Stopped(done) from None
            finally:
                buf.seek(0)
                buf.truncate()
            done += len(part)

    def _cr_safe(self, rows: Sequence[Sequence[Any]]) -> str:
        """The rows rendered so that a value with a lone CR is quoted (rare: only batches that hold one)."""
        assert self._cr_writer is not None
        buf = self._buf
        parts: list[str] = []
        for row in rows:
            buf.seek(0)
            buf.truncate()
            self._cr_writer.writerow(row)
            parts.append(buf.getvalue()[:-2] + self._lineterminator)
        return "".join(parts)

    def write(self, batch: Sequence[dict[str, Any]] | Columns) -> int:
        """Write a batch; returns the bytes written to the file since the previous call (a header included).
        A record that cannot be written fails the call (`write_batch` returns such records instead)."""
        _, written, errors = self.write_batch(batch if isinstance(batch, (list, Columns)) else list(batch))
        if errors:
            raise ComponentError(errors[0][1], stage="write")
        return written

    def write_batch(
        self, batch: list[dict[str, Any]] | Columns
    ) -> tuple[list[dict[str, Any]] | Columns, int, list[tuple[Any, str, int | None]]]:
        """Write a batch: (what was written, bytes written since the previous call, refused records).

        A record that cannot become a CSV row (a character the file's encoding cannot hold, a free-form value
        too deep to write as JSON text) is refused as (record, "record <n>: ...", None) and the others are
        written; when every record was written the batch itself is returned as written."""
        start = self._count
        self._count += len(batch)
        if not batch:
            return batch, 0, []
        if self.columns is None:
            self.columns = list(batch.names) if isinstance(batch, Columns) else list(flatten(batch[0]).keys())
            self._prepare()
            self._emit_header()
        try:
            self._put(self._rows(batch))
            return batch, self._written(), []
        except _Stopped as stop:
            done = stop.done
        except (RecursionError, ValueError, TypeError):
            done = 0  # raised while the rows were built, before any was written
        records = batch.records() if isinstance(batch, Columns) else list(batch)
        written = records[:done]
        errors: list[tuple[Any, str, int | None]] = []
        for i in range(done, len(records)):
            record = records[i]
            try:
                rows = list(self._rows([record]))
                self._put(rows)
            except _Stopped:
                errors.append((record, f"record {start + i + 1}: {self._unwritable(rows[0])}", None))
                continue
            except (RecursionError, ValueError, TypeError) as exc:
                why = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                errors.append((record, f"record {start + i + 1}: cannot be written as CSV: {why}", None))
                continue
            written.append(record)
        return written, self._written(), errors

    def _unwritable(self, row: Sequence[Any]) -> str:
        """Why a rendered row cannot go into the file: the first field its encoding cannot hold."""
        encoding = getattr(self._fh, "encoding", None) or "utf-8"
        for name, value in zip(self.columns or [], row, strict=False):
            text = value if isinstance(value, str) else str(value)
            try:
                text.encode(encoding)
            except UnicodeEncodeError as exc:
                return (
                    f"field {name!r}: the text {text[:40]!r} holds U+{ord(text[exc.start]):04X}, "
                    f"which the encoding {encoding} cannot represent"
                )
        return f"it cannot be encoded in {encoding}"

    def _rows(self, batch: Sequence[dict[str, Any]] | Columns) -> Iterable[Sequence[Any]]:
        """The batch as rows, built one column at a time (C-level `map` per column, no per-row Python)."""
        columns = self.columns or []
        cols: list[Sequence[Any]]
        special = self._special
        if isinstance(batch, Columns):
            if not self._plain:
                return self._rows(batch.records())
            missing = [None] * len(batch)
            cols = [batch.column(c) if batch.has(c) else missing for c in columns]
            # a column the batch knows holds only booleans is rendered by one C-level lookup per value
            bools = {i for i in special if batch.has(columns[i]) and batch.kind(columns[i]) is bool}
            for i in bools:
                cols[i] = list(map(_BOOL_CELLS.__getitem__, cols[i]))
            special = [i for i in special if i not in bools]
        elif self._plain:
            try:
                cols = [list(map(g, batch)) for g in self._getters]
            except KeyError:
                cols = [[r.get(c) for r in batch] for c in columns]
        else:
            cols = [[get_path(r, p) for r in batch] for p in self._paths]
        cell = self._cell
        for i in special:
            col = cols[i]
            cols[i] = [v if v.__class__ is str else cell(v) for v in col]
        return zip(*cols, strict=True)

    def _cell(self, value: Any) -> Any:
        if value is None:
            return self._null
        if isinstance(value, bool):
            return "true" if value else "false"
        return to_flat_value(value)

    def finish(self) -> int:
        """Called once at the end: a file that got no records still gets its header when the schema is known.

        Returns the bytes written since the last `write` (the header of an empty output)."""
        self._emit_header()
        return self._written()
