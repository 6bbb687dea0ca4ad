"""`write_csv`: records to a CSV file, atomically."""

from __future__ import annotations

from typing import Literal

import anyio
from pydantic import Field

from etl_core.components.base import ComponentContext
from etl_core.components.files.csv_format import CsvBatchWriter, CsvDialect
from etl_core.components.files.options import CsvDialectOptions, WriterOptions
from etl_core.components.registry import passthrough_schemas, register
from etl_core.components.support.files import StagedFile


class WriteCsvOptions(WriterOptions, CsvDialectOptions):
    """Options of `write_csv`."""

    lineterminator: Literal["\n", "\r\n"] = Field("\n", description="line ending written after each row")


@register(
    "write_csv",
    options=WriteCsvOptions,
    inputs=("in",),
    outputs=("out",),
    category="file",
    derive_schemas=passthrough_schemas,
    columns="pass",
    icon="file-csv",
    summary="Writes records to a CSV file; the file appears only when the whole run succeeds.",
    example={
        "name": "write_orders",
        "comp_type": "write_csv",
        "filepath": "out/orders.csv",
        "in_port_schemas": {
            "in": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "city", "data_type": "string"}]}
        },
    },
)
async def write_csv(ctx: ComponentContext[WriteCsvOptions]) -> None:
    opts = ctx.options
    dialect = CsvDialect(opts.separator, opts.quotechar, opts.encoding, opts.header, opts.null_value)
    target = ctx.path(opts.filepath)
    append = opts.mode == "append"
    async with StagedFile(ctx, target, append=append) as staged:
        fh = await anyio.to_thread.run_sync(
            lambda: open(staged.path, "a" if append else "w", encoding=opts.encoding, newline="")  # noqa: SIM115
        )
        try:
            fresh = not append or fh.tell() == 0
            schema = ctx.in_schema("in")
            writer = await anyio.to_thread.run_sync(
                lambda: CsvBatchWriter(fh, dialect, schema, lineterminator=opts.lineterminator, write_header=fresh)
            )
            async with ctx.input("in") as inbox, ctx.output("out") as out:
                async for batch in inbox.batches():
                    written, size, errors = await anyio.to_thread.run_sync(writer.write_batch, batch)
                    ctx.metrics.bytes_written += size
                    if errors:
                        await ctx.record_errors(errors)
                    if out.connected and written:
                        await out.send(written)
            errors_port = ctx.outputs.get("error")
            if errors_port is not None:
                # the commit point waits for every component, the error port's receivers included
                await errors_port.aclose()
            ctx.metrics.bytes_written += await anyio.to_thread.run_sync(writer.finish)
        finally:
            fh.close()  # synchronous: must run even while the task is being cancelled
