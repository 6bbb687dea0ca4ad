"""PostgreSQL through asyncpg: pooled connections, server-side cursors, binary COPY.

- reads: a prepared statement and a cursor inside a read-only transaction, fetched `n` rows per round trip;
  parameters are coerced to the types the server infers for them (`"2024-01-01"` for a date parameter);
- inserts: `copy_records_to_table` (binary COPY) per batch;
- upserts and updates: COPY into a temporary staging table (dropped at commit), then per batch
  `UPDATE ... FROM stage` (update), `INSERT ... SELECT ... ON CONFLICT (keys) DO UPDATE` (an upsert whose keys
  are exactly a unique key ON CONFLICT can name), or `UPDATE ... FROM stage` and `INSERT ... SELECT ... WHERE NOT
  EXISTS` in one round trip (an upsert on any other columns);
- truncate: `TRUNCATE` inside the transaction (readers of the table wait until the run commits);
- replace: the new table is loaded under a staging name and swapped in (DROP + RENAME) at commit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from etl_core.config.schema import FieldDef
from etl_core.connectors.base import ColumnEncoding, ColumnMeta, Dialect, ErrorKind, Operation, TableInfo, quietly
from etl_core.connectors.dsn import ConnectionInfo, asyncpg_dsn, parse_dsn
from etl_core.connectors.identifiers import TableName, quote_double
from etl_core.connectors.placeholders import QueryError
from etl_core.connectors.pools import SharedPools
from etl_core.connectors.values import convert_column, pg_write_encoding
from etl_core.params.redaction import redact

POOL_MAX_SIZE = 10
POOL_CONNECT_TIMEOUT_S = 10.0
# pooled connections unused this long are closed inside the pool, before the pool itself goes idle
POOL_INACTIVE_CONNECTION_S = 60.0

_TYPES = {
    "string": "text",
    "path": "text",
    "enum": "text",
    "integer": "bigint",
    "float": "double precision",
    "boolean": "boolean",
    "object": "jsonb",
    "array": "jsonb",
}

_TABLE_SQL = "SELECT to_regclass($1)::oid"
_COLUMNS_SQL = """
SELECT a.attname, t.typname
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_PRIMARY_KEY_SQL = """
SELECT a.attname
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = $1 AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""
# the key columns (not INCLUDE columns) of each unique index ON CONFLICT (columns) can use as its arbiter:
# valid, not partial, no expressions, not deferrable
_UNIQUE_KEYS_SQL = """
SELECT ARRAY(
    SELECT a.attname
    FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE k.n <= i.indnkeyatts
) AS columns
FROM pg_index i
WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid AND i.indimmediate
    AND i.indpred IS NULL AND i.indexprs IS NULL
