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
import datetime as dt
import decimal
import gzip
import io
import json
from pathlib import Path
from typing import Any

import ijson
import orjson

from etl_core.components.base import DEFAULT_BATCH_BYTES
from etl_core.components.files.appending import copy_json_array
from etl_core.components.files.csv_format import BULK_CHUNK, ParsedBatch
from etl_core.components.files.parts import PartFormat, WriteOutcome
from etl_core.components.files.shaping import Nester, RecordShaper, projector_for
from etl_core.components.files.streaming import InputFile
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
        batch = self._parse(take, first)
        if not self._checked:
            self._checked = True
            if batch.errors and not batch.records:
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
            if raw.startswith(_BOM):
                raw = raw[3:]
        if not raw:
            self._eof = True
            rest = b"".join(self._carry)
            self._carry = []
            if rest:
                self._lines.append(rest)
            return
        cut = raw.rfind(b"\n")
        if cut < 0:
            self._carry.append(raw)  # a line longer than a chunk: joined once, when it ends
            return
        head = raw[:cut]
        if self._carry:
            head = b"".join(self._carry) + head
        self._carry = [raw[cut + 1 :]]
        self._lines.extend(head.split(b"\n"))

    def _parse(self, lines: list[bytes], first: int) -> ParsedBatch:
        loads = orjson.loads
        try:
            values = list(map(loads, lines))
            items = list(enumerate(values, first))
        except orjson.JSONDecodeError:
            return self._parse_slowly(lines, first)
        return self._numbered.build(items, by_line=True)

    def _parse_slowly(self, lines: list[bytes], first: int) -> ParsedBatch:
        items: list[tuple[int, Any]] = []
        errors: list[tuple[Any, str, int | None]] = []
        for n, line in enumerate(lines, first):
            if not line.strip():
                continue
            try:
                items.append((n, orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                text = line.decode("utf-8", errors="replace").rstrip("\r")
                errors.append((text, f"not valid JSON: {_orjson_reason(exc)}", n))
        batch = self._numbered.build(items, by_line=True)
        batch.errors[:0] = errors
        batch.errors.sort(key=lambda e: e[2] or 0)
        return batch


def _orjson_reason(exc: orjson.JSONDecodeError) -> str:
    return f"{exc.msg} at column {exc.colno}"


class _Feed:
    """The byte stream ijson reads: the already-read head first, then the file; counts reads for row mode."""

    def __init__(self, source: InputFile, head: bytes, *, eager: bool = False) -> None:
        self._source = source
        self._head = head
        self._read = source.read1 if eager else source.read
        self.reads = 0

    def read(self, size: int) -> bytes:
        if size == 0:
            return b""  # ijson probes with read(0) for bytes or text
        self.reads += 1
        if self._head:
            data, self._head = self._head, b""
            return data
        return self._read(size)


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
        self._chunk_size = chunk_size

    def close(self) -> None:
        self._in.close()

    def _start(self) -> None:
        head = b""
        read = self._in.read1 if self.eager else self._in.read
        while True:
            raw = read(self._chunk_size)
            if not head and raw.startswith(_BOM):
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
        self._feed = _Feed(self._in, body, eager=self.eager)
        if first == b"[":
            self._items = ijson.items(self._feed, "item", use_float=True, buf_size=self._chunk_size)
        elif first == b"{":
            self._items = ijson.items(self._feed, "", use_float=True, multiple_values=True, buf_size=self._chunk_size)
        else:
            shown = body[:20].decode("utf-8", errors="replace")
            raise ComponentError(
                f"file {str(self.path)!r} is not a JSON array or object: it starts with {shown!r}", stage="read"
            )

    def next_batch(self) -> ParsedBatch | None:
        if self._feed is None and not self._eof:
            self._start()
        if self._eof:
            return None
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
            raise ComponentError(
                f"file {str(self.path)!r} is not valid JSON after record {count}: {_ijson_reason(exc)}", stage="read"
            ) from None
        self._count = count
        if not items:
            return None
        batch = self._numbered.build(items, by_line=False)
        offset = self._in.offset
        batch.bytes_read, self._offset = offset - self._offset, offset
        return batch


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
        self._raw = open(path, "ab" if append else "wb")  # noqa: SIM115 - closed by close()/abort()
        self._out: io.BufferedIOBase = self._raw
        if gz:
            self._out = gzip.GzipFile(filename="", fileobj=self._raw, mode="ab" if append else "wb", compresslevel=6)
        self._nester = Nester()
        self._count = 0
        self._written = 0
        if append and not gz and layout == "lines" and _lacks_final_newline(path):
            self._raw.write(b"\n")  # a file written by hand may end without one: keep its last line whole
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
                except (TypeError, ValueError) as exc:
                    errors.append((original, f"record {start + i + 1}: cannot be written as JSON: {exc}", None))
                    continue
                parts.append(text.encode("utf-8"))
            written.append(original)
        return parts, written, errors

    def close(self) -> None:
        if self.layout == "array":
            self._out.write(b"\n]\n" if self._written else b"[]")
        self._out.close()
        if self._out is not self._raw:
            self._raw.close()

    def abort(self) -> None:
        try:
            if self._out is not self._raw:
                self._out.close()
        except (OSError, ValueError):
            pass  # the file is being thrown away anyway
        self._raw.close()


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
