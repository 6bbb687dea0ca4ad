"""Port schemas: the shape of the records on a port (job-config.md §3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DataType = Literal["string", "integer", "float", "boolean", "object", "array", "enum", "path"]
DATA_TYPES: tuple[str, ...] = ("string", "integer", "float", "boolean", "object", "array", "enum", "path")


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FieldDef(StrictModel):
    """One field of a schema. `children` only for objects, `item` only for arrays, `enum_values` only for enums."""

    name: str = Field("", description="field name; dotted paths address nested fields")
    data_type: DataType = Field(description="the value's type")
    nullable: bool = Field(False, description="whether null is an expected value (informational, see docs)")
    enum_values: list[str] | None = Field(None, description="allowed values of an enum field")
    children: list[FieldDef] | None = Field(None, description="the fields of an object")
    item: FieldDef | None = Field(None, description="the element of an array")

    @model_validator(mode="after")
    def _shape_fits_type(self) -> FieldDef:
        if self.children is not None and self.data_type != "object":
            raise ValueError(f"'children' is only allowed on object fields, not on {self.data_type}")
        if self.item is not None and self.data_type != "array":
            raise ValueError(f"'item' is only allowed on array fields, not on {self.data_type}")
        if self.enum_values is not None and self.data_type != "enum":
            raise ValueError(f"'enum_values' is only allowed on enum fields, not on {self.data_type}")
        if self.data_type == "enum" and not self.enum_values:
            raise ValueError("an enum field needs a non-empty 'enum_values'")
        if self.children is not None:
            _check_unique(self.children)
        return self


def _check_unique(fields: list[FieldDef]) -> None:
    seen: set[str] = set()
    for f in fields:
        if not f.name:
            raise ValueError("every field needs a non-empty 'name'")
        if f.name in seen:
            raise ValueError(f"field name {f.name!r} appears twice")
        seen.add(f.name)


class Schema(StrictModel):
    """`{"fields": [...]}`: the shape of records on one port."""

    fields: list[FieldDef] = Field(default_factory=list, description="the record's fields, in order")

    @model_validator(mode="after")
    def _names_unique(self) -> Schema:
        _check_unique(self.fields)
        return self

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldDef | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def leaves(self) -> Iterator[tuple[str, FieldDef]]:
        """Every non-object field with its dotted path (objects expanded into their children)."""
        yield from _leaves(self.fields, "")


def _leaves(fields: list[FieldDef], prefix: str) -> Iterator[tuple[str, FieldDef]]:
    for f in fields:
        path = f"{prefix}{f.name}"
        if f.data_type == "object" and f.children:
            yield from _leaves(f.children, path + ".")
        else:
            yield path, f


def type_compatible(source: FieldDef, target: FieldDef) -> bool:
    """Whether values of `source` may flow into a port declaring `target` (equal or convertible types)."""
    if source.data_type == target.data_type:
        if source.data_type == "object":
            return _children_compatible(source.children or [], target.children or [])
        if source.data_type == "array" and source.item is not None and target.item is not None:
            return type_compatible(source.item, target.item)
        return True
    return (source.data_type, target.data_type) in _CONVERTIBLE


def _children_compatible(source: list[FieldDef], target: list[FieldDef]) -> bool:
    if not source or not target:
        return True
    by_name = {f.name: f for f in source}
    if set(by_name) != {f.name for f in target}:
        return False
    return all(type_compatible(by_name[t.name], t) for t in target)


_STRINGISH = ("string", "path", "enum")
_CONVERTIBLE: frozenset[tuple[str, str]] = frozenset(
    {(a, b) for a in _STRINGISH for b in _STRINGISH if a != b}
    | {("integer", "float"), ("float", "integer"), ("boolean", "integer"), ("integer", "boolean")}
    | {(a, "string") for a in ("integer", "float", "boolean")}
    | {("string", b) for b in ("integer", "float", "boolean")}
)


def schema_difference(source: Schema, target: Schema) -> str | None:
    """Why records of `source` do not fit `target`, or None when they do."""
    src = {f.name: f for f in source.fields}
    dst = {f.name: f for f in target.fields}
    missing = [n for n in dst if n not in src]
    extra = [n for n in src if n not in dst]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"field(s) {', '.join(map(repr, missing))} missing upstream")
        if extra:
            parts.append(f"field(s) {', '.join(map(repr, extra))} not declared downstream")
        return "; ".join(parts)
    for name, t in dst.items():
        s = src[name]
        if not type_compatible(s, t):
            return f"field {name!r} is {s.data_type} upstream but {t.data_type} downstream"
    return None