"""

_REJECT_CLASSES = ("22", "23")
_TRANSIENT_CLASSES = ("08", "40", "53", "57")
_PERMANENT_CLASSES = ("28", "3D", "3F", "42", "0A")


class PgDialect(Dialect):
    name = "postgresql"
    paramstyle = "numeric"
    max_identifier_bytes = 63

    def quote(self, name: str) -> str:
        return quote_double(name)

    def column_type(self, f: FieldDef, *, key: bool) -> str:
        return _TYPES.get(f.data_type, "text")


class PostgresBackend:
    """One component run's access to a PostgreSQL database named by a DSN."""

    def __init__(self, dsn: str, *, pools: SharedPools, secrets: Iterable[str] = ()) -> None:
        self.info: ConnectionInfo = parse_dsn(dsn, "postgresql")
        self.dialect = PgDialect()
        self.target = f"postgresql {self.info.describe()}"
        self._pools = pools
        self._secrets = {s for s in (*secrets, self.info.password) if s}

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def classify(self, exc: BaseException) -> ErrorKind:
        state = getattr(exc, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            if state.startswith(_REJECT_CLASSES):
                return "reject"
            if state.startswith(_TRANSIENT_CLASSES):
                return "transient"
            if state.startswith(_PERMANENT_CLASSES) or state == "42P10":
                return "permanent"
            return "other"
        if isinstance(exc, asyncpg.exceptions.DataError):
            return "reject"  # a value asyncpg could not encode for its column or parameter
        if isinstance(exc, (TypeError, ValueError, OverflowError, AttributeError)):
            return "reject"  # binary COPY encoders raise plain Python errors for values of the wrong type
        if isinstance(exc, (OSError, TimeoutError, asyncpg.exceptions.InterfaceError)):
            return "transient"
        return "other"

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, asyncpg.exceptions.PostgresError):
            text = exc.args[0] if exc.args else type(exc).__name__
            detail = getattr(exc, "detail", None)
            hint = getattr(exc, "hint", None)
            text = str(text) + (f" ({detail})" if detail else "") + (f"; hint: {hint}" if hint else "")
        else:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return self.redact(text)

    async def _create_pool(self) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            dsn=asyncpg_dsn(self.info),
            min_size=0,
            max_size=POOL_MAX_SIZE,
            max_inactive_connection_lifetime=POOL_INACTIVE_CONNECTION_S,
            timeout=POOL_CONNECT_TIMEOUT_S,
        )
        assert pool is not None
        return pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        async with (
            self._pools.lease(f"postgresql:{self.info.dsn}", self._create_pool, _close_pool) as pool,
            pool.acquire() as conn,
        ):
            yield conn

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[PgReadSession]:
        async with self._connection() as conn:
            tx = conn.transaction(readonly=True)
            await tx.start()
            try:
                yield PgReadSession(conn)
            finally:
                await quietly(tx.rollback)

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[PgWriteSession]:
        async with self._connection() as conn:
            session = PgWriteSession(conn, self.dialect)
            try:
                yield session
            finally:
                if not await quietly(session.rollback):
                    conn.terminate()  # the server rolls back what a dropped connection left open


async def _close_pool(pool: asyncpg.Pool) -> None:
    try:
        await pool.close()
    except BaseException:
        pool.terminate()
        raise


class PgCursor:
    def __init__(self, cursor: Any, columns: list[ColumnMeta]) -> None:
        self._cursor = cursor
        self.columns = columns

    async def fetch(self, n: int) -> Sequence[Sequence[Any]]:
        rows: Sequence[Sequence[Any]] = await self._cursor.fetch(n)
        return rows


class PgReadSession:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def open_cursor(self, sql: str, names: Sequence[str], args: Sequence[Any]) -> PgCursor:
        stmt = await self._conn.prepare(sql)
        bound: list[Any] = []
        for i, (value, ptype) in enumerate(zip(args, stmt.get_parameters(), strict=True)):
            enc = pg_write_encoding(ptype.name)
            if enc is None or value is None:
                bound.append(value)
                continue
            label = f":{names[i]}" if i < len(names) else f"${i + 1}"
            out, bad = convert_column([value], enc, label)
            if bad:
                raise QueryError(f"params value for {label} does not fit its type {ptype.name}: {bad[0]}")
            bound.append(out[0])
        columns = [ColumnMeta(a.name, a.type.name) for a in stmt.get_attributes()]
        return PgCursor(await stmt.cursor(*bound), columns)


