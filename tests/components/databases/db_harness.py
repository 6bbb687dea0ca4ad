"""`Db`: one real database for one test (component options, direct SQL, tables dropped afterwards)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncmy
import asyncpg

BACKENDS = ["sqlite", "postgresql", "mariadb"]


class Db:
    """One backend for one test: component options, direct SQL, and tables that are dropped at the end."""

    def __init__(self, kind: str, data_dir: Path, dsn: str | None) -> None:
        self.kind = kind
        self.data_dir = data_dir
        self.dsn = dsn
        self.file = data_dir / "test.db"
        self.tables: list[str] = []

    @property
    def connection(self) -> dict[str, Any]:
        """The options that point a component at this database."""
        return {"database": "test.db"} if self.kind == "sqlite" else {"dsn": self.dsn}

    def table(self, prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.tables.append(name)
        return name

    def quote(self, name: str) -> str:
        if self.kind == "mariadb":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def reader(self, name: str = "read", **options: Any) -> dict[str, Any]:
        return {"name": name, "comp_type": f"read_{self.kind}", **self.connection, **options}

    def writer(self, name: str = "write", **options: Any) -> dict[str, Any]:
        return {"name": name, "comp_type": f"write_{self.kind}", **self.connection, **options}

    async def execute(self, *statements: str) -> None:
        if self.kind == "sqlite":
            with sqlite3.connect(self.file) as conn:
                for s in statements:
                    conn.execute(s)
            return
        if self.kind == "postgresql":
            conn = await asyncpg.connect(self.dsn)
            try:
                for s in statements:
                    await conn.execute(s)
            finally:
                await conn.close()
            return
        mconn = await _maria(self.dsn)
        try:
            async with mconn.cursor() as cur:
                for s in statements:
                    await cur.execute(s)
            await mconn.commit()
        finally:
            mconn.close()

    async def rows(self, query: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            with sqlite3.connect(self.file) as conn:
                return [tuple(r) for r in conn.execute(query).fetchall()]
        if self.kind == "postgresql":
            conn = await asyncpg.connect(self.dsn)
            try:
                return [tuple(r) for r in await conn.fetch(query)]
            finally:
                await conn.close()
        mconn = await _maria(self.dsn)
        try:
            async with mconn.cursor() as cur:
                await cur.execute(query)
                return [tuple(r) for r in await cur.fetchall()]
        finally:
            mconn.close()

    async def columns(self, table: str) -> list[str]:
        if self.kind == "sqlite":
            return [r[0] for r in await self.rows(f"SELECT name FROM pragma_table_info('{table}')")]
        if self.kind == "postgresql":
            query = (
                f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' "
                "ORDER BY ordinal_position"
            )
        else:
            query = (
                f"SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                f"AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
            )
        return [r[0] for r in await self.rows(query)]

    async def tables_like(self, pattern: str) -> list[str]:
        pattern = pattern.replace("'", "''")
        if self.kind == "mariadb":
            pattern = pattern.replace("\\", "\\\\")
        if self.kind == "sqlite":
            query = f"SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '{pattern}'"
        elif self.kind == "postgresql":
            query = f"SELECT tablename FROM pg_tables WHERE tablename LIKE '{pattern}'"
        else:
            query = (
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                f"AND TABLE_NAME LIKE '{pattern}'"
            )
        return [r[0] for r in await self.rows(query)]

    async def drop_all(self) -> None:
        if self.kind == "sqlite":
            return  # the file lives in the test's temporary directory
        names = set(self.tables)
        for t in list(names):
            names.update(await self.tables_like(t.replace("_", "\\_") + "%"))
        await self.execute(*(f"DROP TABLE IF EXISTS {self.quote(n)}" for n in sorted(names)))


async def _maria(dsn: str | None) -> Any:
    u = urlparse(dsn or "")
    return await asyncmy.connect(
        host=u.hostname or "127.0.0.1",
        port=u.port or 3306,
        user=u.username or "root",
        password=u.password or "",
        database=(u.path or "/test").lstrip("/"),
        charset="utf8mb4",
        autocommit=False,
    )
