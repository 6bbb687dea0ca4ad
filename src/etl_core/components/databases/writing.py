"""The write loop shared by write_sqlite, write_postgresql and write_mariadb.

    start:  look at the table; create it (create_table), or a staging table (replace); empty it (truncate)
    rows:   batches of `batch_size` records -> flattened, encoded rows -> insert / upsert / update
    end:    wait for the attempt's commit point, then commit (replace: swap the staging table in)

One transaction per run (`commit: "end"`): nothing is visible until every component has finished, and a
failure anywhere (here, upstream or downstream) rolls the table back to what it was. With `commit: "batch"`
every batch commits on its own (for long-running streams); a replace still swaps only at the end.

Every batch is written inside a savepoint. When the database refuses a value (a constraint, a type, a
length), the batch is rolled back to the savepoint and split in halves until the refused rows are found;
they become record errors (routed to the `error` port when wired, else the first one fails the run) and the
rest is written. Objects are flattened to dotted columns (`address.city`); free-form objects and arrays are
stored as JSON text.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from operator import itemgetter
from typing import Any

from etl_core.components.base import AnyBatch, Batch, ComponentContext, Outbox
from etl_core.components.columns import Columns, batch_concat, batch_slice
from etl_core.components.databases.options import DatabaseWriteOptions
from etl_core.components.databases.support import component_error, config_error
from etl_core.components.support.nesting import get_path, split_path
from etl_core.config.schema import FieldDef
from etl_core.connectors.base import Backend, ColumnEncoding, TableInfo, WriteSession, quietly
from etl_core.connectors.identifiers import IdentifierError, TableName, derived_name, parse_table_name
from etl_core.connectors.values import encode_columns, encode_rows
from etl_core.errors import EtlError


async def run_writer(ctx: ComponentContext[Any], backend: Backend) -> None:
    """Write every record of `in` to the table (see module docstring); pass written records on to `out`."""
    opts: DatabaseWriteOptions = ctx.options
    schema = ctx.in_schema("in")
    if schema is None or not schema.fields:
        raise config_error(ctx, backend, "the input port 'in' needs a schema (in_port_schemas.in)", stage="open")
    try:
        assert opts.entity_name is not None
        table = parse_table_name(opts.entity_name)
        leaves = list(schema.leaves())
        for path, _ in leaves:
            backend.dialect.check(path)
        backend.dialect.table(table)
    except IdentifierError as exc:
        raise config_error(ctx, backend, str(exc), stage="open") from None
    try:
        async with backend.writer() as session:
            writer = TableWriter(ctx, backend, session, table, leaves)
            try:
                await writer.start()
                async with ctx.input("in") as inbox, ctx.output("out") as out:
                    await writer.consume(inbox, out)
                # the commit point waits for every component, the error port's receivers too: end that stream first
                for port in ctx.outputs.values():
                    await port.aclose()
                await ctx.commit_point()
                await writer.finish()
            except BaseException:
                await writer.abort()
                raise
    except EtlError:
        raise
    except Exception as exc:  # noqa: BLE001 - a driver failure, classified and masked by the backend
        raise component_error(ctx, backend, exc, stage="write") from None
    ctx.log.info(
        "table_written", target=backend.target, table=str(table), operation=opts.operation, rows=writer.written
    )


class TableWriter:
    """One run's writes to one table through one session."""

    def __init__(
        self,
        ctx: ComponentContext[Any],
        backend: Backend,
        session: WriteSession,
        table: TableName,
        leaves: list[tuple[str, FieldDef]],
    ) -> None:
        self.ctx = ctx
        self.opts: DatabaseWriteOptions = ctx.options
        self.backend = backend
        self.session = session
        self.table = table
        self.target = table
        self.leaves = leaves
        self.columns = [path for path, _ in leaves]
        self.getters = [_getter(path) for path in self.columns]
        # a flat schema reads a whole row with one itemgetter call (a tuple even for one column)
        self.flat: Any = None
        if all(len(split_path(c)) == 1 for c in self.columns):
            self.flat = itemgetter(*self.columns) if len(self.columns) > 1 else _single(self.columns[0])
        self.keys: list[str] = list(self.opts.key_columns or [])
        self.staging: TableName | None = None
        self.encodings: list[ColumnEncoding | None] = []
        self.offset = 0
        self.written = 0
        self._savepoints = count(1)

    def _fail(self, message: str) -> EtlError:
        return config_error(self.ctx, self.backend, message, stage="open")

    async def start(self) -> None:
        session, dialect, op = self.session, self.backend.dialect, self.opts.operation
        if session.transactional_ddl:
            await session.begin()
        info = await session.table_info(self.table)
        ddl: str | None = None
        if op == "replace":
            self.staging = self.table.sibling(derived_name(self.table.name, "new"))
            self.target = self.staging
            self._check_keys_in_schema()
            ddl = dialect.create_table(self.staging, self.leaves, self.keys)
        elif info is None:
            if not self.opts.create_table:
                raise self._fail(
                    f"table {self.table} does not exist (set create_table: true to create it from the input schema)"
                )
            self._check_keys_in_schema()
            ddl = dialect.create_table(self.table, self.leaves, self.keys)
        if ddl is not None:
            await session.execute(ddl)
            info = await session.table_info(self.target)
            if info is None:
                raise self._fail(f"table {self.target} cannot be found right after it was created")
        assert info is not None
        self._check_columns(info)
        if op in ("upsert", "update"):
            self._merge_keys(info)
            await session.prepare_merge(self.target, self.columns, self.keys, op)
        if not session.transactional_ddl:
            await session.begin()
        if op == "truncate":
            await session.empty(self.table)
        self.encodings = session.encodings(self.columns, [f for _, f in self.leaves], info)

    def _check_keys_in_schema(self) -> None:
        missing = [k for k in self.keys if k not in self.columns]
        if missing:
            raise self._fail(f"key_columns {', '.join(missing)} are not fields of the input schema")

    def _check_columns(self, info: TableInfo) -> None:
        missing = [c for c in self.columns if c not in info.columns]
        if missing:
            raise self._fail(
                f"table {self.table} has no column(s) {', '.join(missing)} for the input schema's field(s) "
                f"(table columns: {', '.join(info.columns)})"
            )

    def _merge_keys(self, info: TableInfo) -> None:
        op = self.opts.operation
        if not self.keys:
            self.keys = list(info.primary_key)
            if not self.keys:
                raise self._fail(f"{op} needs key_columns: table {self.table} has no primary key")
        self._check_keys_in_schema()
        if op == "update" and all(c in self.keys for c in self.columns):
            raise self._fail("update needs at least one input field that is not a key column")

    async def consume(self, inbox: Any, out: Outbox) -> None:
        size = self.opts.batch_size
        pending: list[AnyBatch] = []
        held = 0
        async for batch in inbox.batches():
            if self.ctx.row_mode:
                for start in range(0, len(batch), size):
                    await self._write(batch_slice(batch, start, start + size), out)
                continue
            if not pending and len(batch) == size:
                await self._write(batch, out)  # the usual case in bulk mode: no copying
                continue
            pending.append(batch)
            held += len(batch)
            if held >= size:
                joined = batch_concat(pending)
                start = 0
                while held - start >= size:
                    await self._write(batch_slice(joined, start, start + size), out)
                    start += size
                pending = [batch_slice(joined, start, held)] if start < held else []
                held -= start
        if pending:
            await self._write(batch_concat(pending), out)

    async def _write(self, records: AnyBatch, out: Outbox) -> None:
        rows, bad = self._encoded(records)
        index = list(range(len(records)))
        if bad:
            index = [i for i in index if i not in bad]
            rows = [rows[i] for i in index]
        if self.opts.operation in ("upsert", "update") and rows:
            rows, index = self._last_per_key(rows, index)
        collect = self.ctx.outputs.get("error") is not None and self.ctx.outputs["error"].connected
        failed = dict(bad)
        if rows:
            failed.update(await self._write_rows(rows, index, collect_all=collect))
        if failed:
            await self.ctx.record_errors(
                [(records[i], f"input record {self.offset + i + 1}: {failed[i]}", None) for i in sorted(failed)]
            )
        written: AnyBatch = records
        if failed:
            kept = [i for i in range(len(records)) if i not in failed]
            written = records.take(kept) if isinstance(records, Columns) else [records[i] for i in kept]
        self.written += len(written)
        self.offset += len(records)
        if self.opts.commit == "batch":
            # committed before passing on: what reaches `out` is in the table
            await self.session.commit()
            await self.session.begin()
        if out.connected and written:
            await out.send(written)

    def _encoded(self, batch: AnyBatch) -> tuple[list[tuple[Any, ...]], dict[int, str]]:
        """The batch as encoded row tuples in column order, and the messages of rows that cannot be encoded.
        A columnar batch holding every column is encoded column by column and transposed once."""
        if isinstance(batch, Columns):
            if self.flat is not None and all(batch.has(c) for c in self.columns):
                columns = [batch.column(c) for c in self.columns]
                kinds = [batch.kind(c) for c in self.columns]
                encoded, bad = encode_columns(columns, self.encodings, self.columns, kinds)
                return list(zip(*encoded, strict=True)), bad
            batch = batch.records()
        return encode_rows(self._rows(batch), self.encodings, self.columns)

    def _rows(self, records: Batch) -> list[tuple[Any, ...]]:
        """Records as row tuples in column order (missing fields are null), one C-level call per record."""
        flat = self.flat
        if flat is not None:
            try:
                return list(map(flat, records))
            except KeyError:
                pass  # a record without some field: the slow path fills in nulls
        return [tuple(get(r) for get in self.getters) for r in records]

    def _last_per_key(self, rows: list[tuple[Any, ...]], index: list[int]) -> tuple[list[tuple[Any, ...]], list[int]]:
        """A batch naming a key twice keeps its last row (a merge may touch a target row only once)."""
        positions = [self.columns.index(k) for k in self.keys]
        last: dict[tuple[Any, ...], int] = {}
        for j, row in enumerate(rows):
            last[tuple(row[p] for p in positions)] = j
        if len(last) == len(rows):
            return rows, index
        keep = sorted(last.values())
        return [rows[j] for j in keep], [index[j] for j in keep]

    async def _write_rows(
        self, rows: Sequence[Sequence[Any]], index: list[int], *, collect_all: bool
    ) -> dict[int, str]:
        """Write rows inside a savepoint; split refused batches to find the refused rows (by record index)."""
        refused = await self._attempt(rows)
        if refused is None:
            return {}
        if len(rows) == 1:
            return {index[0]: refused}
        mid = len(rows) // 2
        failed = await self._write_rows(rows[:mid], index[:mid], collect_all=collect_all)
        if failed and not collect_all:
            return failed
        failed.update(await self._write_rows(rows[mid:], index[mid:], collect_all=collect_all))
        return failed

    async def _attempt(self, rows: Sequence[Sequence[Any]]) -> str | None:
        session = self.session
        name = f"etl_sp_{next(self._savepoints)}"
        await session.savepoint(name)
        try:
            await self._apply(rows)
        except Exception as exc:
            if self.backend.classify(exc) != "reject":
                raise
            await session.rollback_to(name)
            await session.release(name)
            return self.backend.describe(exc)
        await session.release(name)
        return None

    async def _apply(self, rows: Sequence[Sequence[Any]]) -> None:
        op = self.opts.operation
        if op == "upsert":
            await self.session.upsert(self.target, self.columns, self.keys, rows)
        elif op == "update":
            await self.session.update(self.target, self.columns, self.keys, rows)
        else:
            await self.session.insert(self.target, self.columns, rows)

    async def finish(self) -> None:
        session = self.session
        if self.staging is not None and session.transactional_ddl:
            await session.swap(self.staging, self.table)
            await session.commit()
        elif self.staging is not None:
            await session.commit()
            await session.swap(self.staging, self.table)
        else:
            await session.commit()
        self.staging = None

    async def abort(self) -> None:
        """Undo the run: roll back, and drop a staging table that DDL or batch commits made permanent."""
        await quietly(self.session.rollback)
        staging = self.staging
        if staging is not None:
            self.staging = None
            await quietly(lambda: self.session.execute(self.backend.dialect.drop_table(staging)))


def _single(column: str) -> Any:
    return lambda record: (record[column],)


def _getter(path: str) -> Any:
    parts = split_path(path)
    if len(parts) == 1:
        return lambda record: record.get(path)
    return lambda record: get_path(record, parts)
