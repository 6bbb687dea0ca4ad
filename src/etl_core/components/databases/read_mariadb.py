"""`read_mariadb`: rows of a MariaDB/MySQL table or query as records, through an unbuffered cursor."""

from __future__ import annotations

from typing import ClassVar

from etl_core.components.base import ComponentContext
from etl_core.components.databases.options import DatabaseReadOptions, ServerOptions
from etl_core.components.registry import register
from etl_core.connectors.placeholders import Style


class ReadMariadbOptions(ServerOptions, DatabaseReadOptions):
    """Options of `read_mariadb`."""

    dsn_scheme: ClassVar[str] = "mysql"
    paramstyle: ClassVar[Style] = "format"


@register(
    "read_mariadb",
    options=ReadMariadbOptions,
    inputs=(),
    outputs=("out",),
    category="database",
    infers_output=True,
    icon="database",
    summary="Reads a MariaDB/MySQL table or a parameterised query, streaming rows from the server in batches.",
    example={
        "name": "read_customers",
        "comp_type": "read_mariadb",
        "context_id": "crm-db",
        "entity_name": "customers",
        "routes": {"out": ["sink"]},
        "out_port_schemas": {
            "out": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "name", "data_type": "string"}]}
        },
    },
)
async def read_mariadb(ctx: ComponentContext[ReadMariadbOptions]) -> None:
    # imported here: database drivers load only when a database component runs
    from etl_core.components.databases.reading import run_reader
    from etl_core.components.databases.support import server_backend

    await run_reader(ctx, server_backend(ctx, "mariadb"))
