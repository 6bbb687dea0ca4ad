"""Giving produced records their port's declared types (job-config.md §3: types are enforced where produced).

Aggregation and schema_mapping build their output records themselves; when the out port declares a schema,
each top-level value takes its declared type. Fields whose declared type equals the type the component already
produces (known from the input schemas) are skipped, so a join whose declared schema matches what it derives
costs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etl_core.components.base import Batch
from etl_core.components.support.values import ConversionError, converter_for, is_null_text
from etl_core.config.schema import FieldDef, Schema

_PY_TYPE: dict[str, type | None] = {
    "integer": int,
    "float": float,
    "boolean": bool,
    "string": str,
    "path": str,
    "enum": None,  # membership must be checked, never skipped by type
    "object": dict,
    "array": list,
}

RecordErrors = list[tuple[Any, str, int | None]]


class OutputTyper:
    """Converts the top-level values of freshly built records, in place, to a schema's types."""

    def __init__(self, schema: Schema | None, known: Schema | None = None) -> None:
        self._columns: list[tuple[str, type | None, bool, Callable[[Any], Any]]] = []
        if schema is None:
            return
        for f in schema.fields:
            if known is not None and _same_type(f, known.field(f.name)):
                continue
            stringish = f.data_type in ("string", "path")
            self._columns.append((f.name, _PY_TYPE[f.data_type], stringish, converter_for(f)))

    @property
    def active(self) -> bool:
        return bool(self._columns)

    def apply(self, batch: Batch) -> tuple[Batch, RecordErrors]:
        """The records that took their types, and an error per record that could not."""
        if not self._columns:
            return batch, []
        columns = self._columns
        good: Batch = []
        errors: RecordErrors = []
        for record in batch:
            problem = None
            for name, py_type, stringish, convert in columns:
                value = record.get(name)
                if value is None or type(value) is py_type:
                    continue
                if not stringish and is_null_text(value):
                    record[name] = None
                    continue
                try:
                    record[name] = convert(value)
                except ConversionError as exc:
                    problem = f"output field {name!r}: {exc}"
                    break
            if problem is None:
                good.append(record)
            else:
                errors.append((record, problem, None))
        return good, errors


def _same_type(declared: FieldDef, known: FieldDef | None) -> bool:
    if known is None or declared.data_type != known.data_type:
        return False
    if declared.data_type == "enum":
        return set(declared.enum_values or ()) >= set(known.enum_values or ())
    return True
