"""Excel (.xlsx/.xlsm) reading and writing with openpyxl, as synchronous objects run in a worker thread.

Reading uses read-only mode (the sheet's XML is parsed as rows are pulled, never loaded whole) with cached
formula results (`data_only`); the header is the first non-empty row and empty rows are skipped. Values keep
their Excel types (numbers, text, booleans, dates) unless the schema declares another type. Dotted header
names under a declared `object` field are read into the nested value, as for CSV.

Writing uses write-only mode (rows stream to a temporary file; the workbook is assembled on close). Nested
records are flattened to dotted columns, free-form objects and arrays written as JSON text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import InvalidFileException

from etl_core.components.files.csv_format import ParsedBatch
from etl_core.components.files.parts import PartFormat, WriteOutcome
from etl_core.components.files.shaping import Converter, field_converter
from etl_core.components.support.nesting import flat_columns, flatten, get_path, split_path, to_flat_value, unflatten
from etl_core.components.support.values import ConversionError
from etl_core.config.schema import Schema
from etl_core.errors import ComponentError

Record = dict[str, Any]
SUFFIXES = (".xlsx", ".xlsm")
MAX_ROWS = 1_048_576
MAX_CELL_TEXT = 32_767
ROW_MODE_ROWS = 500
SHARED_STRINGS_LIMIT = 64 << 20  # a shared-string table larger than this ...
BOMB_RATIO = 100  # ... that inflates more than this many times is refused (_check_shared_strings)
# a lone surrogate (text decoded with surrogateescape, say) has no UTF-8 form: the workbook could not be saved
_SURROGATE = re.compile("[\ud800-\udfff]")


# what a damaged workbook raises from inside openpyxl: a broken zip member (CRC, deflate stream, cut short),
# malformed XML in a part (ElementTree's and lxml's parse errors are SyntaxErrors), a missing or invalid part
# or cell reference
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, SyntaxError, KeyError, ValueError, TypeError, IndexError)


def _open_workbook(path: Path) -> Any:
    try:
        _check_shared_strings(path)
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError) as exc:
        raise ComponentError(
            f"file {str(path)!r} is not an Excel workbook (.xlsx/.xlsm): {exc}", stage="open"
        ) from None
    except _DAMAGE as exc:
        raise ComponentError(f"file {str(path)!r} is a damaged workbook ({_damage(exc)})", stage="open") from None


def _check_shared_strings(path: Path) -> None:
    """Refuse a zip bomb: openpyxl holds a workbook's shared strings in memory (cells refer to them by number),
    so a small file whose string table inflates a hundredfold into hundreds of megabytes would take them all.
    Real tables hold each distinct text once and compress far less. The sizes are the zip's own: zipfile never
    inflates a member past its recorded size."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.lower().endswith("sharedstrings.xml"):
                continue
            if info.file_size > SHARED_STRINGS_LIMIT and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
                raise ComponentError(
                    f"file {str(path)!r} looks like a zip bomb: its string table {info.filename!r} inflates "
                    f"{info.compress_size:,} bytes into {info.file_size:,}",
                    stage="open",
                )


def _damage(exc: BaseException) -> str:
    if isinstance(exc, zlib.error):
        return f"corrupt compressed data: {exc}"
    if isinstance(exc, zipfile.BadZipFile):
        return f"broken zip archive: {exc}"
    if isinstance(exc, SyntaxError):
        return f"malformed XML: {exc}"
    return f"{type(exc).__name__}: {exc}"


def pick_sheet(wb: Any, sheet_name: str, path: Path) -> Any:
    """The sheet named `sheet_name`; the default `Sheet1` also means the only sheet of a one-sheet workbook."""
    names = list(wb.sheetnames)
    if sheet_name in names:
        ws = wb[sheet_name]
    elif sheet_name == "Sheet1" and len(names) == 1:
        ws = wb[names[0]]
    else:
        raise ComponentError(
            f"file {str(path)!r} has no sheet {sheet_name!r} (sheets: {', '.join(map(repr, names))})", stage="open"
        )
    if not hasattr(ws, "iter_rows"):
        raise ComponentError(f"file {str(path)!r}: sheet {ws.title!r} is a chart sheet, not cells", stage="open")
    return ws


