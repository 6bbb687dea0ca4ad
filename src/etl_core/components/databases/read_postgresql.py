"""`read_postgresql`: rows of a PostgreSQL table or query as records, through a server-side cursor."""

from __future__ import annotations

from typing import ClassVar

from etl_core.components.base import ComponentContext
from etl_core.components.databases.options import DatabaseReadOptions, ServerOptions
from etl_core.components.registry import register
from etl_core.connectors.placeholders import Style


class ReadPostgresqlOptions(ServerOptions, DatabaseReadOptions):
    """Options of `read_postgresql`."""

    dsn_scheme: ClassVar[str] = "postgresql"
    paramstyle: ClassVar[Style] = "numeric"


@register(
    "read_postgresql",
    options=ReadPostgresqlOptions,
    inputs=(),
    outputs=("out",),
    category="database",
    infers_output=True,
    icon="database",
    summary="Reads a PostgreSQL table or a parameterised query through a server-side cursor, in batches.",
    example={
        "name": "read_orders",
        "comp_type": "read_postgresql",
        "context_id": "sales-db",
        "query": "SELECT id, city FROM public.orders WHERE created_at >= :since",
        "params": {"since": "2024-01-01"},
        "routes": {"out": ["sink"]},
        "out_port_schemas": {
            "out": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "city", "data_type": "string"}]}
        },
    },
)
async def read_postgresql(ctx: ComponentContext[ReadPostgresqlOptions]) -> None:
    # imported here: database drivers load only when a database component runs
    from etl_core.components.databases.reading import run_reader
    from etl_core.components.databases.support import server_backend

    await run_reader(ctx, server_backend(ctx, "postgresql"))
