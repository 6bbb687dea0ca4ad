"""`write_sqlite`: records into a SQLite table, in one transaction."""

from __future__ import annotations

from etl_core.components.base import ComponentContext
from etl_core.components.databases.options import DatabaseWriteOptions, SqliteFileOptions
from etl_core.components.registry import PortDef, passthrough_schemas, register


class WriteSqliteOptions(SqliteFileOptions, DatabaseWriteOptions):
    """Options of `write_sqlite`."""


@register(
    "write_sqlite",
    options=WriteSqliteOptions,
    inputs=(PortDef("in", required=True),),
    outputs=("out",),
    category="database",
    derive_schemas=passthrough_schemas,
    columns="pass",
    icon="database",
    summary="Writes records to a SQLite table (insert, upsert, update, truncate or replace); "
    "the rows are committed only when the whole run succeeds.",
    example={
        "name": "store_orders",
        "comp_type": "write_sqlite",
        "database": "shop.db",
        "entity_name": "orders",
        "operation": "upsert",
        "key_columns": ["id"],
        "create_table": True,
        "in_port_schemas": {
            "in": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "city", "data_type": "string"}]}
        },
    },
)
async def write_sqlite(ctx: ComponentContext[WriteSqliteOptions]) -> None:
    # imported here: database drivers load only when a database component runs
    from etl_core.components.databases.support import sqlite_backend
    from etl_core.components.databases.writing import run_writer

    await run_writer(ctx, sqlite_backend(ctx))
