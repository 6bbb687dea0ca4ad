"""`read_csv`: a CSV file as typed records."""

from __future__ import annotations

from pathlib import Path

from etl_core.components.base import ComponentContext
from etl_core.components.files.csv_format import BULK_CHUNK, CSV_SUFFIXES, ROW_CHUNK, CsvBatchReader, CsvDialect
from etl_core.components.files.options import CsvDialectOptions, FileOptions
from etl_core.components.files.streaming import BatchReader, directory_reader, run_reader
from etl_core.components.registry import register


class ReadCsvOptions(FileOptions, CsvDialectOptions):
    """Options of `read_csv`. A directory is read file by file (`.csv`, `.tsv`, `.txt`) in name order; gzip
    content is decompressed."""


@register(
    "read_csv",
    options=ReadCsvOptions,
    inputs=(),
    outputs=("out",),
    category="file",
    infers_output=True,
    icon="file-csv",
    summary="Reads a CSV file (RFC 4180) into records typed by the out port's schema.",
    example={
        "name": "read_orders",
        "comp_type": "read_csv",
        "filepath": "orders.csv",
        "routes": {"out": ["sink"]},
        "out_port_schemas": {
            "out": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "city", "data_type": "string"}]}
        },
    },
)
async def read_csv(ctx: ComponentContext[ReadCsvOptions]) -> None:
    opts = ctx.options
    path = ctx.path(opts.filepath)
    dialect = CsvDialect(opts.separator, opts.quotechar, opts.encoding, opts.header, opts.null_value)

    def open_one(file: Path) -> BatchReader:
        return CsvBatchReader(
            file,
            dialect,
            ctx.out_schema("out"),
            batch_size=ctx.batch_size,
            chunk_size=ROW_CHUNK if ctx.row_mode else BULK_CHUNK,
            eager=ctx.row_mode,
            columnar=ctx.output("out").columnar,
            batch_bytes=ctx.batch_bytes,
        )

    # a directory is read file by file in name order, as the bigdata strategy reads it
    await run_reader(ctx, path, directory_reader(path, CSV_SUFFIXES, open_one))