class ExcelBatchReader:
    """Reads one sheet into batches of records. Not thread-safe; one call at a time."""

    def __init__(
        self, path: Path, schema: Schema | None, sheet_name: str, *, batch_size: int, eager: bool = False
    ) -> None:
        self.path = path
        self.schema = schema
        self.batch_size = min(batch_size, ROW_MODE_ROWS) if eager else batch_size
        self._wb = _open_workbook(path)
        try:
            ws = pick_sheet(self._wb, sheet_name, path)
            self._sheet = str(ws.title)
            ws.reset_dimensions()  # a wrong <dimension> in the file must not cut rows off
            self._rows = iter(ws.iter_rows(values_only=True))
        except BaseException:
            self._wb.close()
            raise
        self._row = 0
        self._layout: _Layout | None = None
        self._done = False
        self._size = path.stat().st_size

    def close(self) -> None:
        self._wb.close()

    def next_batch(self) -> ParsedBatch | None:
        if self._done:
            return None
        rows: list[tuple[int, tuple[Any, ...]]] = []
        row_number = self._row
        try:
            for values in self._rows:
                row_number += 1
                if not any(v is not None and v != "" for v in values):
                    continue
                if self._layout is None:
                    self._layout = _Layout(values, self.schema, self.path, row_number)
                    continue
                rows.append((row_number, tuple(values)))
                if len(rows) >= self.batch_size:
                    break
            else:
                self._done = True
        except _DAMAGE as exc:
            # the sheet's XML is parsed as rows are pulled: a damaged workbook shows only now
            where = f"after row {row_number}" if row_number else "from its first row on"
            raise ComponentError(
                f"file {str(self.path)!r} is a damaged workbook: sheet {self._sheet!r} cannot be read {where} "
                f"({_damage(exc)})",
                stage="read",
            ) from None
        self._row = row_number
        if not rows:
            return None
        assert self._layout is not None
        batch = self._layout.build(rows)
        batch.bytes_read, self._size = self._size, 0  # the workbook is a zip: count its size once
        return batch


class _Layout:
    """How header cells become record fields: names, types, nesting. Built once per sheet."""

    def __init__(self, header: tuple[Any, ...], schema: Schema | None, path: Path, row: int) -> None:
        cells = list(header)
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells.pop()
        names = [f"column_{i + 1}" if v is None or v == "" else str(v).strip() for i, v in enumerate(cells)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ComponentError(
                f"file {str(path)!r} row {row}: header repeats column(s) {', '.join(dupes)}", stage="read"
            )
        self.names = names
        self.width = len(names)
        self.columns: list[tuple[int, str, Converter | None]] = []
        if schema is None:
            self.columns = [(i, n, None) for i, n in enumerate(names)]
            self.nested = False
            return
        index = {n: i for i, n in enumerate(names)}
        missing: list[str] = []
        for leaf, f in schema.leaves():
            if leaf in index:
                self.columns.append((index[leaf], leaf, field_converter(f, leaf)))
                continue
            under = [n for n in names if n.startswith((leaf + ".", leaf + "["))]
            if not under:
                missing.append(leaf)
            self.columns.extend((index[n], n, None) for n in under)
        if missing:
            raise ComponentError(
                f"file {str(path)!r}: column(s) {', '.join(missing)} declared in the schema are not in the header "
                f"(row {row}: {', '.join(names)})",
                stage="read",
            )
        self.nested = any("." in n or "[" in n for _, n, _ in self.columns)

    def build(self, rows: list[tuple[int, tuple[Any, ...]]]) -> ParsedBatch:
        out = ParsedBatch()
        width = self.width
        columns = self.columns
        for line, values in rows:
            if len(values) < width:
                values = values + (None,) * (width - len(values))
            elif len(values) > width and any(v is not None and v != "" for v in values[width:]):
                out.errors.append((_raw(self.names, values), f"a value lies beyond the header's {width} columns", line))
                continue
            record: Record = {}
            try:
                for i, name, conv in columns:
                    value = values[i]
                    if value == "":
                        value = None
                    elif value is not None and conv is not None:
                        value = conv(value)
                    record[name] = value
            except ConversionError as exc:
                out.errors.append((_raw(self.names, values), str(exc), line))
                continue
            out.records.append(unflatten(record) if self.nested else record)
        return out


def _raw(names: list[str], values: tuple[Any, ...]) -> Record:
    """A row as it was read, for the error port (JSON-friendly values)."""
    raw = dict(zip(names, values, strict=False))
    return {k: v.isoformat() if isinstance(v, (dt.datetime, dt.date, dt.time)) else v for k, v in raw.items()}


# -- writing ----------------------------------------------------------------------------------------------


class _MacroWorkbook(Workbook):  # type: ignore[misc]  # openpyxl ships no type hints
    """A workbook saved as macro-enabled (.xlsm): Excel refuses an .xlsm whose parts say .xlsx."""

    @property
    def mime_type(self) -> str:
        return "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


class _Unwritable(ValueError):
    pass


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, decimal.Decimal)):
        return value
    if isinstance(value, str):
        text = value
    elif isinstance(value, dt.datetime):
        # Excel has no time zones: an aware timestamp is kept exactly as ISO text
        return value if value.tzinfo is None else value.isoformat()
    elif isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return value
    elif isinstance(value, (dict, list)):
        text = to_flat_value(value)
    else:
        text = str(value)
    if len(text) > MAX_CELL_TEXT:
        raise _Unwritable(f"a text of {len(text)} characters exceeds Excel's cell limit of {MAX_CELL_TEXT}")
    bad = ILLEGAL_CHARACTERS_RE.search(text) or _SURROGATE.search(text)
    if bad is not None:
        raise _Unwritable(f"the text {text[:40]!r} holds U+{ord(bad.group()):04X}, which a worksheet cannot hold")
    return text


