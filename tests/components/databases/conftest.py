"""A `db` fixture parametrised over the real SQLite, PostgreSQL and MariaDB: unique tables, dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from db_harness import BACKENDS, Db

from etl_core.connectors.pools import POOLS


@pytest.fixture(params=BACKENDS)
def db_target(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """(backend, dsn); the server fixtures are synchronous, so they are asked for outside the event loop."""
    kind: str = request.param
    if kind == "postgresql":
        return kind, request.getfixturevalue("postgres_dsn")
    if kind == "mariadb":
        return kind, request.getfixturevalue("mariadb_dsn")
    return kind, None


@pytest.fixture
async def db(db_target: tuple[str, str | None], data_dir: Path) -> AsyncIterator[Db]:
    """The same test against SQLite (a file in the data dir), PostgreSQL and MariaDB."""
    handle = Db(db_target[0], data_dir, db_target[1])
    try:
        yield handle
    finally:
        await POOLS.close_all()
        await handle.drop_all()


@pytest.fixture
async def pg(postgres_dsn: str, data_dir: Path) -> AsyncIterator[Db]:
    handle = Db("postgresql", data_dir, postgres_dsn)
    try:
        yield handle
    finally:
        await POOLS.close_all()
        await handle.drop_all()


@pytest.fixture
async def maria(mariadb_dsn: str, data_dir: Path) -> AsyncIterator[Db]:
    handle = Db("mariadb", data_dir, mariadb_dsn)
    try:
        yield handle
    finally:
        await POOLS.close_all()
        await handle.drop_all()


@pytest.fixture
def lite(data_dir: Path) -> Db:
    return Db("sqlite", data_dir, None)
