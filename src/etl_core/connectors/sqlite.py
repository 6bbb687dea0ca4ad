"""SQLite files through aiosqlite (each connection runs in its own worker thread).

- reads: the file is opened read-only (a missing file is an error, never a new empty database) and rows are
  fetched `n` at a time;
- writes: one `BEGIN IMMEDIATE` transaction (the write lock is taken at the start, so two writers wait for
  each other instead of failing half-way) and `executemany` per batch; SQLite's DDL is transactional, so
  create, replace and truncate (`DELETE`) all roll back with the run;
- upserts match on the key columns whatever the table's constraints: `INSERT ... ON CONFLICT (keys) DO UPDATE`
  when the keys are exactly the primary key or a (non-partial) unique index, else the batch goes to a
  temporary staging table, then `UPDATE ... FROM stage` on the keys and `INSERT ... SELECT` of the rows whose
  key matched nothing.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from etl_core.config.schema import FieldDef
from etl_core.connectors.base import ColumnEncoding, ColumnMeta, Dialect, ErrorKind, Operation, TableInfo, quietly
from etl_core.connectors.identifiers import TableName, quote_double
from etl_core.connectors.values import TEXT_WRITE
from etl_core.params.redaction import redact

BUSY_TIMEOUT_S = 30.0

_TYPES = {
    "integer": "INTEGER",
    "float": "REAL",
    "boolean": "BOOLEAN",
    "object": "TEXT",
    "array": "TEXT",
}


class SqliteDialect(Dialect):
    name = "sqlite"
    paramstyle = "qmark"

    def quote(self, name: str) -> str:
        return quote_double(name)

    def column_type(self, f: FieldDef, *, key: bool) -> str:
        return _TYPES.get(f.data_type, "TEXT")


class SqliteBackend:
    """One component run's access to a SQLite database file."""

    def __init__(self, path: Path, *, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self.dialect = SqliteDialect()
        self.target = f"sqlite {path}"
        self._secrets = set(secrets)

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def classify(self, exc: BaseException) -> ErrorKind:
        if isinstance(exc, sqlite3.IntegrityError):
            return "reject"
        if isinstance(exc, (sqlite3.ProgrammingError, sqlite3.InterfaceError)) and "binding" in str(exc).lower():
            return "reject"
        if isinstance(exc, sqlite3.OperationalError):
            text = str(exc).lower()
            if "locked" in text or "busy" in text:
                return "transient"
            return "permanent"
        if isinstance(exc, (OverflowError, TypeError, ValueError)):
            return "reject"  # a value sqlite3 cannot bind (an integer beyond 64 bits)
        if isinstance(exc, sqlite3.DatabaseError):
            return "permanent"
        return "other"

    def describe(self, exc: BaseException) -> str:
        text = str(exc) or type(exc).__name__
        if isinstance(exc, sqlite3.Error):
            text = f"{text} ({type(exc).__name__})"
        return self.redact(text)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[SqliteReadSession]:
        uri = self.path.as_uri() + "?mode=ro"
        async with aiosqlite.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S) as conn:
            yield SqliteReadSession(conn)

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[SqliteWriteSession]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(self.path), isolation_level=None, timeout=BUSY_TIMEOUT_S)
        session = SqliteWriteSession(conn, self.dialect)
        try:
            yield session
        finally:
            await quietly(session.rollback)
            await quietly(conn.close)


class SqliteCursor:
    def __init__(self, cursor: aiosqlite.Cursor, columns: list[ColumnMeta]) -> None:
        self._cursor = cursor
        self.columns = columns

    async def fetch(self, n: int) -> Sequence[Sequence[Any]]:
        return list(await self._cursor.fetchmany(n))


class SqliteReadSession:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def open_cursor(self, sql: str, names: Sequence[str], args: Sequence[Any]) -> SqliteCursor:
        cursor = await self._conn.execute(sql, tuple(args))
        columns = [ColumnMeta(d[0], None) for d in cursor.description or ()]
        return SqliteCursor(cursor, columns)


