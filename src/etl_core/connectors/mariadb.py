"""MariaDB and MySQL through asyncmy: pooled connections, unbuffered (streaming) cursors, multi-row inserts.

- reads: an `SSCursor` in a `READ ONLY` transaction streams rows from the server as they are fetched, so
  memory stays flat for any table size;
- inserts: `executemany` of one `INSERT ... VALUES (...)`, which the driver sends as multi-row statements;
- upserts: when the key columns are exactly the table's only unique key, the same insert with
  `ON DUPLICATE KEY UPDATE c = VALUES(c)`; that clause fires on a duplicate in ANY unique key, so otherwise rows
  go to a temporary staging table, then `UPDATE t JOIN stage` on the keys and `INSERT ... SELECT ... WHERE NOT
  EXISTS` per batch;
- updates: rows go to a temporary staging table, then one `UPDATE t JOIN stage` per batch;
- truncate: `DELETE` inside the transaction (TRUNCATE would commit on its own and could not roll back);
- replace: DDL commits implicitly in MariaDB, so the new table is built under a staging name and swapped
  in with one atomic `RENAME TABLE` after the data is committed.

Writers run with `STRICT_TRANS_TABLES` so that a value a column cannot hold is refused (a record error)
rather than silently truncated. Tables created here use utf8mb4 with a binary collation, so text round-trips
exactly and keys compare like they do in PostgreSQL and SQLite.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncmy
import asyncmy.errors
from asyncmy.cursors import SSCursor

from etl_core.config.schema import FieldDef
from etl_core.connectors.base import ColumnEncoding, ColumnMeta, Dialect, ErrorKind, Operation, TableInfo, quietly
from etl_core.connectors.dsn import ConnectionInfo, DsnError, parse_dsn
from etl_core.connectors.identifiers import TableName, derived_name, quote_backtick
from etl_core.connectors.pools import SharedPools
from etl_core.connectors.values import TEXT_WRITE
from etl_core.params.redaction import redact

POOL_MAX_SIZE = 10
CONNECT_TIMEOUT_S = 10
# a streaming read whose consumer is slow (backpressure) must not be cut off by the server
READ_NET_WRITE_TIMEOUT_S = 3600

_TYPES = {
    "integer": "BIGINT",
    "float": "DOUBLE",
    "boolean": "BOOLEAN",
    "object": "JSON",
    "array": "JSON",
}
_KEY_TEXT = "VARCHAR(255)"
_ALLOWED_QUERY = {"charset", "connect_timeout", "unix_socket"}

_REJECT_CODES = frozenset({1048, 1062, 1263, 1264, 1265, 1292, 1366, 1367, 1406, 1451, 1452, 1690, 3140, 3819, 4025})
_TRANSIENT_CODES = frozenset({1040, 1205, 1213, 1927, 2002, 2003, 2006, 2013, 2055})
_PERMANENT_CODES = frozenset({1044, 1045, 1049, 1054, 1064, 1142, 1146, 1698})

_STRICT_SQL = "SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_TRANS_TABLES')"
_COLUMNS_SQL = (
    "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
    "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION"
)
_PRIMARY_KEY_SQL = (
    "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
    "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY' "
    "ORDER BY ORDINAL_POSITION"
)
_UNIQUE_KEYS_SQL = (
    "SELECT INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS "
    "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s AND NON_UNIQUE = 0 "
    "ORDER BY INDEX_NAME, SEQ_IN_INDEX"
)


class MariaDialect(Dialect):
    name = "mariadb"
    paramstyle = "format"
    max_identifier_bytes = 64
    table_options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

    def quote(self, name: str) -> str:
        # every statement goes through the driver's %-formatting, so a literal % is doubled
        return quote_backtick(name).replace("%", "%%")

    def update_from(self, target: str, stage: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        q = self.quote
        sets = ", ".join(f"t.{q(c)} = s.{q(c)}" for c in columns if c not in keys)
        return f"UPDATE {target} AS t JOIN {stage} AS s ON {self.key_match(keys)} SET {sets}"

    def column_type(self, f: FieldDef, *, key: bool) -> str:
        if f.data_type in _TYPES:
            return _TYPES[f.data_type]
        if key:
            return _KEY_TEXT
        if f.data_type == "enum" and max((len(v) for v in f.enum_values or ()), default=0) <= 255:
            return "VARCHAR(255)"
        return "LONGTEXT"


class MariaBackend:
    """One component run's access to a MariaDB/MySQL database named by a DSN."""

    def __init__(self, dsn: str, *, pools: SharedPools, secrets: Iterable[str] = ()) -> None:
        self.info: ConnectionInfo = parse_dsn(dsn, "mysql")
        unknown = sorted(set(self.info.query) - _ALLOWED_QUERY)
        if unknown:
            raise DsnError(
                f"dsn {self.info.masked()!r}: unsupported option(s) {', '.join(unknown)} "
                f"(supported: {', '.join(sorted(_ALLOWED_QUERY))})"
            )
        self.dialect = MariaDialect()
        self.target = f"mariadb {self.info.describe()}"
        self._pools = pools
        self._secrets = {s for s in (*secrets, self.info.password) if s}

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def classify(self, exc: BaseException) -> ErrorKind:
        code = exc.args[0] if isinstance(exc, asyncmy.errors.MySQLError) and exc.args else None
        if isinstance(code, int):
            if code in _REJECT_CODES:
                return "reject"
            if code in _TRANSIENT_CODES:
                return "transient"
            if code in _PERMANENT_CODES:
                return "permanent"
        if isinstance(exc, (asyncmy.errors.IntegrityError, asyncmy.errors.DataError)):
            return "reject"
        if isinstance(exc, asyncmy.errors.ProgrammingError):
            return "permanent"
        if isinstance(exc, (OSError, TimeoutError, asyncmy.errors.OperationalError)):
            return "transient"
        if isinstance(exc, (TypeError, ValueError)):
            return "reject"  # a value the driver cannot escape
        return "other"

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, asyncmy.errors.MySQLError) and len(exc.args) >= 2:
            text = f"{exc.args[1]} (error {exc.args[0]})"
        else:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return self.redact(text)

    async def _create_pool(self) -> Any:
        info = self.info
        kwargs: dict[str, Any] = {
            "host": info.host,
            "port": info.port,
            "user": info.user or "root",
            "password": info.password or "",
            "database": info.database,
            "charset": info.query.get("charset", "utf8mb4"),
            "autocommit": False,
            "connect_timeout": int(info.query.get("connect_timeout", CONNECT_TIMEOUT_S)),
        }
        if "unix_socket" in info.query:
            kwargs["unix_socket"] = info.query["unix_socket"]
        return await asyncmy.create_pool(minsize=0, maxsize=POOL_MAX_SIZE, pool_recycle=3600, **kwargs)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        async with (
            self._pools.lease(f"mysql:{self.info.dsn}", self._create_pool, _close_pool) as pool,
            pool.acquire() as conn,
        ):
            yield conn

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[MariaReadSession]:
        async with self._connection() as conn:
            session = MariaReadSession(conn)
            done = False
            try:
                async with conn.cursor() as cur:
                    await cur.execute(f"SET SESSION net_write_timeout = {READ_NET_WRITE_TIMEOUT_S}", ())
                    await cur.execute("START TRANSACTION READ ONLY", ())
                yield session
                done = await session.finish()
            finally:
                if not done:
                    # an unread streaming result would be drained row by row: drop the connection instead
                    conn.close()

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[MariaWriteSession]:
        async with self._connection() as conn:
            session = MariaWriteSession(conn, self.dialect)
            try:
                await session.execute(
                    "SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_TRANS_TABLES')"
                )
                yield session
            finally:
                ok = await quietly(session.rollback)
                ok = await quietly(session.cleanup) and ok
                if not ok:
                    conn.close()


