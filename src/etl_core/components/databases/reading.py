"""The read loop shared by read_sqlite, read_postgresql and read_mariadb.

The query runs in a read-only transaction behind a cursor that fetches `batch_size` rows per round trip, so
memory is bounded by the batch size and the edges whatever the table's size. In `row` mode the first fetches
are small (the first record leaves at once) and grow to `batch_size`. Rows are typed by the out port's schema:
a declared object field reads its dotted columns (`address.city`) back into a nested value; a value that cannot
take its declared type is a record error. Without a schema, records carry every column as a plain value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from etl_core.components.base import ComponentContext, Record
from etl_core.components.columns import Columns
from etl_core.components.databases.options import DatabaseReadOptions
from etl_core.components.databases.support import component_error, config_error
from etl_core.components.support.nesting import unflatten
from etl_core.config.schema import Schema
from etl_core.connectors.base import Backend, ColumnEncoding, ColumnMeta
from etl_core.connectors.identifiers import IdentifierError, parse_table_name
from etl_core.connectors.placeholders import QueryError, bind, check_read_query, translate
from etl_core.connectors.values import NATURAL, convert_column, natural, parameter_value, read_encoding
from etl_core.errors import EtlError

ROW_MODE_FIRST_FETCH = 64


def build_query(opts: DatabaseReadOptions, backend: Backend, schema: Schema | None) -> tuple[str, list[str]]:
    """The SQL in the backend's parameter style and the names of its parameters, in argument order."""
    if opts.query is not None:
        check_read_query(opts.query)
        return translate(opts.query, backend.dialect.paramstyle)
    assert opts.entity_name is not None
    columns = [path for path, _ in schema.leaves()] if schema is not None and schema.fields else None
    return backend.dialect.select(parse_table_name(opts.entity_name), columns), []


def fetch_sizes(batch_size: int, row_mode: bool) -> Iterator[int]:
    """Rows per fetch: `batch_size` throughout, or in row mode small at first and growing to it."""
    size = batch_size if not row_mode else min(ROW_MODE_FIRST_FETCH, batch_size)
    while True:
        yield size
        size = min(size * 4, batch_size)


class RowLayout:
    """How result columns become record fields, compiled once per query."""

    def __init__(self, columns: Sequence[ColumnMeta], schema: Schema | None) -> None:
        names = [c.name for c in columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"the query returns column(s) {', '.join(dupes)} more than once; alias them")
        self.pick: list[int] = []
        self.names: list[str] = []
        self.encodings: list[ColumnEncoding | None] = []
        if schema is None or not schema.fields:
            for i, col in enumerate(columns):
                self.pick.append(i)
                self.names.append(col.name)
                self.encodings.append(read_encoding(None, col.db_type))
        else:
            index = {name: i for i, name in enumerate(names)}
            missing = [path for path, _ in schema.leaves() if path not in index]
            if missing:
                raise ValueError(
                    f"column(s) {', '.join(missing)} declared in the out port schema are not in the result "
                    f"({', '.join(names) or 'no columns'})"
                )
            for path, f in schema.leaves():
                self.pick.append(index[path])
                self.names.append(path)
                self.encodings.append(read_encoding(f, columns[index[path]].db_type))
        self.nested = schema is not None and any("." in n for n in self.names)
        self.identity = self.pick == list(range(len(columns)))

    def build(
        self, rows: Sequence[Sequence[Any]], first: int, *, columnar: bool = False
    ) -> tuple[list[Record] | Columns, list[tuple[Any, str, int | None]]]:
        """Records from rows (numbered from `first`), and (raw row, message, None) for rows that cannot be typed.
        With `columnar` and flat field names the typed columns are the batch (`Columns`), no record is built."""
        names = self.names
        transposed = list(zip(*rows, strict=True))  # one C-level pass; columns are then checked a type set at a time
        columns: list[Sequence[Any]] = []
        bad: dict[int, str] = {}
        changed = False
        for i, enc, name in zip(self.pick, self.encodings, names, strict=True):
            values: Sequence[Any] = transposed[i]
            if enc is not None:
                converted, col_bad = convert_column(values, enc, name)
                changed = changed or converted is not values
                values = converted
                for idx, msg in col_bad.items():
                    bad.setdefault(idx, msg)
            columns.append(values)
        errors: list[tuple[Any, str, int | None]] = [
            (self._raw(rows[i]), f"row {first + i}: {bad[i]}", None) for i in sorted(bad)
        ]
        if columnar and not self.nested and names:
            batch = Columns(names, columns)
            return (batch.take([i for i in range(len(batch)) if i not in bad]) if bad else batch), errors
        if not changed and self.identity:
            records = [dict(zip(names, row, strict=True)) for row in rows]
        else:
            records = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
        if self.nested:
            records = [unflatten(r) for r in records]
        if not bad:
            return records, []
        return [r for i, r in enumerate(records) if i not in bad], errors

    def _raw(self, row: Sequence[Any]) -> Record:
        return {
            n: (v if type(v) in NATURAL else natural(v))
            for n, v in ((n, row[i]) for n, i in zip(self.names, self.pick, strict=True))
        }


async def run_reader(ctx: ComponentContext[Any], backend: Backend) -> None:
    """Stream the query's rows to `out` in batches (see module docstring)."""
    opts: DatabaseReadOptions = ctx.options
    schema = ctx.out_schema("out")
    try:
        sql, names = build_query(opts, backend, schema)
        args = [parameter_value(v) for v in bind(names, opts.params)]
    except (QueryError, IdentifierError) as exc:
        raise config_error(ctx, backend, str(exc), stage="open") from None
    async with ctx.output("out") as out:
        try:
            async with backend.reader() as session:
                cursor = await session.open_cursor(sql, names, args)
                try:
                    layout = RowLayout(cursor.columns, schema)
                except ValueError as exc:
                    raise config_error(ctx, backend, str(exc), stage="read") from None
                first = 1
                for size in fetch_sizes(opts.batch_size, ctx.row_mode):
                    rows = await cursor.fetch(size)
                    if not rows:
                        break
                    records, errors = layout.build(rows, first, columnar=out.columnar)
                    first += len(rows)
                    if errors:
                        await ctx.record_errors(errors)
                    if records:
                        await out.send(records)
                    if len(rows) < size:
                        break
        except EtlError:
            raise
        except QueryError as exc:
            raise config_error(ctx, backend, str(exc), stage="read") from None
        except Exception as exc:  # noqa: BLE001 - a driver failure, classified and masked by the backend
            raise component_error(ctx, backend, exc, stage="read") from None
