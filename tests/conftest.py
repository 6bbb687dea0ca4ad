"""Shared fixtures: data directories, and the real PostgreSQL and MariaDB servers.

A database test asks for `postgres_dsn` or `mariadb_dsn`. When the server does not answer, the test is skipped
with the reason, except under `ETL_REQUIRE_SERVICES=1` (CI), where a missing service fails the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_DSN = os.environ.get("ETL_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MARIADB_DSN = os.environ.get("ETL_TEST_MARIADB_DSN", "mysql://root:@127.0.0.1:3306/test")


def _services_required() -> bool:
    return os.environ.get("ETL_REQUIRE_SERVICES", "").lower() in ("1", "true", "yes")


def _unavailable(service: str, reason: str) -> None:
    message = f"{service} is not reachable: {reason}"
    if _services_required():
        pytest.fail(message + " (ETL_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


async def _ping_postgres(dsn: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=5)
    await conn.close()


async def _ping_mariadb(dsn: str) -> None:
    from urllib.parse import urlparse

    import asyncmy

    u = urlparse(dsn)
    conn = await asyncmy.connect(
        host=u.hostname or "127.0.0.1",
        port=u.port or 3306,
        user=u.username or "root",
        password=u.password or "",
        db=(u.path or "/test").lstrip("/"),
        connect_timeout=5,
    )
    conn.close()


_checked: dict[str, str | None] = {}


def _check(service: str, ping: object, dsn: str) -> None:
    if service not in _checked:
        try:
            asyncio.run(ping(dsn))  # type: ignore[operator]
            _checked[service] = None
        except Exception as exc:  # noqa: BLE001 - any failure means the service is unusable
            _checked[service] = f"{type(exc).__name__}: {exc}"
    reason = _checked[service]
    if reason is not None:
        _unavailable(service, reason)


@pytest.fixture
def postgres_dsn() -> str:
    """DSN of the real PostgreSQL test database (skips, or fails in CI, when it is down)."""
    _check("PostgreSQL", _ping_postgres, POSTGRES_DSN)
    return POSTGRES_DSN


@pytest.fixture
def mariadb_dsn() -> str:
    """DSN of the real MariaDB test database (skips, or fails in CI, when it is down)."""
    _check("MariaDB", _ping_mariadb, MARIADB_DSN)
    return MARIADB_DSN


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh data directory; relative file paths in jobs resolve against it."""
    d = tmp_path / "data"
    d.mkdir()
    return d


async def _drop_schema(dsn: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(url, schema) of an empty store database on each backend: a SQLite file, or a fresh PostgreSQL schema
    dropped afterwards. Every store-backed test (store, API, scheduling) is parametrised over both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'etl.db'}", None
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = f"etl_test_{uuid.uuid4().hex[:12]}"
    yield dsn, schema
    asyncio.run(_drop_schema(dsn, schema))
