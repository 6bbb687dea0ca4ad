"""JSON reading and writing as synchronous objects, run by the components in a worker thread.

- `.json`: one top-level array of records, parsed incrementally with ijson (the array is never held whole);
  a file that starts with `{` is one record, or several concatenated objects. Broken JSON fails the file.
- `.jsonl` / `.ndjson`: one record per line, read in big chunks and parsed with orjson line by line; a
  malformed line is a record error with its line number. With `check_format` (what `read_json` asks for when
  its `error` port is not wired), a file of which no line of the first batch parses is not JSON lines and the
  component fails once, instead of on its first line; with the error port wired every bad line goes there.
- `.gz` after either suffix: gzip. Readers also recognise gzip by its magic number, whatever the name.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import ijson
import orjson

from etl_core.components.base import DEFAULT_BATCH_BYTES
from etl_core.components.files.appending import copy_json_array
from etl_core.components.files.csv_format import BULK_CHUNK, ParsedBatch, wide_encoding
from etl_core.components.files.json_depth import NestingGuard, TooDeep
from etl_core.components.files.parts import PartFormat, WriteOutcome
from etl_core.components.files.shaping import Nester, RecordShaper, projector_for
from etl_core.components.files.streaming import InputFile, OutputFile
from etl_core.components.support.values import ConversionError
from etl_core.config.schema import Schema
from etl_core.errors import ComponentError

Record = dict[str, Any]

LAYOUTS = {".json": "array", ".jsonl": "lines", ".ndjson": "lines"}
READ_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


def json_layout(filepath: str) -> tuple[str, bool] | None:
    """(`"array"` or `"lines"`, gzipped) for a file name, or None when the suffix is not a JSON one."""
    name = filepath.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for suffix, layout in LAYOUTS.items():
        if name.endswith(suffix):
            return layout, gz
    return None


def check_not_utf16(path: Path, head: bytes) -> None:
    """Fail clearly on a UTF-16/32 file (by its byte order mark): JSON is UTF-8 (RFC 8259), and read as UTF-8
    such a file is only a confusing "invalid character" in its first line."""
    wide = wide_encoding(head)
    if wide is not None:
        raise ComponentError(
            f"file {str(path)!r} is {wide} (it starts with a {wide} byte order mark); JSON files must be UTF-8",
            stage="read",
        )


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


class _Numbered:
    """Shapes parsed values into records: objects pass (typed by the schema when there is one), anything else
    is a record error."""

    def __init__(self, schema: Schema | None) -> None:
        self.shaper = RecordShaper(schema) if schema is not None else None

    def build(self, items: list[tuple[int, Any]], *, by_line: bool) -> ParsedBatch:
        out = ParsedBatch()
        shape = self.shaper.shape if self.shaper is not None else None
        if shape is None and all(type(v) is dict for _, v in items):
            out.records = [v for _, v in items]
            return out
        records = out.records
        for n, value in items:
            if type(value) is not dict:
                why = f"a JSON {_kind(value)} is not a record (an object)"
            elif shape is None:
                records.append(value)
                continue
            else:
                try:
                    records.append(shape(value))
                    continue
                except ConversionError as exc:
                    why = str(exc)
            out.errors.append((value, why, n) if by_line else (value, f"record {n}: {why}", None))
        return out


class JsonLinesReader:
    """Reads a JSON-lines file into batches of records. Not thread-safe; one call at a time."""

    def __init__(
        self,
        path: Path,
        schema: Schema | None,
        *,
        batch_size: int,
        chunk_size: int = BULK_CHUNK,
        eager: bool = False,
        stream: InputFile | None = None,
        first_line: int = 1,
        check_format: bool = True,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        """`stream` (read instead of opening `path`) and `first_line` let a reader take one byte range of a larger
        file with the file's own line numbers; `check_format=False` skips the "is this JSON lines at all" test,
        which is about a file's start, not about a range in its middle, and is pointless when bad lines have an
        error port to go to (every one of them is then a record error)."""
        self.path = path
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.chunk_size = chunk_size
        self.eager = eager
        self._in = stream if stream is not None else InputFile(path, eager=eager)
        # row mode takes what one read gives (a pipe, a growing file): a line that has arrived is not held back
        # until a whole chunk has; a byte-range stream has no `read1`, and is never read in row mode
        self._read = getattr(self._in, "read1", self._in.read) if eager else self._in.read
        self._numbered = _Numbered(schema)
        self._carry: list[bytes] = []
        self._lines: list[bytes] = []
        self._first_line = first_line  # the line number of self._lines[0]
        self._started = False
        self._eof = False
        self._checked = not check_format
        self._offset = 0
        self._long = False  # a line may hold an integer beyond 64 bits (_has_long_integer): parse such lines exactly

    def close(self) -> None:
        self._in.close()

    def next_batch(self) -> ParsedBatch | None:
        while len(self._lines) < self.batch_size and not self._eof:
            if self._lines and self._in.offset - self._offset >= self.batch_bytes:
                break  # very wide records: the batch ends on its byte budget
            self._read_chunk()
            if self.eager and self._lines:
                break
        if not self._lines:
            return None
        take = self._lines[: self.batch_size]
        del self._lines[: self.batch_size]
        first = self._first_line
        self._first_line += len(take)
        batch, any_json = self._parse(take, first)
        if not self._checked:
            self._checked = True
            # lines that are JSON but not records of the schema are record errors, not a sign of another format
            if batch.errors and not any_json:
                _, why, line = batch.errors[0]
                raise ComponentError(
                    f"file {str(self.path)!r} is not JSON lines: no line of the first {len(take)} parsed "
                    f"(line {line}: {why})",
                    stage="read",
                )
        offset = self._in.offset
        batch.bytes_read, self._offset = offset - self._offset, offset
        return batch

    def _read_chunk(self) -> None:
        raw = self._read(self.chunk_size)
        if not self._started:
            self._started = True
            if self._first_line == 1:
                check_not_utf16(self.path, raw)
            if raw.startswith(_BOM):
                raw = raw[3:]
        if not raw:
            self._eof = True
            rest = b"".join(self._carry)
            self._carry = []
            if rest:
                self._lines.append(rest)
                self._long = self._long or _has_long_integer(rest)
            return
        cut = raw.rfind(b"\n")
        if cut < 0:
            self._carry.append(raw)  # a line longer than a chunk: joined once, when it ends
            return
        head = raw[:cut]
        if self._carry:
            head = b"".join(self._carry) + head
        self._carry = [raw[cut + 1 :]]
        self._long = self._long or _has_long_integer(head)
        self._lines.extend(head.split(b"\n"))

    def _parse(self, lines: list[bytes], first: int) -> tuple[ParsedBatch, bool]:
        """The batch of `lines`, and whether any line of them was JSON at all (for the format check)."""
        loads = orjson.loads
        try:
            values = list(map(loads, lines))
        except orjson.JSONDecodeError:
            return self._parse_slowly(lines, first)
        if self._long:
            _exact_integers(lines, values)
        items = list(enumerate(values, first))
        return self._numbered.build(items, by_line=True), bool(items)

    def _parse_slowly(self, lines: list[bytes], first: int) -> tuple[ParsedBatch, bool]:
        items: list[tuple[int, Any]] = []
        errors: list[tuple[Any, str, int | None]] = []
        for n, line in enumerate(lines, first):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                text = line.decode("utf-8", errors="replace").rstrip("\r")
                why = f"not valid JSON: {_orjson_reason(exc, line)}"
                if "\r" in text:  # JSON cannot hold a raw CR in a string: these are old Mac line ends
                    why += " (its lines seem to end with CR only; JSON lines end with LF)"
                errors.append((text, why, n))
                continue
            if self._long:
                value = _exact_integers([line], [value])[0]
            items.append((n, value))
        batch = self._numbered.build(items, by_line=True)
        batch.errors[:0] = errors
        batch.errors.sort(key=lambda e: e[2] or 0)
        return batch, bool(items)


def _orjson_reason(exc: orjson.JSONDecodeError, line: bytes = b"") -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        # orjson says "str is not valid UTF-8: surrogates not allowed at column 1" whatever the byte and place
        return f"the line is not UTF-8: byte 0x{line[bad.start]:02X} at column {bad.start + 1} ({bad.reason})"
    return f"{exc.msg} at column {exc.colno}"


# digits mapped to 9, what can stand before a number (`:` `,` `[` blanks `-`) to |, all else to x: a run of 19
# digits after such a byte is found by one `translate` and one `find`, C-level passes over the chunk
_DIGIT_RUNS = bytes(
    ord("9") if chr(c).isdigit() and c < 128 else ord("|") if c in b":,[ \t\r\n-" else ord("x") for c in range(256)
)
_LONG_RUN = b"|" + b"9" * 19


def _has_long_integer(data: bytes) -> bool:
    """Whether `data` may hold an integer orjson cannot keep exact (beyond 64 bits it silently makes a float);
    a false alarm (19 digits in a string after a blank, say) only costs an exact re-parse of a line."""
    return data.translate(_DIGIT_RUNS).find(_LONG_RUN) >= 0


def _exact_integers(lines: list[bytes], values: list[Any]) -> list[Any]:
    """Lines with a long digit run parsed again by the standard library, whose integers are exact (orjson
    parsed them first, so they are valid JSON; the standard library's NaN and Infinity cannot occur)."""
    for i, line in enumerate(lines):
        if line.translate(_DIGIT_RUNS).find(_LONG_RUN) >= 0:
            with contextlib.suppress(RecursionError):  # deeper than the standard library goes: orjson's value
                values[i] = json.loads(line)
    return values


class _Feed:
    """The byte stream ijson reads: the already-read head first, then the file; counts reads for row mode.
    Every chunk passes a `NestingGuard` first: ijson's memory grows with the square of the nesting depth."""

    def __init__(self, source: InputFile, head: bytes, *, eager: bool = False, offset: int = 0) -> None:
        """`offset`: where `head` starts in the text (after a byte order mark and blanks), for messages."""
        self._source = source
        self._head = head
        self._read = source.read1 if eager else source.read
        self._guard = NestingGuard()
        self._guard.offset = offset
        self.reads = 0

    def read(self, size: int) -> bytes:
        if size == 0:
            return b""  # ijson probes with read(0) for bytes or text
        self.reads += 1
        if self._head:
            data, self._head = self._head, b""
        else:
            data = self._read(size)
        self._guard.feed(data)
        return data


class JsonArrayReader:
    """Reads a `.json` file (one array of records, or top-level objects) incrementally. One call at a time."""

    def __init__(
        self,
        path: Path,
        schema: Schema | None,
        *,
        batch_size: int,
        chunk_size: int = BULK_CHUNK,
        eager: bool = False,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        self.path = path
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.eager = eager
        self._in = InputFile(path, eager=eager)
        self._numbered = _Numbered(schema)
        self._count = 0
        self._offset = 0
        self._feed: _Feed | None = None
        self._items: Any = None
        self._eof = False
        self._exact = False  # numbers parsed as text: an integer beyond 64 bits was met (see _start)
        self._chunk_size = chunk_size

    def close(self) -> None:
        self._in.close()

    def _start(self) -> None:
        head = b""
        read = self._in.read1 if self.eager else self._in.read
        seen = 0  # bytes of the (decompressed) text read so far
        while True:
            raw = read(self._chunk_size)
            seen += len(raw)
            if not head:
                check_not_utf16(self.path, raw)
                if raw.startswith(_BOM):
                    raw = raw[3:]
            head += raw
            body = head.lstrip(_WS)
            if body or not raw:
                break
            head = b""  # only whitespace so far
        if not body:
            self._eof = True  # an empty file holds no records
            return
        first = body[:1]
        if first not in (b"[", b"{"):
            shown = body[:20].decode("utf-8", errors="replace")
            raise ComponentError(
                f"file {str(self.path)!r} is not a JSON array or object: it starts with {shown!r}", stage="read"
            )
        self._feed = _Feed(self._in, body, eager=self.eager, offset=seen - len(body))
        # yajl parses numbers as C doubles and 64-bit integers (use_float), fast; a file with a longer integer is
        # read again with numbers as text (exact integers, decimals made floats here), see _exactly
        prefix, several = ("item", False) if first == b"[" else ("", True)
        self._items = ijson.items(
            self._feed, prefix, use_float=not self._exact, multiple_values=several, buf_size=self._chunk_size
        )
        if self._exact:
            self._items = map(_floats, self._items)

    def _exactly(self) -> None:
        """Start the file again, numbers parsed exactly, past the records already sent (integer overflow)."""
        self._in.close()
        self._in = InputFile(self.path, eager=self.eager)
        self._exact = True
        self._feed = None
        self._start()
        for _ in range(self._count):
            next(self._items)
        self._offset = self._in.offset

    def next_batch(self) -> ParsedBatch | None:
        if self._feed is None and not self._eof:
            self._start()
        if self._eof:
            return None
        try:
            items = self._next_items()
        except _Broken as exc:
            if self._exact or "integer overflow" not in str(exc.error):
                raise self._failure(exc) from None
            try:
                self._exactly()
                items = self._next_items()
            except _Broken as again:
                raise self._failure(again) from None
        self._count += len(items)
        if not items:
            return None
        batch = self._numbered.build(items, by_line=False)
        offset = self._in.offset
        batch.bytes_read, self._offset = offset - self._offset, offset
        return batch

    def _next_items(self) -> list[tuple[int, Any]]:
        """The next batch's values, numbered; sets `_eof` when the file ends."""
        assert self._feed is not None
        items: list[tuple[int, Any]] = []
        reads = self._feed.reads
        count = self._count
        try:
            for value in self._items:
                count += 1
                items.append((count, value))
                if (
                    len(items) >= self.batch_size
                    or (self.eager and self._feed.reads != reads)
                    or self._in.offset - self._offset >= self.batch_bytes
                ):
                    break
            else:
                self._eof = True
        except ijson.JSONError as exc:
            raise _Broken(exc, count) from None
        except TooDeep as exc:
            raise ComponentError(f"file {str(self.path)!r}: {exc}", stage="read") from None
        except RecursionError:
            raise ComponentError(
                f"file {str(self.path)!r}: record {count + 1} is nested too deeply to convert", stage="read"
            ) from None
        return items

    def _failure(self, broken: _Broken) -> ComponentError:
        return ComponentError(
            f"file {str(self.path)!r} is not valid JSON after record {broken.count}: {_ijson_reason(broken.error)}",
            stage="read",
        )


class _Broken(Exception):
    """ijson's error, and how many records of the file came before it."""

    def __init__(self, error: Exception, count: int) -> None:
        super().__init__(error, count)
        self.error = error
        self.count = count


def _floats(value: Any) -> Any:
    """A value parsed with exact numbers, its decimals made floats (as `use_float` would have made them)."""
    if type(value) is dict:
        return {k: _floats(v) for k, v in value.items()}
    if type(value) is list:
        return [_floats(v) for v in value]
    if type(value) is decimal.Decimal:
        return float(value)
    return value


def _ijson_reason(exc: Exception) -> str:
    """yajl's message is a reason, the text around the error and an arrow: keep the reason and the text."""
    lines = [line.strip() for line in str(exc).replace("\\n", "\n").splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    reason = lines[0].rstrip(".").lstrip("b'\"")
    context = next((line for line in lines[1:] if "(right here)" not in line), "")
    return f"{reason}, near {context!r}" if context else reason


def _default(value: Any) -> Any:
    """What orjson cannot write natively: exact decimals as numbers, bytes as base64, sets as lists."""
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(str(value)) if value.is_finite() else None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _std_default(value: Any) -> Any:
    """The standard library's fallback (integers beyond 64 bits): no raw numbers there, so decimals go as
    numbers through int or float."""
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return _default(value)


_OPTIONS = orjson.OPT_NON_STR_KEYS


class JsonWriter:
    """Writes records as a JSON array (`.json`) or JSON lines, optionally gzipped. See parts.FormatWriter.

    With a `schema` (the in port's), a record is written with exactly the declared fields, in schema order
    (shaping.Projector), and that projected record is what `write` reports as written; without one, records
    are written as they arrive.

    `append` opens `path` to add to it (JSON lines grow in place). An array cannot: appending to one writes a
    new file `path` (the staged output) given the array to continue as `existing`, whose records it starts
    with (appending.py), so that the result is one array holding the old records and then the new ones."""

    def __init__(
        self,
        path: Path,
        layout: str,
        *,
        gz: bool = False,
        append: bool = False,
        schema: Schema | None = None,
        existing: Path | None = None,
    ) -> None:
        self.layout = layout
        self._projector = projector_for(schema)
        self._out = OutputFile(path, gz=gz, append=append)
        self._nester = Nester()
        self._count = 0
        self._written = 0
        if append and not gz and layout == "lines" and _lacks_final_newline(path):
            self._out.raw.write(b"\n")  # a file written by hand may end without one: keep its last line whole
        if existing is not None and layout == "array" and existing.exists():
            try:
                copy_json_array(existing, self._copied_elements, self._copied_value)
            except BaseException:
                self.abort()
                raise

    def _copied_elements(self, text: bytes) -> None:
        """Raw elements of the array being continued (appending.copy_json_array), exactly as they were."""
        if not self._written:
            self._out.write(b"[\n")
            self._written = 1
        self._out.write(text)

    def _copied_value(self, value: Any) -> None:
        """One top-level value of the file being continued, re-written as an element of the array."""
        try:
            data = orjson.dumps(value, default=_default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            data = json.dumps(value, default=_std_default, ensure_ascii=False).encode("utf-8")
        self._out.write((b",\n" if self._written else b"[\n") + data)
        self._written += 1

    def write(self, batch: list[Record]) -> WriteOutcome:
        start = self._count
        self._count += len(batch)
        if not batch:
            return WriteOutcome(batch)
        if self._projector is not None:
            batch = self._projector.project_all(batch)
        records = self._nester.nest(batch)
        dumps = orjson.dumps
        try:
            parts = [dumps(r, default=_default, option=_OPTIONS) for r in records]
            written = batch
            errors: list[tuple[Any, str, int | None]] = []
        except (orjson.JSONEncodeError, TypeError):
            parts, written, errors = self._dump_slowly(batch, records, start)
        if not parts:
            return WriteOutcome(written, 0, errors)
        if self.layout == "lines":
            data = b"\n".join(parts) + b"\n"
        else:
            data = (b",\n" if self._written else b"[\n") + b",\n".join(parts)
        self._written += len(parts)
        self._out.write(data)
        return WriteOutcome(written, len(data), errors)

    def _dump_slowly(
        self, batch: list[Record], records: Any, start: int
    ) -> tuple[list[bytes], list[Record], list[tuple[Any, str, int | None]]]:
        parts: list[bytes] = []
        written: list[Record] = []
        errors: list[tuple[Any, str, int | None]] = []
        for i, (original, record) in enumerate(zip(batch, records, strict=True)):
            try:
                parts.append(orjson.dumps(record, default=_default, option=_OPTIONS))
            except (orjson.JSONEncodeError, TypeError):
                try:  # e.g. integers beyond 64 bits, which the standard library writes exactly
                    text = json.dumps(record, default=_std_default, ensure_ascii=False, allow_nan=False)
                    parts.append(text.encode("utf-8"))
                except (TypeError, ValueError, RecursionError) as exc:
                    # ValueError covers a lone surrogate (UnicodeEncodeError), which UTF-8 cannot hold
                    errors.append((original, f"record {start + i + 1}: cannot be written as JSON: {_why(exc)}", None))
                    continue
            written.append(original)
        return parts, written, errors

    def close(self) -> None:
        if self.layout == "array":
            self._out.write(b"\n]\n" if self._written else b"[]")
        self._out.close()

    def abort(self) -> None:
        self._out.abort()


def _why(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    if isinstance(exc, UnicodeEncodeError):
        bad = exc.object[exc.start : exc.start + 1]
        return f"a text holds U+{ord(bad):04X}, which UTF-8 cannot represent" if bad else str(exc)
    return str(exc)


def _lacks_final_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            return False
        fh.seek(-1, 2)
        return fh.read(1) != b"\n"


def json_part_format(schema: Schema | None = None) -> PartFormat:
    """Part files of a JSON directory output are JSON lines (projected to `schema` when there is one)."""

    def open_part(path: Path, *, append: bool = False) -> JsonWriter:
        return JsonWriter(path, "lines", append=append, schema=schema)

    return PartFormat("jsonl", open_part)
