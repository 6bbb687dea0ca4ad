"""A `store` fixture that runs every store test on both backends: a SQLite file and a fresh PostgreSQL schema."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from etl_core.store import Store, open_store


async def drop_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(url, schema) of an empty database on each backend; the PostgreSQL schema is dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'etl.db'}", None
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = f"etl_test_{uuid.uuid4().hex[:12]}"
    yield dsn, schema
    asyncio.run(drop_schema(dsn, schema))


@pytest.fixture
async def store(store_url: tuple[str, str | None]) -> AsyncIterator[Store]:
    url, schema = store_url
    s = open_store(url, schema=schema)
    await s.open()
    yield s
    await s.close()
