"""The PostgreSQL store (asyncpg pool), for a team: `ETL_DB_URL=postgresql://user@host/db`."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from etl_core.store.sql import Connection, Row, SqlStore, StoreError

# any constant works: it only has to be the same in every etl-core process sharing the database
_MIGRATION_LOCK = 0x45544C_0001
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@functools.lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    """`?` placeholders -> `$1, $2, ...` (the store's SQL has no `?` inside literals)."""
    parts = sql.split("?")
    out = [parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        out.append(f"${i}{part}")
    return "".join(out)


def _changed(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PgConnection:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(r) for r in await self._conn.fetch(_numbered(sql), *args)]

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        row = await self._conn.fetchrow(_numbered(sql), *args)
        return None if row is None else dict(row)

    async def execute(self, sql: str, *args: Any) -> int:
        return _changed(await self._conn.execute(_numbered(sql), *args))


class PostgresStore(SqlStore):
    """A small asyncpg pool; `schema` (created when missing) keeps etl-core's tables apart from others."""

    backend = "postgresql"

    def __init__(self, dsn: str, *, schema: str | None = None, min_size: int = 1, max_size: int = 8) -> None:
        if schema is not None and not _IDENTIFIER.match(schema):
            raise StoreError(f"bad PostgreSQL schema name {schema!r}: letters, digits and _ only")
        self.dsn = dsn
        self.schema = schema
        self._min = min_size
        self._max = max_size
        self._pool: asyncpg.Pool | None = None

    async def _connect(self) -> None:
        settings: dict[str, str] = {}
        try:
            if self.schema is not None:
                conn = await asyncpg.connect(self.dsn)
                try:
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                finally:
                    await conn.close()
                settings["search_path"] = self.schema
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self._min, max_size=self._max, server_settings=settings or None
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"cannot connect to the PostgreSQL store: {type(exc).__name__}: {exc}") from exc

    async def _disconnect(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @asynccontextmanager
    async def _tx(self, *, exclusive: bool = False) -> AsyncIterator[Connection]:
        if self._pool is None:
            raise StoreError("the store is not open")
        async with self._pool.acquire() as conn, conn.transaction():
            if exclusive:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            yield _PgConnection(conn)
