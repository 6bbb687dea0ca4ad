"""`write_mariadb`: records into a MariaDB/MySQL table with multi-row inserts, in one transaction."""

from __future__ import annotations

from typing import ClassVar

from etl_core.components.base import ComponentContext
from etl_core.components.databases.options import DatabaseWriteOptions, ServerOptions
from etl_core.components.registry import PortDef, passthrough_schemas, register
from etl_core.connectors.placeholders import Style


class WriteMariadbOptions(ServerOptions, DatabaseWriteOptions):
    """Options of `write_mariadb`."""

    dsn_scheme: ClassVar[str] = "mysql"
    paramstyle: ClassVar[Style] = "format"


@register(
    "write_mariadb",
    options=WriteMariadbOptions,
    inputs=(PortDef("in", required=True),),
    outputs=("out",),
    category="database",
    derive_schemas=passthrough_schemas,
    columns="pass",
    icon="database",
    summary="Writes records to a MariaDB/MySQL table (insert, upsert, update, truncate or replace); "
    "the rows are committed only when the whole run succeeds.",
    example={
        "name": "store_customers",
        "comp_type": "write_mariadb",
        "context_id": "crm-db",
        "entity_name": "customers",
        "operation": "upsert",
        "key_columns": ["id"],
        "in_port_schemas": {
            "in": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "name", "data_type": "string"}]}
        },
    },
)
async def write_mariadb(ctx: ComponentContext[WriteMariadbOptions]) -> None:
    # imported here: database drivers load only when a database component runs
    from etl_core.components.databases.support import server_backend
    from etl_core.components.databases.writing import run_writer

    await run_writer(ctx, server_backend(ctx, "mariadb"))
