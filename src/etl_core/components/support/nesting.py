"""Nested records meet flat formats: dotted column names for objects, `[i]` for list items.

`flatten({"a": {"b": 1}, "tags": ["x", "y"]})` is `{"a.b": 1, "tags[0]": "x", "tags[1]": "y"}` and
`unflatten` turns it back. With a schema, an `object` field that declares no children is free-form and
travels as JSON text in a flat format, so a flat file always has a fixed set of columns.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

from etl_core.config.schema import FieldDef, Schema

_INDEX = re.compile(r"\[(\d+)\]")


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys and lists to `[i]` keys (empty containers stay as they are)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        _flatten_into(out, f"{prefix}{key}", value)
    return out


def _flatten_into(out: dict[str, Any], path: str, value: Any) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten_into(out, f"{path}.{key}", inner)
    elif isinstance(value, list) and value:
        for i, inner in enumerate(value):
            _flatten_into(out, f"{path}[{i}]", inner)
    else:
        out[path] = value


def split_path(path: str) -> list[str | int]:
    """`a.b[2].c` -> `["a", "b", 2, "c"]`."""
    parts: list[str | int] = []
    for piece in path.split("."):
        head = piece.split("[", 1)[0]
        if head:
            parts.append(head)
        parts.extend(int(m) for m in _INDEX.findall(piece))
    return parts


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `flatten`; keys without dots or brackets are copied as they are."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if "." not in key and "[" not in key:
            out[key] = value
            continue
        set_path(out, split_path(key), value)
    return out


def set_path(target: dict[str, Any], parts: list[str | int], value: Any) -> None:
    node: Any = target
    for part, nxt in pairwise(parts):
        child = _child(node, part)
        if child is None:
            child = [] if isinstance(nxt, int) else {}
            _assign(node, part, child)
        node = child
    _assign(node, parts[-1], value)


def get_path(record: Any, parts: Iterable[str | int]) -> Any:
    """The value at a split path, or None when any step is missing."""
    node = record
    for part in parts:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return None
            node = node[part]
        else:
            if not isinstance(node, dict):
                return None
            node = node.get(part)
            if node is None:
                return None
    return node


def _child(node: Any, part: str | int) -> Any:
    if isinstance(part, int):
        return node[part] if part < len(node) else None
    return node.get(part)


def _assign(node: Any, part: str | int, value: Any) -> None:
    if isinstance(part, int):
        while len(node) <= part:
            node.append(None)
        node[part] = value
    else:
        node[part] = value


def free_form(f: FieldDef) -> bool:
    """An object without declared children, or an array: travels as one JSON text column in flat formats."""
    return (f.data_type == "object" and not f.children) or f.data_type == "array"


def flat_columns(schema: Schema) -> list[str]:
    """The column names of a flat file for `schema`: objects with children expand to dotted names."""
    return [path for path, _ in schema.leaves()]


def is_nested(schema: Schema) -> bool:
    return any(f.data_type in ("object", "array") for f in schema.fields)


def to_flat_value(value: Any) -> Any:
    """A value for one flat cell: containers become JSON text (values JSON has no type for, timestamps say,
    as their ISO or plain text). A container nested deeper than Python can serialise raises RecursionError."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=_json_text)
    return value


def _json_text(value: Any) -> str:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)
