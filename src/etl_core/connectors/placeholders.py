"""`:name` placeholders in a query, translated to each driver's parameter style and bound, never formatted in.

    translate("SELECT * FROM t WHERE a = :a AND b > :b OR a = :a", "numeric")
      -> ("SELECT * FROM t WHERE a = $1 AND b > $2 OR a = $1", ["a", "b"])

Styles: `numeric` (`$1`, asyncpg: a name used twice is one parameter), `format` (`%s`, asyncmy: one argument per
occurrence; every literal `%` is doubled because the driver formats the whole text), `qmark` (`?`, sqlite3: one
argument per occurrence). Placeholders inside string literals, quoted identifiers, comments and PostgreSQL
dollar-quoted bodies are text, not parameters; `::type` casts and `:=` are not placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Style = Literal["numeric", "format", "qmark"]

_NAME_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | set("0123456789")


class QueryError(ValueError):
    """A query that cannot run as given: placeholders and params that do not match, several statements."""


READ_KEYWORDS = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN", "DESCRIBE", "DESC"})


def check_read_query(query: str) -> None:
    """A read query is one statement that reads: it starts with SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN...

    The read-only transaction refuses writes in PostgreSQL and SQLite, but MariaDB commits implicitly before
    DDL (a `DROP TABLE` would end the read-only transaction and run), so the statement is checked here too.
    """
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace() or query[i] == "(":
            i += 1
        elif query.startswith("--", i) or query.startswith("#", i):
            end = query.find("\n", i)
            i = n if end < 0 else end + 1
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            break
    j = i
    while j < n and (query[j].isalpha() or query[j] == "_"):
        j += 1
    word = query[i:j].upper()
    if word not in READ_KEYWORDS:
        shown = word or query[i : i + 20]
        raise QueryError(f"a read query must be one SELECT (or WITH, VALUES, SHOW, EXPLAIN); it starts with {shown!r}")


def translate(query: str, style: Style) -> tuple[str, list[str]]:
    """The query in the driver's style and the parameter names in argument order."""
    out: _Pieces = _Pieces(double_percent=style == "format")
    names: list[str] = []
    numbers: dict[str, int] = {}
    backslash_strings = style == "format"  # MariaDB/MySQL strings take backslash escapes by default
    i = 0
    n = len(query)
    ended: int | None = None  # where the first statement ended (a top-level ';')

    def content() -> None:
        if ended is not None:
            raise QueryError(
                f"the query holds more than one statement (';' at character {ended + 1}); give one statement"
            )

    while i < n:
        ch = query[i]
        nxt = query[i + 1] if i + 1 < n else ""
        if ch in ("'", '"', "`"):
            content()
            escapes = backslash_strings or (ch == "'" and i > 0 and query[i - 1] in "eE" and _word_start(query, i - 1))
            end = _quoted_end(query, i, ch, escapes)
            out.append(query[i:end])
            i = end
        elif (ch == "-" and nxt == "-") or (ch == "#" and style == "format"):
            end = query.find("\n", i)
            end = n if end < 0 else end
            out.append(query[i:end])
            i = end
        elif ch == "/" and nxt == "*":
            end = query.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(query[i:end])
            i = end
        elif ch == "$" and style == "numeric" and (tag := _dollar_tag(query, i)) is not None:
            content()
            end = query.find(tag, i + len(tag))
            end = n if end < 0 else end + len(tag)
            out.append(query[i:end])
            i = end
        elif (ch == "$" and style == "numeric" and nxt.isdigit()) or (ch == "?" and style == "qmark"):
            raise QueryError(
                f"the query uses the driver's own placeholder {ch + nxt if ch == '$' else ch!r} at character {i + 1}; "
                "write :name placeholders and give their values in params"
            )
        elif ch == ":" and nxt == ":":
            content()
            out.append("::")
            i += 2
        elif ch == ":" and nxt in _NAME_START:
            content()
            j = i + 1
            while j < n and query[j] in _NAME_CHARS:
                j += 1
            name = query[i + 1 : j]
            if style == "numeric":
                if name not in numbers:
                    numbers[name] = len(numbers) + 1
                    names.append(name)
                out.placeholder(f"${numbers[name]}")
            else:
                names.append(name)
                out.placeholder("%s" if style == "format" else "?")
            i = j
        else:
            if ch == ";":
                ended = i if ended is None else ended
            elif not ch.isspace():
                content()
            out.append(ch)
            i += 1
    return "".join(out), names


class _Pieces(list[str]):
    """Output text; in `format` style every literal `%` is doubled, placeholders are added as they are."""

    def __init__(self, *, double_percent: bool) -> None:
        super().__init__()
        self._double = double_percent

    def append(self, text: str) -> None:
        super().append(text.replace("%", "%%") if self._double else text)

    def placeholder(self, text: str) -> None:
        super().append(text)


def _word_start(query: str, i: int) -> bool:
    return i == 0 or not (query[i - 1].isalnum() or query[i - 1] == "_")


def _quoted_end(query: str, start: int, quote: str, escapes: bool) -> int:
    i = start + 1
    n = len(query)
    while i < n:
        ch = query[i]
        if escapes and ch == "\\" and quote != "`":
            i += 2
            continue
        if ch == quote:
            if i + 1 < n and query[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _dollar_tag(query: str, i: int) -> str | None:
    """`$tag$` or `$$` starting at i (PostgreSQL dollar quoting), else None (`$1` is a parameter)."""
    if i > 0 and (query[i - 1].isalnum() or query[i - 1] == "_"):
        return None
    j = i + 1
    while j < len(query) and (query[j].isalnum() or query[j] == "_"):
        j += 1
    if j < len(query) and query[j] == "$":
        tag = query[i : j + 1]
        if len(tag) > 2 and tag[1].isdigit():
            return None
        return tag
    return None


def bind(names: list[str], params: Mapping[str, Any]) -> list[Any]:
    """Arguments for `names` from `params`: every placeholder needs a value; params the query does not name are
    ignored (a job may keep spare params, e.g. for a query it switches between)."""
    missing = sorted({n for n in names if n not in params})
    if missing:
        raise QueryError(
            f"the query uses :{', :'.join(missing)} but params has no value for "
            f"{'it' if len(missing) == 1 else 'them'} (params: {', '.join(sorted(params)) or 'none'})"
        )
    return [params[n] for n in names]
