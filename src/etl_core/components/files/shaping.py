"""Records of nested formats (JSON, XML, Excel cells) typed by a port schema.

`RecordShaper(schema)` is compiled once per port and turns one parsed record into a record of exactly the
schema's fields: a declared field that is missing becomes null, a key the schema does not declare is dropped,
and every value takes its declared type (objects and arrays recursively). A value that cannot take its type
raises `ConversionError` naming the field's dotted path, which the reader turns into a record error.

Values that already have their type pass through untouched (the common case for JSON); text is converted with
the same rules as CSV (support/values.py), and blank text is null for a non-string type. `xml=True` adds the
two readings XML needs: a single element where an array is declared is a one-item list, and an element that
carries attributes (`{"@attrs": ..., "#text": ...}`) where a scalar is declared gives its text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from etl_core.components.support.nesting import get_path, split_path, unflatten
from etl_core.components.support.values import ConversionError, converter_for, to_string
from etl_core.config.schema import FieldDef, Schema

Converter = Callable[[Any], Any]
Record = dict[str, Any]

_SCALAR_TYPES: dict[str, type] = {"integer": int, "float": float, "boolean": bool}
_NONE = type(None)
# the value types that need no conversion, by declared type (objects with children, typed arrays, enums: none)
_PASSING: dict[str, frozenset[type]] = {
    "integer": frozenset({int, _NONE}),
    "float": frozenset({float, _NONE}),
    "boolean": frozenset({bool, _NONE}),
    "string": frozenset({str, _NONE}),
    "path": frozenset({str, _NONE}),
    "object": frozenset({dict, _NONE}),
    "array": frozenset({list, _NONE}),
}


def text_of(value: Any) -> str:
    """A value as text: ISO 8601 for dates and times, JSON for containers, `true`/`false` for booleans."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return to_string(value)


class RecordShaper:
    """Conforms parsed records to a schema (see module docstring). Thread-safe once built."""

    def __init__(self, schema: Schema, *, xml: bool = False) -> None:
        self.schema = schema
        self._fields = [(f.name, field_converter(f, xml=xml)) for f in schema.fields]
        # a field named by a path (`address.city`, `tags[0]`) reads that nested value, as flat formats do
        self._paths = {f.name: split_path(f.name) for f in schema.fields if "." in f.name or "[" in f.name}
        # Fast path: a record whose keys are the schema's, in order, and whose values already have their types
        # is kept as it is. Checking that costs two C-level tuples per record; the type layouts that passed are
        # remembered, so the per-field work runs once per layout, not once per record.
        self._names = tuple(f.name for f in schema.fields)
        allowed: list[frozenset[type]] = []
        for f in schema.fields:
            ok = _PASSING.get(f.data_type) if f.children is None and f.item is None else None
            if ok is None:
                break
            allowed.append(ok)
        eligible = not self._paths and len(allowed) == len(schema.fields)
        self._allowed: list[frozenset[type]] | None = allowed if eligible else None
        self._layouts: set[tuple[type, ...]] = set()

    def shape(self, record: Record) -> Record:
        """The record with exactly the schema's fields, typed; raises ConversionError."""
        if self._allowed is not None and tuple(record) == self._names:
            layout = tuple(map(type, record.values()))
            if layout in self._layouts:
                return record
            if all(t in ok for t, ok in zip(layout, self._allowed, strict=True)):
                if len(self._layouts) < 256:
                    self._layouts.add(layout)
                return record
        out: Record = {}
        get = record.get
        paths = self._paths
        for name, conv in self._fields:
            value = get(name)
            if value is None and paths and name in paths:
                value = get_path(record, paths[name])
            if value is not None:
                value = conv(value)
            out[name] = value
        return unflatten(out) if paths else out

    def shape_all(
        self, items: Sequence[tuple[int, Record]], *, by_line: bool
    ) -> tuple[list[Record], list[tuple[Any, str, int | None]]]:
        """Shape numbered records. A failure becomes a record error: (record, why, line) when the numbers are
        line numbers (`by_line`), else (record, "record <n>: why", None)."""
        good: list[Record] = []
        bad: list[tuple[Any, str, int | None]] = []
        shape = self.shape
        for number, record in items:
            try:
                good.append(shape(record))
            except ConversionError as exc:
                if by_line:
                    bad.append((record, str(exc), number))
                else:
                    bad.append((record, f"record {number}: {exc}", None))
        return good, bad


def field_converter(f: FieldDef, path: str | None = None, *, xml: bool = False) -> Converter:
    """A function giving one non-null value `f`'s type; raises ConversionError naming the field's `path`."""
    where = path or f.name
    kind = f.data_type
    if kind == "object":
        return _object(f, where, xml)
    if kind == "array":
        return _array(f, where, xml)
    return _scalar(f, where, xml)


def _scalar(f: FieldDef, path: str, xml: bool) -> Converter:
    kind = f.data_type
    if kind in ("string", "path"):

        def to_text(value: Any) -> Any:
            if type(value) is str:
                return value
            if xml and type(value) is dict:
                value = value.get("#text")
                if value is None:
                    return None
            return text_of(value)

        return to_text
    exact = _SCALAR_TYPES.get(kind)
    base = converter_for(f)

    def convert(value: Any) -> Any:
        if exact is not None and type(value) is exact:
            return value
        if xml and type(value) is dict:
            value = value.get("#text")
            if value is None:
                return None
        if isinstance(value, str) and not value.strip():
            return None
        try:
            return base(value)
        except ConversionError as exc:
            raise ConversionError(f"field {path!r}: {exc} ({kind})") from None

    return convert


