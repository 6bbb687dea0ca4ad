"""`write_postgresql`: records into a PostgreSQL table with binary COPY, in one transaction."""

from __future__ import annotations

from typing import ClassVar

from etl_core.components.base import ComponentContext
from etl_core.components.databases.options import DatabaseWriteOptions, ServerOptions
from etl_core.components.registry import PortDef, passthrough_schemas, register
from etl_core.connectors.placeholders import Style


class WritePostgresqlOptions(ServerOptions, DatabaseWriteOptions):
    """Options of `write_postgresql`."""

    dsn_scheme: ClassVar[str] = "postgresql"
    paramstyle: ClassVar[Style] = "numeric"


@register(
    "write_postgresql",
    options=WritePostgresqlOptions,
    inputs=(PortDef("in", required=True),),
    outputs=("out",),
    category="database",
    derive_schemas=passthrough_schemas,
    columns="pass",
    icon="database",
    summary="Writes records to a PostgreSQL table with binary COPY (insert, upsert, update, truncate or replace); "
    "the rows are committed only when the whole run succeeds.",
    example={
        "name": "store_orders",
        "comp_type": "write_postgresql",
        "dsn": "postgresql://etl:${db_password}@db.example.com:5432/shop",
        "entity_name": "public.orders",
        "operation": "upsert",
        "key_columns": ["id"],
        "in_port_schemas": {
            "in": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "city", "data_type": "string"}]}
        },
    },
)
async def write_postgresql(ctx: ComponentContext[WritePostgresqlOptions]) -> None:
    # imported here: database drivers load only when a database component runs
    from etl_core.components.databases.support import server_backend
    from etl_core.components.databases.writing import run_writer

    await run_writer(ctx, server_backend(ctx, "postgresql"))