class SqliteWriteSession:
    transactional_ddl = True

    def __init__(self, conn: aiosqlite.Connection, dialect: SqliteDialect) -> None:
        self._conn = conn
        self._dialect = dialect
        self._stage: str | None = None  # the staging table of an upsert whose keys are no unique key

    async def table_info(self, table: TableName) -> TableInfo | None:
        async with self._conn.execute(
            "SELECT name, type, pk FROM pragma_table_info(?, ?)", (table.name, table.schema or "main")
        ) as cur:
            rows = list(await cur.fetchall())
        if not rows:
            return None
        keys = tuple(r[0] for r in sorted((r for r in rows if r[2]), key=lambda r: r[2]))
        return TableInfo({r[0]: str(r[1]).lower() for r in rows}, keys)

    async def execute(self, sql: str) -> None:
        await self._conn.execute(sql)

    async def begin(self) -> None:
        await self._conn.execute("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        if self._conn.in_transaction:
            await self._conn.execute("COMMIT")

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await self._conn.execute("ROLLBACK")

    async def savepoint(self, name: str) -> None:
        await self._conn.execute(f"SAVEPOINT {name}")

    async def release(self, name: str) -> None:
        await self._conn.execute(f"RELEASE SAVEPOINT {name}")

    async def rollback_to(self, name: str) -> None:
        await self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")

    def encodings(
        self, columns: Sequence[str], fields: Sequence[FieldDef], info: TableInfo
    ) -> list[ColumnEncoding | None]:
        return [TEXT_WRITE for _ in columns]

    async def _is_unique_key(self, table: TableName, keys: Sequence[str]) -> bool:
        """`keys` are exactly the primary key or the columns of a unique index that ON CONFLICT can name."""
        info = await self.table_info(table)
        wanted = set(keys)
        if info is not None and set(info.primary_key) == wanted:
            return True  # an INTEGER PRIMARY KEY (the rowid) has no index of its own
        schema = table.schema or "main"
        async with self._conn.execute(
            'SELECT name FROM pragma_index_list(?, ?) WHERE "unique" AND NOT partial', (table.name, schema)
        ) as cur:
            indexes = [r[0] for r in await cur.fetchall()]
        for index in indexes:
            # cid -2 is an expression, and key = 0 the rowid appended to every index
            async with self._conn.execute(
                "SELECT cid, name FROM pragma_index_xinfo(?, ?) WHERE key", (index, schema)
            ) as cur:
                parts = list(await cur.fetchall())
            if all(cid >= 0 for cid, _ in parts) and len(parts) == len(wanted) and {n for _, n in parts} == wanted:
                return True
        return False

    async def prepare_merge(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], operation: Operation
    ) -> None:
        # update is one statement per row; an upsert on a unique key one ON CONFLICT statement per row
        if operation != "upsert" or await self._is_unique_key(table, keys):
            return
        self._stage = f"etl_stage_{uuid.uuid4().hex[:16]}"
        cols = ", ".join(self._dialect.quote(c) for c in columns)
        # a temporary table lives in this connection only and goes with it
        await self._conn.execute(
            f"CREATE TEMP TABLE {self._dialect.quote(self._stage)} AS SELECT {cols} FROM {self._dialect.table(table)} "
            "WHERE 0"
        )

    def _insert_sql(self, table: str, columns: Sequence[str]) -> str:
        cols = ", ".join(self._dialect.quote(c) for c in columns)
        return f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in columns)})"

    async def insert(self, table: TableName, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.executemany(self._insert_sql(self._dialect.table(table), columns), rows)

    async def upsert(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        q = self._dialect.quote
        if self._stage is not None:
            stage = q(self._stage)
            await self._conn.execute(f"DELETE FROM {stage}")
            await self._conn.executemany(self._insert_sql(stage, columns), rows)
            for sql in self._dialect.staged_upsert(self._dialect.table(table), stage, columns, keys):
                await self._conn.execute(sql)
            return
        rest = [c for c in columns if c not in keys]
        action = "DO UPDATE SET " + ", ".join(f"{q(c)} = excluded.{q(c)}" for c in rest) if rest else "DO NOTHING"
        insert = self._insert_sql(self._dialect.table(table), columns)
        await self._conn.executemany(f"{insert} ON CONFLICT ({', '.join(q(k) for k in keys)}) {action}", rows)

    async def update(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        q = self._dialect.quote
        rest = [i for i, c in enumerate(columns) if c not in keys]
        key_idx = [columns.index(k) for k in keys]
        sets = ", ".join(f"{q(columns[i])} = ?" for i in rest)
        match = " AND ".join(f"{q(k)} = ?" for k in keys)
        order = rest + key_idx
        await self._conn.executemany(
            f"UPDATE {self._dialect.table(table)} SET {sets} WHERE {match}", [[row[i] for i in order] for row in rows]
        )

    async def empty(self, table: TableName) -> None:
        await self._conn.execute(self._dialect.delete_all(table))

    async def swap(self, staging: TableName, target: TableName) -> None:
        await self._conn.execute(self._dialect.drop_table(target))
        await self._conn.execute(
            f"ALTER TABLE {self._dialect.table(staging)} RENAME TO {self._dialect.quote(target.name)}"
        )

    async def cleanup(self) -> None:
        return None