class ExcelWriter:
    """Writes records as the rows of one sheet under a header row. See parts.FormatWriter.

    The columns come from the schema (objects with children expanded to dotted names), or from the first
    record flattened when there is none; keys outside those columns are not written.
    """

    def __init__(self, path: Path, sheet_name: str, schema: Schema | None, *, macro: bool = False) -> None:
        self.path = path
        self._wb = (_MacroWorkbook if macro else Workbook)(write_only=True)
        self._ws = self._wb.create_sheet(sheet_name)
        self._columns: list[str] | None = None
        self._paths: list[list[str | int]] = []
        self._plain = True
        self._rows = 0
        self._count = 0
        if schema is not None:
            self._set_columns(flat_columns(schema))

    def _set_columns(self, columns: list[str]) -> None:
        self._columns = columns
        self._paths = [split_path(c) for c in columns]
        self._plain = not any("." in c or "[" in c for c in columns)
        self._append([*columns])

    def _append(self, row: list[Any]) -> None:
        if self._rows >= MAX_ROWS:
            raise ComponentError(f"an Excel sheet holds at most {MAX_ROWS:,} rows (header included)", stage="write")
        self._ws.append(row)
        self._rows += 1

    def write(self, batch: list[Record]) -> WriteOutcome:
        start = self._count
        self._count += len(batch)
        if not batch:
            return WriteOutcome(batch)
        if self._columns is None:
            self._set_columns(list(flatten(batch[0])))
        columns = self._columns or []
        written: list[Record] = batch
        errors: list[tuple[Any, str, int | None]] = []
        for i, record in enumerate(batch):
            if self._plain:
                values = [record.get(c) for c in columns]
            else:
                values = [_lookup(record, c, p) for c, p in zip(columns, self._paths, strict=True)]
            try:
                row = [_cell(v) for v in values]
            except (_Unwritable, RecursionError) as exc:
                if written is batch:
                    written = list(batch[:i])
                why = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                errors.append((record, f"record {start + i + 1}: cannot be written to Excel: {why}", None))
                continue
            if written is not batch:
                written.append(record)
            self._append(row)
        return WriteOutcome(written, 0, errors)

    def close(self) -> None:
        self._wb.save(self.path)

    def abort(self) -> None:
        # write-only sheets stream into temporary files that only `save` removes: finish and remove them here
        for ws in self._wb.worksheets:
            with contextlib.suppress(Exception):  # best effort on a workbook that is being thrown away
                ws.close()
            writer = getattr(ws, "_writer", None)
            if writer is not None:
                Path(writer.out).unlink(missing_ok=True)


def _lookup(record: Record, column: str, path: list[str | int]) -> Any:
    """A column's value from a nested record, or from a record that is already flat (dotted keys)."""
    if column in record:
        return record[column]
    return get_path(record, path)


def excel_part_format(sheet_name: str, schema: Schema | None) -> PartFormat:
    """Part files of an Excel directory output: one workbook per part."""

    def open_part(path: Path, *, append: bool = False) -> ExcelWriter:
        return ExcelWriter(path, sheet_name, schema)

    return PartFormat("xlsx", open_part)
