"""`${name}` and `${env:NAME}` references inside string options (job-config.md §6).

    "dsn": "postgresql://etl:${db_password}@db:5432/sales"   ->  [text, Reference("param", "db_password"), text]

A reference is `${` name `}`; `${env:NAME}` reads the process environment. `$${` is a literal `${` (an escape for
text that must keep the characters). Names are letters, digits, `_`, `.` and `-`, starting with a letter or `_`.
A `${` that does not open a well-formed reference is a syntax error, never silently kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

_TOKEN = re.compile(r"\$\$\{|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


class ReferenceSyntaxError(ValueError):
    """A `${` that does not open a well-formed reference."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference: a context parameter (`param`) or a process environment variable (`env`)."""

    kind: Literal["param", "env"]
    name: str

    def __str__(self) -> str:
        return f"${{env:{self.name}}}" if self.kind == "env" else f"${{{self.name}}}"


Part = str | Reference


def has_references(text: str) -> bool:
    return "${" in text


def split_references(text: str) -> list[Part]:
    """`text` as literal pieces and references, in order; raises ReferenceSyntaxError on a malformed `${`."""
    parts: list[Part] = []
    literal: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() < pos:
            continue
        literal.append(text[pos : match.start()])
        if match.group() == "$${":
            literal.append("${")
            pos = match.end()
            continue
        close = text.find("}", match.end())
        if close < 0:
            raise ReferenceSyntaxError(f"'${{' at character {match.start() + 1} is never closed with '}}'")
        body = text[match.end() : close].strip()
        ref = _parse_body(body, match.start() + 1)
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(ref)
        pos = close + 1
    literal.append(text[pos:])
    tail = "".join(literal)
    if tail:
        parts.append(tail)
    return [p for p in parts if p != ""]


def _parse_body(body: str, where: int) -> Reference:
    kind: Literal["param", "env"] = "param"
    name = body
    if body.startswith("env:"):
        kind = "env"
        name = body[4:].strip()
    if not _NAME.match(name):
        shown = "${" + body + "}" if len(body) <= 60 else "${...}"
        raise ReferenceSyntaxError(
            f"{shown} at character {where} is not a valid reference (use ${{name}} or ${{env:NAME}}; "
            "names are letters, digits, '_', '.', '-')"
        )
    return Reference(kind, name)


def references_in(text: str) -> list[Reference]:
    return [p for p in split_references(text) if isinstance(p, Reference)]


def substitute(parts: list[Part], values: Mapping[Reference, str]) -> str:
    """Join `parts`, replacing each reference with its value (every reference must be in `values`)."""
    return "".join(p if isinstance(p, str) else values[p] for p in parts)


def walk_strings(value: Any, fn: Callable[[str, str], str], path: str = "") -> Any:
    """`value` with every string inside it (dict values and list items, recursively) replaced by `fn(path, s)`.

    Paths are dotted for mapping keys and `[i]` for list items (`params.since`, `key_columns[0]`). Containers
    without any changed string are returned as they are.
    """
    if isinstance(value, str):
        return fn(path, value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        changed = False
        for key, inner in value.items():
            new = walk_strings(inner, fn, f"{path}.{key}" if path else str(key))
            changed = changed or new is not inner
            out[key] = new
        return out if changed else value
    if isinstance(value, (list, tuple)):
        items = [walk_strings(inner, fn, f"{path}[{i}]") for i, inner in enumerate(value)]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    return value
