"""What every database backend provides: a SQL dialect, a read session and a write session.

    Backend ──reader()──> ReadSession ──open_cursor(sql, args)──> Cursor.fetch(n) ...
            └─writer()──> WriteSession: table_info, begin/commit/rollback, savepoints, insert/upsert/update, swap

Sessions hold one connection for one component run. Driver exceptions leave the sessions as they are; the
components ask the backend to `classify` them (a value the database rejects, a transient failure, refused
credentials, anything else) and to `describe` them, with secrets masked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import anyio

from etl_core.config.schema import FieldDef
from etl_core.connectors.identifiers import IdentifierError, TableName, check_identifier
from etl_core.connectors.placeholders import Style

ErrorKind = Literal["reject", "transient", "permanent", "other"]
"""reject: the database refused a value or a constraint (a record error when writing); transient: worth
retrying (connection lost, deadlock); permanent: no retry can help (refused credentials, bad SQL, missing
table); other: anything else (retried like any component failure)."""

Operation = Literal["insert", "upsert", "update", "truncate", "replace"]
Encoder = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class ColumnMeta:
    """A result column: its name and, where the driver tells, the database type name (lower case)."""

    name: str
    db_type: str | None = None


@dataclass(frozen=True, slots=True)
class TableInfo:
    """An existing table: column name -> database type name (lower case), in table order, and its primary key."""

    columns: dict[str, str]
    primary_key: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ColumnEncoding:
    """How values of one column are made acceptable to the driver: types passed as they are, else `fn`."""

    accepted: frozenset[type]
    fn: Encoder


class Dialect:
    """SQL text for one database: quoting, parameter style, column types, DDL."""

    name = "sql"
    paramstyle: Style = "qmark"
    max_identifier_bytes: int | None = None
    table_options = ""

    def quote(self, name: str) -> str:
        raise NotImplementedError

    def check(self, name: str, what: str = "column name") -> str:
        return check_identifier(name, what=what, max_bytes=self.max_identifier_bytes)

    def table(self, t: TableName) -> str:
        self.check(t.name, "table name")
        if t.schema:
            self.check(t.schema, "schema name")
            return f"{self.quote(t.schema)}.{self.quote(t.name)}"
        return self.quote(t.name)

    def column_type(self, f: FieldDef, *, key: bool) -> str:
        raise NotImplementedError

    def create_table(self, t: TableName, columns: Sequence[tuple[str, FieldDef]], keys: Sequence[str]) -> str:
        """`CREATE TABLE IF NOT EXISTS` with a column per schema leaf; `keys` become the primary key."""
        if not columns:
            raise IdentifierError(f"cannot create table {t}: the input schema has no fields")
        defs = []
        for name, f in columns:
            is_key = name in keys
            defs.append(
                f"{self.quote(self.check(name))} {self.column_type(f, key=is_key)}" + (" NOT NULL" if is_key else "")
            )
        if keys:
            defs.append(f"PRIMARY KEY ({', '.join(self.quote(k) for k in keys)})")
        return f"CREATE TABLE IF NOT EXISTS {self.table(t)} ({', '.join(defs)}){self.table_options}"

    def drop_table(self, t: TableName) -> str:
        return f"DROP TABLE IF EXISTS {self.table(t)}"

    def delete_all(self, t: TableName) -> str:
        return f"DELETE FROM {self.table(t)}"

    def select(self, t: TableName, columns: Sequence[str] | None) -> str:
        cols = ", ".join(self.quote(self.check(c)) for c in columns) if columns else "*"
        return f"SELECT {cols} FROM {self.table(t)}"

    # Merges through a staging table holding one batch (at most one row per key), `target` and `stage` quoted.
    # A key matches with `=`, so a null key matches nothing (as in a unique index) and its row is inserted.

    def key_match(self, keys: Sequence[str]) -> str:
        return " AND ".join(f"t.{self.quote(k)} = s.{self.quote(k)}" for k in keys)

    def update_from(self, target: str, stage: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        """Set the non-key columns of every target row (`t`) whose keys match a staged row (`s`)."""
        sets = ", ".join(f"{self.quote(c)} = s.{self.quote(c)}" for c in columns if c not in keys)
        return f"UPDATE {target} AS t SET {sets} FROM {stage} AS s WHERE {self.key_match(keys)}"

    def insert_unmatched(self, target: str, stage: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        """Insert the staged rows whose keys match no target row."""
        cols = ", ".join(self.quote(c) for c in columns)
        return (
            f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {self.key_match(keys)})"
        )

    def staged_upsert(self, target: str, stage: str, columns: Sequence[str], keys: Sequence[str]) -> list[str]:
        """An upsert matching on `keys` whatever the target's constraints: update the matches, then insert the
        rest (in this order, so that the insert sees the updated rows and skips them)."""
        update = [self.update_from(target, stage, columns, keys)] if any(c not in keys for c in columns) else []
        return [*update, self.insert_unmatched(target, stage, columns, keys)]


class Cursor(Protocol):
    """An open result: its columns, and rows fetched `n` at a time (an empty list at the end)."""

    columns: list[ColumnMeta]

    async def fetch(self, n: int) -> Sequence[Sequence[Any]]: ...


class ReadSession(Protocol):
    """One connection in a read-only transaction. `names` are the placeholder names of `args`, for messages."""

    async def open_cursor(self, sql: str, names: Sequence[str], args: Sequence[Any]) -> Cursor: ...


class WriteSession(Protocol):
    """One connection writing one table. The writer drives the transaction; see components/databases/writing.py.

    `transactional_ddl`: CREATE/DROP/RENAME take part in the transaction (PostgreSQL, SQLite); when False
    (MariaDB) DDL commits on its own, so it runs before `begin` and a replace swaps after `commit`.

    `upsert` and `update` match target rows on `keys` (equal values, a null matching nothing) whatever unique
    constraints the table has; `prepare_merge` runs once before the first batch and picks how. A batch holds
    at most one row per key.
    """

    transactional_ddl: bool

    async def table_info(self, table: TableName) -> TableInfo | None: ...
    async def execute(self, sql: str) -> None: ...
    async def begin(self) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def savepoint(self, name: str) -> None: ...
    async def release(self, name: str) -> None: ...
    async def rollback_to(self, name: str) -> None: ...
    def encodings(
        self, columns: Sequence[str], fields: Sequence[FieldDef], info: TableInfo
    ) -> list[ColumnEncoding | None]: ...
    async def prepare_merge(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], operation: Operation
    ) -> None: ...
    async def insert(self, table: TableName, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...
    async def upsert(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None: ...
    async def update(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None: ...
    async def empty(self, table: TableName) -> None: ...
    async def swap(self, staging: TableName, target: TableName) -> None: ...
    async def cleanup(self) -> None: ...


class Backend(Protocol):
    """A database reached by one component run. `target` says what is being talked to, safe to show
    (`postgresql postgres@127.0.0.1:5432/test`, `sqlite /data/x.db`)."""

    @property
    def dialect(self) -> Dialect: ...
    @property
    def target(self) -> str: ...

    def redact(self, text: str) -> str: ...
    def reader(self) -> AbstractAsyncContextManager[ReadSession]: ...
    def writer(self) -> AbstractAsyncContextManager[WriteSession]: ...
    def classify(self, exc: BaseException) -> ErrorKind: ...
    def describe(self, exc: BaseException) -> str: ...


CLEANUP_TIMEOUT_S = 10.0


async def quietly(fn: Callable[[], Awaitable[Any]]) -> bool:
    """Run a clean-up step even while the task is being cancelled; False when it failed or timed out."""
    with anyio.move_on_after(CLEANUP_TIMEOUT_S, shield=True):
        try:
            await fn()
        except Exception:  # noqa: BLE001 - clean-up after a failure must not hide the failure itself
            return False
        return True
    return False