async def _close_pool(pool: Any) -> None:
    pool.close()
    await pool.wait_closed()


class MariaCursor:
    def __init__(self, cursor: Any, columns: list[ColumnMeta]) -> None:
        self._cursor = cursor
        self.columns = columns
        self.exhausted = False

    async def fetch(self, n: int) -> Sequence[Sequence[Any]]:
        rows: Sequence[Sequence[Any]] = await self._cursor.fetchmany(n)
        if len(rows) < n:
            self.exhausted = True
        return rows


class MariaReadSession:
    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._cursors: list[MariaCursor] = []

    async def open_cursor(self, sql: str, names: Sequence[str], args: Sequence[Any]) -> MariaCursor:
        cur = self._conn.cursor(SSCursor)
        await cur.execute(sql, tuple(args))
        columns = [ColumnMeta(d[0], None) for d in cur.description or ()]
        wrapped = MariaCursor(cur, columns)
        self._cursors.append(wrapped)
        return wrapped

    async def finish(self) -> bool:
        """End the read cleanly when every result was read; False when the connection must be dropped."""
        if any(not c.exhausted for c in self._cursors):
            return False
        for c in self._cursors:
            await c._cursor.close()
        await self._conn.commit()
        return True


class MariaWriteSession:
    transactional_ddl = False

    def __init__(self, conn: Any, dialect: MariaDialect) -> None:
        self._conn = conn
        self._dialect = dialect
        self._in_tx = False
        self._stage: str | None = None

    async def _fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        async with self._conn.cursor() as cur:
            await cur.execute(sql, tuple(args))
            return list(await cur.fetchall())

    async def table_info(self, table: TableName) -> TableInfo | None:
        rows = await self._fetch(_COLUMNS_SQL, (table.schema, table.name))
        if not rows:
            return None
        keys = await self._fetch(_PRIMARY_KEY_SQL, (table.schema, table.name))
        return TableInfo({r[0]: str(r[1]).lower() for r in rows}, tuple(r[0] for r in keys))

    async def execute(self, sql: str) -> None:
        async with self._conn.cursor() as cur:
            await cur.execute(sql, ())

    async def begin(self) -> None:
        await self._conn.begin()
        self._in_tx = True

    async def commit(self) -> None:
        if self._in_tx:
            self._in_tx = False
            await self._conn.commit()

    async def rollback(self) -> None:
        if self._in_tx:
            self._in_tx = False
            await self._conn.rollback()

    async def savepoint(self, name: str) -> None:
        await self.execute(f"SAVEPOINT {name}")

    async def release(self, name: str) -> None:
        await self.execute(f"RELEASE SAVEPOINT {name}")

    async def rollback_to(self, name: str) -> None:
        await self.execute(f"ROLLBACK TO SAVEPOINT {name}")

    def encodings(
        self, columns: Sequence[str], fields: Sequence[FieldDef], info: TableInfo
    ) -> list[ColumnEncoding | None]:
        return [TEXT_WRITE for _ in columns]

    async def _is_only_unique_key(self, table: TableName, keys: Sequence[str]) -> bool:
        """`keys` are the table's one unique key (whole columns, not prefixes): ON DUPLICATE KEY matches them only."""
        indexes: dict[str, list[tuple[str, Any]]] = {}
        for index, column, prefix in await self._fetch(_UNIQUE_KEYS_SQL, (table.schema, table.name)):
            indexes.setdefault(index, []).append((column, prefix))
        if len(indexes) != 1:
            return False
        [parts] = indexes.values()
        return all(prefix is None for _, prefix in parts) and sorted(c for c, _ in parts) == sorted(keys)

    async def prepare_merge(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], operation: Operation
    ) -> None:
        if operation == "upsert" and await self._is_only_unique_key(table, keys):
            return  # upserts go straight in with ON DUPLICATE KEY UPDATE
        # a temporary table needs no commit and is invisible to other sessions
        self._stage = f"etl_stage_{uuid.uuid4().hex[:16]}"
        cols = ", ".join(self._dialect.quote(c) for c in columns)
        await self.execute(
            f"CREATE TEMPORARY TABLE {self._dialect.quote(self._stage)} ENGINE=InnoDB "
            f"SELECT {cols} FROM {self._dialect.table(table)} LIMIT 0"
        )

    def _insert_sql(self, table: str, columns: Sequence[str]) -> str:
        cols = ", ".join(self._dialect.quote(c) for c in columns)
        marks = ", ".join("%s" for _ in columns)
        return f"INSERT INTO {table} ({cols}) VALUES ({marks})"

    async def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self._conn.cursor() as cur:
            await cur.executemany(sql, rows)

    async def insert(self, table: TableName, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        await self._many(self._insert_sql(self._dialect.table(table), columns), rows)

    async def upsert(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if self._stage is not None:
            await self._stage_rows(columns, rows)
            stage = self._dialect.quote(self._stage)
            for sql in self._dialect.staged_upsert(self._dialect.table(table), stage, columns, keys):
                await self.execute(sql)
            return
        q = self._dialect.quote
        rest = [c for c in columns if c not in keys] or list(keys[:1])
        updates = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in rest)
        await self._many(
            f"{self._insert_sql(self._dialect.table(table), columns)} ON DUPLICATE KEY UPDATE {updates}", rows
        )

    async def update(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        await self._stage_rows(columns, rows)
        assert self._stage is not None
        await self.execute(
            self._dialect.update_from(self._dialect.table(table), self._dialect.quote(self._stage), columns, keys)
        )

    async def _stage_rows(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        assert self._stage is not None
        stage = self._dialect.quote(self._stage)
        await self.execute(f"DELETE FROM {stage}")
        await self._many(self._insert_sql(stage, columns), rows)

    async def empty(self, table: TableName) -> None:
        await self.execute(self._dialect.delete_all(table))

    async def swap(self, staging: TableName, target: TableName) -> None:
        table = self._dialect.table
        if await self.table_info(target) is None:
            await self.execute(f"RENAME TABLE {table(staging)} TO {table(target)}")
            return
        old = target.sibling(derived_name(target.name, "old"))
        await self.execute(f"RENAME TABLE {table(target)} TO {table(old)}, {table(staging)} TO {table(target)}")
        await self.execute(self._dialect.drop_table(old))

    async def cleanup(self) -> None:
        if self._stage is not None:
            stage, self._stage = self._stage, None
            await self.execute(f"DROP TEMPORARY TABLE IF EXISTS {self._dialect.quote(stage)}")