def _object(f: FieldDef, path: str, xml: bool) -> Converter:
    if not f.children:
        return _free_form(path, dict, converter_for(f))
    inner = [(c.name, field_converter(c, f"{path}.{c.name}", xml=xml)) for c in f.children]

    def to_object(value: Any) -> Any:
        if type(value) is not dict:
            raise ConversionError(f"field {path!r}: {_short(value)} is not an object")
        out: Record = {}
        for name, conv in inner:
            v = value.get(name)
            if v is not None:
                v = conv(v)
            out[name] = v
        return out

    return to_object


def _array(f: FieldDef, path: str, xml: bool) -> Converter:
    item = field_converter(f.item, f"{path}[]", xml=xml) if f.item is not None else None
    parse = converter_for(f)

    def to_array(value: Any) -> Any:
        if type(value) is not list:
            if xml:
                value = [value]
            else:
                try:
                    value = parse(value)
                except ConversionError:
                    raise ConversionError(f"field {path!r}: {_short(value)} is not an array") from None
        if item is None:
            return value
        return [None if v is None else item(v) for v in value]

    return to_array


def _free_form(path: str, kind: type, parse: Converter) -> Converter:
    """An object without declared children: any mapping (or JSON text of one) passes as it is."""

    def check(value: Any) -> Any:
        if type(value) is kind:
            return value
        try:
            return parse(value)
        except ConversionError:
            raise ConversionError(f"field {path!r}: {_short(value)} is not an object") from None

    return check


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Nester:
    """Unflattens records whose keys are dotted paths (`address.city`, `tags[0]`) on the way into a nested
    format; records without such keys pass unchanged. The decision is cached per key layout, so a batch of
    uniform records costs one tuple and one lookup per record."""

    def __init__(self) -> None:
        self._dotted: dict[tuple[str, ...], bool] = {}

    def nest(self, batch: Sequence[Record]) -> Sequence[Record]:
        cache = self._dotted
        out: list[Record] | None = None
        for i, record in enumerate(batch):
            keys = tuple(record)
            dotted = cache.get(keys)
            if dotted is None:
                dotted = any(isinstance(k, str) and ("." in k or "[" in k) for k in keys)
                if len(cache) < 1024:
                    cache[keys] = dotted
            if dotted:
                if out is None:
                    out = list(batch[:i])
                out.append(unflatten(record))
            elif out is not None:
                out.append(record)
        return batch if out is None else out


class Projector:
    """Cuts records down to a port schema's declared fields, in schema order, for a nested-format writer
    (spec §3: records carry no key their port's schema does not declare). Thread-safe once built.

    A declared field that is missing is written as null, like a missing column in a flat writer; an `object`
    with `children` keeps only those sub-fields (also inside the items of an array whose `item` declares
    them); an object without `children` is free-form and kept whole. Values are not converted: types are
    enforced where values are produced, not re-checked by a writer. A field named by a path (`address.city`)
    takes that nested value, and a record that arrives flat (`address.city` keys) for a schema that declares
    the object `address` is read through its dotted keys; the result's keys are the schema's field names.
    """

    def __init__(self, schema: Schema) -> None:
        self._fields = [
            (f.name, split_path(f.name) if "." in f.name or "[" in f.name else None, _projection(f))
            for f in schema.fields
        ]
        self._names = tuple(f.name for f in schema.fields)
        # a record whose keys are the schema's, in order, with no sub-fields to cut, is kept as it is
        self._flat = all(proj is None for _, _, proj in self._fields)

    def project(self, record: Record) -> Record:
        if self._flat and tuple(record) == self._names:
            return record
        out: Record = {}
        nested: Record | None = None
        for name, path, proj in self._fields:
            if name in record:
                value = record[name]
            else:
                if nested is None:
                    # a flat record (`address.city` keys) read as the nested one it stands for
                    dotted = any(type(k) is str and ("." in k or "[" in k) for k in record)
                    nested = unflatten(record) if dotted else record
                value = get_path(nested, path) if path is not None else nested.get(name)
            if proj is not None and value is not None:
                value = proj(value)
            out[name] = value
        return out

    def project_all(self, batch: list[Record]) -> list[Record]:
        """The batch with every record projected; the batch itself when no record changed."""
        project = self.project
        out: list[Record] | None = None
        for i, record in enumerate(batch):
            shaped = project(record)
            if out is not None:
                out.append(shaped)
            elif shaped is not record:
                out = batch[:i]
                out.append(shaped)
        return batch if out is None else out


def projector_for(schema: Schema | None) -> Projector | None:
    """The projector of a writer's in port schema, or None when records are written as they arrive: no schema,
    or one that declares no field (`{"fields": []}`, what a job gives a writer fed by a source that infers its
    fields from the file: cutting every record down to `{}` would never be what it means)."""
    return Projector(schema) if schema is not None and schema.fields else None


def _projection(f: FieldDef) -> Converter | None:
    """What cuts one declared value down to its declared sub-fields, or None when nothing is declared below it."""
    if f.data_type == "object" and f.children:
        inner = [(c.name, _projection(c)) for c in f.children]
        names = tuple(c.name for c in f.children)
        plain = all(p is None for _, p in inner)

        def cut(value: Any) -> Any:
            if type(value) is not dict:
                return value  # not an object: written as it is (types are enforced upstream)
            if plain and tuple(value) == names:
                return value
            out: Record = {}
            for name, proj in inner:
                v = value.get(name)
                out[name] = v if proj is None or v is None else proj(v)
            return out

        return cut
    if f.data_type == "array" and f.item is not None:
        item = _projection(f.item)
        if item is None:
            return None

        def each(value: Any) -> Any:
            if type(value) is not list:
                return value
            return [v if v is None else item(v) for v in value]

        return each
    return None
