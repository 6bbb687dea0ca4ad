"""Dotted paths into records and schemas, shared by the data operations.

A path is a top-level key (`city`), a dotted walk into nested objects (`address.city`), or either with list
indexes (`tags[0]`). A flat record may also carry the dotted name itself as a key (`{"address.city": ...}`, as
read from a CSV without an object schema); the key wins over the nested walk, so both shapes work.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from etl_core.components.columns import Columns
from etl_core.components.support.nesting import get_path, split_path
from etl_core.config.schema import FieldDef, Schema

Getter = Callable[[dict[str, Any]], Any]

_MISSING: Any = object()


def is_plain(path: str) -> bool:
    """A top-level key: no dots, no list indexes."""
    return "." not in path and "[" not in path


def getter(path: str) -> Getter:
    """A function returning the value at `path` in a record, None when any step is missing."""
    if is_plain(path):
        # C-level `record.get(path)`: the common case stays out of Python frames
        return operator.methodcaller("get", path)
    parts = split_path(path)

    def get(record: dict[str, Any]) -> Any:
        value = record.get(path, _MISSING)
        if value is not _MISSING:
            return value
        return get_path(record, parts)

    return get


KeyedGetter = Callable[[dict[str, Any], str], Any]


def keyed_getter(path: str) -> tuple[KeyedGetter, str]:
    """`(get, key)` such that `get(record, key)` equals `getter(path)(record)`.

    For a top-level key `get` is `dict.get` itself, so a closure calling `get(record, key)` pays one C call where
    `getter(path)(record)` pays a `methodcaller` call (several times dearer); nested paths get a Python walker.
    """
    if is_plain(path):
        return dict.get, path
    parts = split_path(path)

    def walk(record: dict[str, Any], key: str) -> Any:
        value = record.get(key, _MISSING)
        if value is not _MISSING:
            return value
        return get_path(record, parts)

    return walk, path


def column(path: str) -> Callable[[Sequence[dict[str, Any]] | Columns], Sequence[Any]]:
    """A function returning the values at `path` of every record of a batch (None where missing); a columnar
    batch that holds `path` as a field gives its value list itself."""
    if not is_plain(path):
        get = getter(path)

        def walk(batch: Sequence[dict[str, Any]] | Columns) -> Sequence[Any]:
            if isinstance(batch, Columns) and batch.has(path):
                return batch.column(path)
            return [get(record) for record in batch]

        return walk
    strict = operator.itemgetter(path)

    def values(batch: Sequence[dict[str, Any]] | Columns) -> Sequence[Any]:
        if isinstance(batch, Columns):
            return batch.column(path) if batch.has(path) else [None] * len(batch)
        try:  # records usually carry every field of their schema: the C-level fast path
            return list(map(strict, batch))
        except KeyError:
            return list(map(dict.get, batch, itertools.repeat(path)))

    return values


def field_at(schema: Schema | None, path: str) -> FieldDef | None:
    """The field a path addresses in `schema` (a flat dotted name first, then the nested walk), or None.

    `*` and `[i]` steps go into an array's `item`.
    """
    if schema is None:
        return None
    flat = schema.field(path)
    if flat is not None:
        return flat
    fields: list[FieldDef] | None = list(schema.fields)
    current: FieldDef | None = None
    for piece in path.split("."):
        head, _, index = piece.partition("[")
        if head == "*":
            if current is None or current.item is None:
                return None
            current = current.item
            fields = current.children
            continue
        current = next((f for f in fields or () if f.name == head), None)
        if current is None:
            return None
        for _ in range(index.count("]")):
            if current.item is None:
                return None
            current = current.item
        fields = current.children
    return current


def schema_from_paths(items: Iterable[tuple[str, FieldDef]]) -> Schema | None:
    """A schema whose records carry each field at its dotted path (objects are created for the prefixes).

    Returns None when a path uses list indexes or two paths collide (a value and an object at one name).
    """
    root: list[FieldDef] = []
    for path, field in items:
        if "[" in path:
            return None
        *parents, leaf = path.split(".")
        level = root
        for name in parents:
            node = next((f for f in level if f.name == name), None)
            if node is None:
                node = FieldDef(name=name, data_type="object", nullable=True, children=[])
                level.append(node)
            children = node.children
            if node.data_type != "object" or children is None:
                return None
            level = children
        if any(f.name == leaf for f in level):
            return None
        level.append(field.model_copy(update={"name": leaf}))
    return Schema(fields=root)


def setter(path: str) -> Callable[[dict[str, Any], Any], None]:
    """A function putting a value at a dotted `path` in a record under construction (creating nested objects)."""
    if "." not in path:

        def put_key(record: dict[str, Any], value: Any) -> None:
            record[path] = value

        return put_key
    *parents, leaf = path.split(".")

    def put(record: dict[str, Any], value: Any) -> None:
        node = record
        for name in parents:
            child = node.get(name)
            if not isinstance(child, dict):
                child = {}
                node[name] = child
            node = child
        node[leaf] = value

    return put
