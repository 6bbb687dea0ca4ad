"""`read_sqlite`: rows of a SQLite table or query as records."""

from __future__ import annotations

from etl_core.components.base import ComponentContext
from etl_core.components.databases.options import DatabaseReadOptions, SqliteFileOptions
from etl_core.components.registry import register


class ReadSqliteOptions(SqliteFileOptions, DatabaseReadOptions):
    """Options of `read_sqlite`."""


@register(
    "read_sqlite",
    options=ReadSqliteOptions,
    inputs=(),
    outputs=("out",),
    category="database",
    infers_output=True,
    icon="database",
    summary="Reads a SQLite table or a parameterised query, streaming rows in batches (the file is opened read-only).",
    example={
        "name": "read_orders",
        "comp_type": "read_sqlite",
        "database": "shop.db",
        "query": "SELECT id, city FROM orders WHERE id > :min_id",
        "params": {"min_id": 100},
        "routes": {"out": ["sink"]},
        "out_port_schemas": {
            "out": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "city", "data_type": "string"}]}
        },
    },
)
async def read_sqlite(ctx: ComponentContext[ReadSqliteOptions]) -> None:
    # imported here: database drivers load only when a database component runs
    from etl_core.components.databases.reading import run_reader
    from etl_core.components.databases.support import sqlite_backend

    await run_reader(ctx, sqlite_backend(ctx))
