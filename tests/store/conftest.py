"""A `store` fixture that runs every store test on both backends: a SQLite file and a fresh PostgreSQL schema."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from etl_core.store import Store, open_store


@pytest.fixture
async def store(store_url: tuple[str, str | None]) -> AsyncIterator[Store]:
    url, schema = store_url
    s = open_store(url, schema=schema)
    await s.open()
    yield s
    await s.close()
