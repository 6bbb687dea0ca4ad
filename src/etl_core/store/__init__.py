"""Persistence of jobs, executions, schedules, contexts and credentials (SQLite or PostgreSQL, one protocol).

store = open_store("sqlite:///./data/etl.db")   # or "postgresql://user@host/db"
await store.open()                               # connects and migrates forward
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from etl_core.errors import SettingsError
from etl_core.store.base import Store
from etl_core.store.models import (
    AttemptRecord,
    ContextRecord,
    CredentialsRecord,
    ExecutionQuery,
    ExecutionRecord,
    JobRecord,
    ScheduleRecord,
)
from etl_core.store.sql import StoreError

__all__ = [
    "AttemptRecord",
    "ContextRecord",
    "CredentialsRecord",
    "ExecutionQuery",
    "ExecutionRecord",
    "JobRecord",
    "ScheduleRecord",
    "Store",
    "StoreError",
    "open_store",
    "sqlite_path",
]


def sqlite_path(url: str) -> str:
    """`sqlite:///./data/etl.db` -> `./data/etl.db`; `sqlite:////abs/etl.db` -> `/abs/etl.db`."""
    rest = url.split(":", 1)[1]
    if not rest.startswith("//"):
        raise SettingsError(f"ETL_DB_URL: a SQLite URL looks like sqlite:///path/to/etl.db, got {url!r}")
    path = rest[2:]
    path = path[1:] if path.startswith("/") else path
    if not path:
        raise SettingsError("ETL_DB_URL: the SQLite URL names no file")
    return path


def _split_schema(url: str) -> tuple[str, str | None]:
    """`postgresql://h/db?schema=etl` -> (`postgresql://h/db`, `etl`); other query parameters stay."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def open_store(url: str, *, schema: str | None = None) -> Store:
    """A store for `url` (not yet opened).

    PostgreSQL tables go to `schema` (created when missing), or to the `?schema=` of the URL, or to the server's
    default search path.
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from etl_core.store.sqlite import SqliteStore

        return SqliteStore(sqlite_path(url))
    if scheme in ("postgresql", "postgres"):
        from etl_core.store.postgres import PostgresStore

        dsn, from_url = _split_schema(url)
        return PostgresStore(dsn, schema=schema or from_url)
    raise SettingsError(f"ETL_DB_URL: unsupported database {scheme!r}; use sqlite:///... or postgresql://...")