class PgWriteSession:
    transactional_ddl = True

    def __init__(self, conn: asyncpg.Connection, dialect: PgDialect) -> None:
        self._conn = conn
        self._dialect = dialect
        self._tx: Any = None
        self._merge: tuple[TableName, list[str]] | None = None
        self._stage = f"etl_stage_{uuid.uuid4().hex[:16]}"
        self._on_conflict = False  # the upsert's keys are a unique key: INSERT ... ON CONFLICT

    async def table_info(self, table: TableName) -> TableInfo | None:
        oid = await self._conn.fetchval(_TABLE_SQL, self._dialect.table(table))
        if oid is None:
            return None
        columns = {r["attname"]: r["typname"] for r in await self._conn.fetch(_COLUMNS_SQL, oid)}
        keys = tuple(r["attname"] for r in await self._conn.fetch(_PRIMARY_KEY_SQL, oid))
        return TableInfo(columns, keys)

    async def execute(self, sql: str) -> None:
        await self._conn.execute(sql)

    async def begin(self) -> None:
        self._tx = self._conn.transaction()
        await self._tx.start()
        if self._merge is not None:
            await self._create_stage()

    async def _create_stage(self) -> None:
        # ON COMMIT DROP: every transaction (one per batch with commit "batch") makes its own
        assert self._merge is not None
        table, columns = self._merge
        cols = ", ".join(self._dialect.quote(c) for c in columns)
        await self._conn.execute(
            f"CREATE TEMP TABLE {quote_double(self._stage)} ON COMMIT DROP AS "
            f"SELECT {cols} FROM {self._dialect.table(table)} WITH NO DATA"
        )

    async def commit(self) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            await tx.commit()

    async def rollback(self) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            await tx.rollback()

    async def savepoint(self, name: str) -> None:
        await self._conn.execute(f"SAVEPOINT {name}")

    async def release(self, name: str) -> None:
        await self._conn.execute(f"RELEASE SAVEPOINT {name}")

    async def rollback_to(self, name: str) -> None:
        await self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")

    def encodings(
        self, columns: Sequence[str], fields: Sequence[FieldDef], info: TableInfo
    ) -> list[ColumnEncoding | None]:
        return [pg_write_encoding(info.columns.get(c)) for c in columns]

    async def _is_unique_key(self, table: TableName, keys: Sequence[str]) -> bool:
        oid = await self._conn.fetchval(_TABLE_SQL, self._dialect.table(table))
        rows = await self._conn.fetch(_UNIQUE_KEYS_SQL, oid) if oid is not None else []
        return any(len(r["columns"]) == len(keys) and set(r["columns"]) == set(keys) for r in rows)

    async def prepare_merge(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], operation: Operation
    ) -> None:
        self._on_conflict = operation == "upsert" and await self._is_unique_key(table, keys)
        self._merge = (table, list(columns))
        if self._tx is not None:
            await self._create_stage()

    async def insert(self, table: TableName, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.copy_records_to_table(
            table.name, schema_name=table.schema, columns=list(columns), records=rows
        )

    async def _stage_rows(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.execute(f"TRUNCATE {quote_double(self._stage)}")
        await self._conn.copy_records_to_table(self._stage, columns=list(columns), records=rows)

    async def upsert(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        await self._stage_rows(columns, rows)
        q = self._dialect.quote
        target, stage = self._dialect.table(table), quote_double(self._stage)
        if not self._on_conflict:
            # without arguments asyncpg sends both statements as one simple query: one round trip
            await self._conn.execute(";\n".join(self._dialect.staged_upsert(target, stage, columns, keys)))
            return
        cols = ", ".join(q(c) for c in columns)
        rest = [c for c in columns if c not in keys]
        action = "DO UPDATE SET " + ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in rest) if rest else "DO NOTHING"
        await self._conn.execute(
            f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT ({', '.join(q(k) for k in keys)}) "
            f"{action}"
        )

    async def update(
        self, table: TableName, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        await self._stage_rows(columns, rows)
        await self._conn.execute(
            self._dialect.update_from(self._dialect.table(table), quote_double(self._stage), columns, keys)
        )

    async def empty(self, table: TableName) -> None:
        await self._conn.execute(f"TRUNCATE TABLE {self._dialect.table(table)}")

    async def swap(self, staging: TableName, target: TableName) -> None:
        await self._conn.execute(self._dialect.drop_table(target))
        await self._conn.execute(
            f"ALTER TABLE {self._dialect.table(staging)} RENAME TO {self._dialect.quote(target.name)}"
        )

    async def cleanup(self) -> None:
        return None  # the staging table is dropped at commit or rollback
