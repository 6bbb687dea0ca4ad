"""The embedded SQLite store (aiosqlite, WAL mode): the default, a single file at `./data/etl.db`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import anyio

from etl_core.store.sql import Connection, Row, SqlStore, StoreError

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
)


class _SqliteConnection:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._db.execute(sql, args) as cursor:
            rows = await cursor.fetchall()
        return [dict(r) for r in rows]

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        async with self._db.execute(sql, args) as cursor:
            row = await cursor.fetchone()
        return None if row is None else dict(row)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._db.execute(sql, args) as cursor:
            return max(cursor.rowcount, 0)


class SqliteStore(SqlStore):
    """One connection (aiosqlite runs it in its own thread); transactions are serialised by a lock."""

    backend = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db: aiosqlite.Connection | None = None
        self._lock = anyio.Lock()

    async def _connect(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            db = await aiosqlite.connect(self.path, isolation_level=None)
        except Exception as exc:
            raise StoreError(f"cannot open the SQLite store {self.path!r}: {exc}") from exc
        db.row_factory = aiosqlite.Row
        for pragma in _PRAGMAS:
            await db.execute(pragma)
        self._db = db

    async def _disconnect(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    @asynccontextmanager
    async def _tx(self, *, exclusive: bool = False) -> AsyncIterator[Connection]:
        db = self._db
        if db is None:
            raise StoreError("the store is not open")
        async with self._lock:
            # IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteConnection(db)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await db.rollback()
                raise
            else:
                with anyio.CancelScope(shield=True):
                    await db.commit()
