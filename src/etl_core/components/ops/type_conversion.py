"""`type_conversion`: converts fields (dotted paths, `*` for every list element) to a data type.

Records are never mutated: a record with a changed value is a shallow copy, and nested containers are copied
only along the converted path; a record where nothing changed is passed on as it is. A value that already has
the target type costs one type check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from etl_core.components.base import Batch, ComponentContext, ComponentOptions
from etl_core.components.ops._paths import column
from etl_core.components.registry import register
from etl_core.components.support.values import ConversionError, converter_for, is_null_text
from etl_core.config.schema import DataType, FieldDef, Schema, StrictModel

OnError = Literal["raise", "null", "skip"]
_WILD = "*"
_PY_TYPE: dict[str, type | None] = {
    "integer": int,
    "float": float,
    "boolean": bool,
    "string": str,
    "path": str,
    "enum": None,
    "object": dict,
    "array": list,
}
_STRINGISH = frozenset({"string", "path"})
_MISSING: Any = object()

Part = str | int
LeafResult = tuple[Any, str | None]


class ConversionRule(StrictModel):
    """Convert the value(s) at `column_path` to `target`."""

    column_path: str = Field(min_length=1, description="dotted path; '*' stands for every element of a list")
    target: DataType = Field(description="the data type to convert to")
    on_error: OnError = Field("raise", description="raise: record error; null: set null; skip: keep the original value")
    enum_values: list[str] | None = Field(None, description="the allowed values when target is enum")

    @model_validator(mode="after")
    def _check(self) -> ConversionRule:
        _parse(self.column_path)
        if self.target == "enum" and not self.enum_values:
            raise ValueError("target 'enum' needs 'enum_values'")
        if self.target != "enum" and self.enum_values is not None:
            raise ValueError("'enum_values' is only allowed with target 'enum'")
        return self

    def field(self, name: str, nullable: bool) -> FieldDef:
        return FieldDef(name=name, data_type=self.target, nullable=nullable, enum_values=self.enum_values)


class TypeConversionOptions(ComponentOptions):
    """Options of `type_conversion`."""

    rules: list[ConversionRule] = Field(default_factory=list, description="the conversions, applied in order")


_PIECE = re.compile(r"([^\[\]]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


def _parse(path: str) -> list[Part]:
    """`items.*.price` -> ["items", "*", "price"]; `tags[0]` -> ["tags", 0]."""
    parts: list[Part] = []
    for piece in path.split("."):
        match = _PIECE.fullmatch(piece)
        if match is None or not piece:
            raise ValueError(f"column_path {path!r}: {piece!r} is not a field name, '*' or name[index]")
        if match.group(1):
            parts.append(match.group(1))
        parts.extend(int(i) for i in _INDEX.findall(match.group(2)))
    if not isinstance(parts[0], str) or parts[0] == _WILD:
        raise ValueError(f"column_path {path!r} must start with a field name")
    return parts


class _Compiled:
    """One rule ready to run: the top-level key it touches and a converter of the value under that key."""

    def __init__(self, rule: ConversionRule) -> None:
        parts = _parse(rule.column_path)
        self.key = str(parts[0])
        self.rest = parts[1:]
        self.path = rule.column_path
        # a flat record (read from a flat format without an object schema) carries the dotted name as its key
        plain_dotted = bool(self.rest) and all(isinstance(p, str) and p != _WILD for p in self.rest)
        self.flat_key = rule.column_path if plain_dotted else None
        self.target = rule.target
        self.on_error = rule.on_error
        self.py_type = _PY_TYPE[rule.target]
        self.stringish = rule.target in _STRINGISH
        self.convert = converter_for(rule.field("", True))
        self.values = column(self.key)
        # the value types that need no work (enum members must be checked one by one)
        self.ok_types = None if self.py_type is None else frozenset({self.py_type, type(None)})

    def leaf(self, value: Any) -> LeafResult:
        if value is None or type(value) is self.py_type:
            return value, None
        if not self.stringish and is_null_text(value):
            return None, None
        try:
            return self.convert(value), None
        except ConversionError as exc:
            if self.on_error == "null":
                return None, None
            if self.on_error == "skip":
                return value, None
            return value, f"{self.path}: {exc} ({self.target})"

    def apply(self, value: Any) -> LeafResult:
        """The converted value under the top-level key (the same object when nothing changed)."""
        if not self.rest:
            return self.leaf(value)
        return self._walk(value, 0)

    def _walk(self, node: Any, i: int) -> LeafResult:
        part = self.rest[i]
        last = i == len(self.rest) - 1
        step: Callable[[Any], LeafResult] = self.leaf if last else (lambda child: self._walk(child, i + 1))
        if part == _WILD:
            if not isinstance(node, list):
                return node, None
            copy: list[Any] | None = None
            for j, item in enumerate(node):
                new, error = step(item)
                if error is not None:
                    return node, error
                if new is not item:
                    if copy is None:
                        copy = list(node)
                    copy[j] = new
            return (node if copy is None else copy), None
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return node, None
            new, error = step(node[part])
            if error is not None or new is node[part]:
                return node, error
            changed = list(node)
            changed[part] = new
            return changed, None
        if not isinstance(node, dict) or part not in node:
            return node, None
        old = node[part]
        new, error = step(old)
        if error is not None or new is old:
            return node, error
        replaced = dict(node)
        replaced[part] = new
        return replaced, None


def convert_batch(rules: list[_Compiled], batch: Batch) -> tuple[Batch, list[tuple[Any, str, int | None]]]:
    """New records for a batch (unchanged records are passed on as they are) and the records that failed.

    Rules apply in order. A rule on a top-level field works column-wise: when every value of the batch already
    has the target type (or is null), the rule costs one C-level pass over the column.
    """
    current: Batch = list(batch)
    owned = [False] * len(batch)
    failed: dict[int, str] = {}
    for rule in rules:
        if rule.rest:
            _apply_nested(rule, current, owned, failed)
            continue
        values = rule.values(current)
        if rule.ok_types is not None and rule.ok_types.issuperset(map(type, values)):
            continue
        py_type, key = rule.py_type, rule.key
        for i, value in enumerate(values):
            if value is None or type(value) is py_type or i in failed:
                continue
            new, error = rule.leaf(value)
            if error is not None:
                failed[i] = error
            elif new is not value:
                record = current[i]
                if not owned[i]:
                    record = current[i] = dict(record)
                    owned[i] = True
                record[key] = new
    if not failed:
        return current, []
    good = [record for i, record in enumerate(current) if i not in failed]
    return good, [(batch[i], failed[i], None) for i in sorted(failed)]


def _apply_nested(rule: _Compiled, current: Batch, owned: list[bool], failed: dict[int, str]) -> None:
    """A rule on a nested path, record by record (copying containers only along the path)."""
    for i, record in enumerate(current):
        if i in failed:
            continue
        key = rule.key
        if rule.flat_key is not None and rule.flat_key in record:
            key = rule.flat_key
            value = record[key]
            new, error = rule.leaf(value)
        else:
            value = record.get(key, _MISSING)
            if value is _MISSING:
                continue
            new, error = rule.apply(value)
        if error is not None:
            failed[i] = error
        elif new is not value:
            if not owned[i]:
                record = current[i] = dict(record)
                owned[i] = True
            record[key] = new


def derive_conversion_schema(
    options: TypeConversionOptions, in_schemas: Mapping[str, Schema | None], _out_ports: Sequence[str]
) -> dict[str, Schema]:
    """The input schema with each converted field's type replaced by its rule's target."""
    source = in_schemas.get("in")
    if source is None:
        return {}
    fields = list(source.fields)
    for rule in options.rules:
        nullable = rule.target not in _STRINGISH or rule.on_error == "null"
        flat = next((i for i, f in enumerate(fields) if f.name == rule.column_path), None)
        if flat is not None:  # a flat field named by the dotted path itself
            fields[flat] = rule.field(rule.column_path, fields[flat].nullable or nullable)
            continue
        fields = _retype(fields, _parse(rule.column_path), rule, nullable)
    return {"out": Schema(fields=fields)}


def _retype(fields: list[FieldDef], parts: list[Part], rule: ConversionRule, nullable: bool) -> list[FieldDef]:
    head, rest = parts[0], parts[1:]
    out = []
    for f in fields:
        if f.name == head:
            f = _retype_field(f, rest, rule, nullable)
        out.append(f)
    return out


def _retype_field(f: FieldDef, rest: list[Part], rule: ConversionRule, nullable: bool) -> FieldDef:
    if not rest:
        return rule.field(f.name, f.nullable or nullable)
    if rest[0] == _WILD or isinstance(rest[0], int):
        if f.item is None:
            return f
        return f.model_copy(update={"item": _retype_field(f.item, rest[1:], rule, nullable)})
    if not f.children:
        return f
    return f.model_copy(update={"children": _retype(f.children, rest, rule, nullable)})


@register(
    "type_conversion",
    options=TypeConversionOptions,
    inputs=("in",),
    outputs=("out",),
    derive_schemas=derive_conversion_schema,
    icon="wand",
    summary="Converts fields (dotted paths, '*' for list elements) to a data type; failures raise, null or skip.",
    example={
        "name": "typed",
        "comp_type": "type_conversion",
        "rules": [
            {"column_path": "id", "target": "integer", "on_error": "raise"},
            {"column_path": "items.*.price", "target": "float", "on_error": "null"},
        ],
        "in_port_schemas": {
            "in": {
                "fields": [
                    {"name": "id", "data_type": "string"},
                    {
                        "name": "items",
                        "data_type": "array",
                        "item": {
                            "name": "item",
                            "data_type": "object",
                            "children": [{"name": "price", "data_type": "string"}],
                        },
                    },
                ]
            }
        },
    },
)
async def run_type_conversion(ctx: ComponentContext[TypeConversionOptions]) -> None:
    rules = [_Compiled(rule) for rule in ctx.options.rules]
    async with ctx.input("in") as inbox, ctx.output("out") as out:
        async for batch in inbox:
            converted, errors = convert_batch(rules, batch)
            if errors:
                await ctx.record_errors(errors)
            await out.send(converted)
