"""Values between records and databases, converted a column at a time.

Reading: driver values become the schema's types (`Decimal` -> int or float, dates -> ISO text, JSON text ->
objects, 0/1 -> booleans); without a schema they become plain JSON-like values. Writing: objects and arrays
become JSON text, and for PostgreSQL's binary COPY a value is coerced to the target column's type when it is
not already of it (`"42"` into a bigint column). Both sides check a whole column's value types at once with
`set(map(type, column))` and convert value by value only when that finds a type to convert.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from etl_core.components.support.values import (
    ConversionError,
    converter_for,
    to_boolean,
    to_float,
    to_integer,
    to_string,
)
from etl_core.config.schema import FieldDef
from etl_core.connectors.base import ColumnEncoding

NoneType = type(None)
NATURAL: frozenset[type] = frozenset({str, int, float, bool, NoneType, dict, list})
_JSON_TYPES = ("json", "jsonb")


def natural(value: Any) -> Any:
    """A driver value as a JSON-like value: numbers, text, booleans, lists, dicts (None stays None)."""
    if value is None or (type(value) in NATURAL and not isinstance(value, (dict, list))):
        return value
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
        return float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, dt.timedelta)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): natural(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [natural(v) for v in value]
    return str(value)


def _parse_json(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            raise ConversionError(f"{_short(value)} is not valid JSON") from None
    return natural(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_ACCEPT: dict[str, frozenset[type]] = {
    "integer": frozenset({int}),
    "float": frozenset({float}),
    "boolean": frozenset({bool}),
    "string": frozenset({str}),
    "path": frozenset({str}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
    "enum": frozenset(),
}


def read_encoding(f: FieldDef | None, db_type: str | None) -> ColumnEncoding | None:
    """How one result column becomes values of `f` (or plain values without a schema); None: as it is."""
    is_json = db_type in _JSON_TYPES
    if f is None:
        if is_json:
            return ColumnEncoding(frozenset(), _parse_json)
        return ColumnEncoding(NATURAL, natural)
    base = converter_for(f)
    accepted = _ACCEPT.get(f.data_type, frozenset())
    if f.data_type in ("object", "array"):

        def to_container(value: Any) -> Any:
            return base(_parse_json(value) if isinstance(value, (str, bytes)) else natural(value))

        return ColumnEncoding(accepted, to_container)
    if f.data_type in ("string", "path", "enum") and is_json:

        def json_text(value: Any) -> Any:
            return base(value if isinstance(value, str) else json.dumps(natural(value), ensure_ascii=False))

        return ColumnEncoding(accepted, json_text)

    def typed(value: Any) -> Any:
        return base(natural(value))

    return ColumnEncoding(accepted, typed)


def convert_column(values: Sequence[Any], enc: ColumnEncoding, label: str) -> tuple[Sequence[Any], dict[int, str]]:
    """Column `values` converted with `enc`; failing rows keep None and get a message naming `label`."""
    kinds = set(map(type, values))
    kinds.discard(NoneType)
    if kinds <= enc.accepted:
        return values, {}  # the caller's own sequence: nothing to convert
    fn = enc.fn
    out: list[Any] = []
    bad: dict[int, str] = {}
    for i, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(fn(value))
        except (ConversionError, ValueError, TypeError, OverflowError) as exc:
            out.append(None)
            bad[i] = f"column {label!r}: {exc}"
    return out, bad


# -- writing ----------------------------------------------------------------------------------------


def _to_json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(natural(value) if not isinstance(value, (dict, list)) else value, ensure_ascii=False)


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return dt.datetime.fromisoformat(text).date()
    raise ConversionError(f"{_short(value)} is not a date")


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    raise ConversionError(f"{_short(value)} is not a timestamp")


def _to_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        return dt.time.fromisoformat(value.strip())
    raise ConversionError(f"{_short(value)} is not a time")


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, (int, float, str)):
        try:
            return Decimal(str(value).strip())
        except ArithmeticError:
            raise ConversionError(f"{_short(value)} is not a number") from None
    raise ConversionError(f"{_short(value)} is not a number")


def _to_list(value: Any) -> list[Any]:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        decoded = _parse_json(value)
        if isinstance(decoded, list):
            return decoded
    raise ConversionError(f"{_short(value)} is not an array")


def _to_uuid_text(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ConversionError(f"{_short(value)} is not a UUID") from None


_PG_TARGETS: dict[str, tuple[frozenset[type], Callable[[Any], Any]]] = {}


def _pg(names: Sequence[str], accepted: set[type], fn: Callable[[Any], Any]) -> None:
    for name in names:
        _PG_TARGETS[name] = (frozenset(accepted), fn)


_pg(("int2", "int4", "int8", "oid"), {int}, to_integer)
_pg(("float4", "float8"), {float, int}, to_float)
_pg(("numeric",), {Decimal, int, float}, _to_decimal)
_pg(("bool",), {bool}, to_boolean)
_pg(("text", "varchar", "bpchar", "name", "citext", "xml"), {str}, to_string)
_pg(_JSON_TYPES, {str}, _to_json_text)
_pg(("date",), {dt.date, dt.datetime}, _to_date)
_pg(("timestamp", "timestamptz"), {dt.datetime}, _to_datetime)
_pg(("time", "timetz"), {dt.time}, _to_time)
_pg(("uuid",), {str, uuid.UUID}, _to_uuid_text)


def pg_write_encoding(db_type: str | None) -> ColumnEncoding | None:
    """Coercion of values into a PostgreSQL column of type `db_type` for binary COPY / typed parameters."""
    if db_type is None:
        return None
    if db_type.startswith("_"):
        return ColumnEncoding(frozenset({list}), _to_list)
    found = _PG_TARGETS.get(db_type)
    if found is None:
        return None
    return ColumnEncoding(found[0], found[1])


_TEXT_SAFE: frozenset[type] = frozenset(
    {str, int, float, bool, Decimal, dt.datetime, dt.date, dt.time, dt.timedelta, bytes, bytearray}
)


def _plain(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, uuid.UUID):
        return str(value)
    return to_string(value)


TEXT_WRITE = ColumnEncoding(_TEXT_SAFE, _plain)
"""MariaDB and SQLite: scalars pass, objects and arrays become JSON text, anything else its text."""


def encode_rows(
    rows: list[tuple[Any, ...]], encodings: Sequence[ColumnEncoding | None], labels: Sequence[str]
) -> tuple[list[tuple[Any, ...]], dict[int, str]]:
    """Rows with each column encoded; the second value maps failing row indexes to messages.

    The common case (every value already of an accepted type) returns `rows` itself: the columns are only
    looked at with one C-level transposition and a type set per column.
    """
    if not rows or not any(encodings):
        return rows, {}
    columns = list(zip(*rows, strict=True))
    encoded, bad = encode_columns(columns, encodings, labels)
    if all(out is col for out, col in zip(encoded, columns, strict=True)):
        return rows, bad
    return list(zip(*encoded, strict=True)), bad


def encode_columns(
    columns: Sequence[Sequence[Any]],
    encodings: Sequence[ColumnEncoding | None],
    labels: Sequence[str],
    kinds: Sequence[type | None] | None = None,
) -> tuple[list[Sequence[Any]], dict[int, str]]:
    """Columns each encoded for its column (the same sequence where nothing needs converting); the second value
    maps failing row indexes to messages. A column whose `kinds` entry (the exact type of all its values, known
    to a columnar producer) the driver accepts is not looked at."""
    bad: dict[int, str] = {}
    encoded: list[Sequence[Any]] = []
    for i, (values, enc, label) in enumerate(zip(columns, encodings, labels, strict=True)):
        known = kinds[i] if kinds is not None else None
        if enc is None or (known is not None and known in enc.accepted):
            encoded.append(values)
            continue
        out, col_bad = convert_column(values, enc, label)
        encoded.append(out)
        for j, msg in col_bad.items():
            bad.setdefault(j, msg)
    return encoded, bad


def parameter_value(value: Any) -> Any:
    """A `params` value bound into a text-protocol query (MariaDB, SQLite): containers as JSON text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value
