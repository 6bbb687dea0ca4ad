"""Table names from `entity_name`, and identifier quoting per SQL dialect.

`entity_name` is a name, never SQL: it is split into at most `schema.table` (a part may be double-quoted to
contain a dot: `"odd.schema".orders`), and every part is quoted when SQL is built, so `orders; DROP TABLE x`
names a (missing) table called exactly that. Because names are always quoted they are case-sensitive:
`Orders` is not `orders` in PostgreSQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


class IdentifierError(ValueError):
    """An entity or column name that cannot be used (empty, too long, a NUL character, too many parts)."""


@dataclass(frozen=True, slots=True)
class TableName:
    """A table, optionally qualified by its schema (PostgreSQL), database (MariaDB) or attached db (SQLite)."""

    name: str
    schema: str | None = None

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def sibling(self, name: str) -> TableName:
        """Another table in the same schema."""
        return TableName(name, self.schema)


def parse_table_name(text: str) -> TableName:
    """`orders`, `public.orders`, `"my.schema"."Orders"` -> TableName; raises IdentifierError."""
    if not isinstance(text, str) or not text.strip():
        raise IdentifierError("the entity name is empty")
    parts = _split(text.strip())
    if len(parts) > 2:
        raise IdentifierError(f"entity name {text!r} has {len(parts)} parts; use 'table' or 'schema.table'")
    for part in parts:
        check_identifier(part, what="entity name part")
    if len(parts) == 2:
        return TableName(parts[1], parts[0])
    return TableName(parts[0])


def _split(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    was_quoted = False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"':
                if i + 1 < len(text) and text[i + 1] == '"':
                    current.append('"')
                    i += 2
                    continue
                quoted = False
            else:
                current.append(ch)
        elif ch == '"' and not "".join(current).strip():
            quoted = True
            was_quoted = True
            current = []
        elif ch == ".":
            parts.append(_finish(current, was_quoted, text))
            current = []
            was_quoted = False
        else:
            current.append(ch)
        i += 1
    if quoted:
        raise IdentifierError(f"entity name {text!r} has an unclosed double quote")
    parts.append(_finish(current, was_quoted, text))
    return parts


def _finish(chars: list[str], quoted: bool, text: str) -> str:
    part = "".join(chars)
    if not quoted:
        part = part.strip()
    if not part:
        raise IdentifierError(f"entity name {text!r} has an empty part")
    return part


def check_identifier(name: str, *, what: str = "identifier", max_bytes: int | None = None) -> str:
    """`name` if it can be quoted safely (non-empty, no NUL, within `max_bytes` UTF-8 bytes)."""
    if not name:
        raise IdentifierError(f"{what} is empty")
    if "\x00" in name:
        raise IdentifierError(f"{what} {name!r} contains a NUL character")
    if max_bytes is not None and len(name.encode("utf-8")) > max_bytes:
        raise IdentifierError(f"{what} {name!r} is longer than {max_bytes} bytes")
    return name


def derived_name(base: str, tag: str) -> str:
    """A fresh helper-table name next to `base` (`orders_etl_new_3f2a...`), short enough for every database."""
    head = base.encode("utf-8")[:30].decode("utf-8", errors="ignore")
    return f"{head}_etl_{tag}_{uuid.uuid4().hex[:12]}"


def quote_double(name: str) -> str:
    """ANSI quoting (PostgreSQL, SQLite): `"name"` with inner double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_backtick(name: str) -> str:
    """MariaDB/MySQL quoting: `` `name` `` with inner backticks doubled."""
    return "`" + name.replace("`", "``") + "`"
