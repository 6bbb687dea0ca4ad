"""`read_json`: a JSON array, JSON-lines file or a directory of them as records, streamed."""

from __future__ import annotations

from pathlib import Path

from etl_core.components.base import ComponentContext
from etl_core.components.files.csv_format import BULK_CHUNK, ROW_CHUNK
from etl_core.components.files.json_format import READ_SUFFIXES, JsonArrayReader, JsonLinesReader, json_layout
from etl_core.components.files.options import FileOptions
from etl_core.components.files.streaming import BatchReader, directory_reader, run_reader
from etl_core.components.registry import register


class ReadJsonOptions(FileOptions):
    """Options of `read_json`. `.jsonl`/`.ndjson` are read as JSON lines; `.json` and any other name as one
    array of records or a sequence of top-level objects; `.gz` (or gzip content) is decompressed; a directory
    is read file by file in name order."""


@register(
    "read_json",
    options=ReadJsonOptions,
    inputs=(),
    outputs=("out",),
    category="file",
    infers_output=True,
    icon="file-json",
    summary="Reads a JSON array (.json) or JSON lines (.jsonl/.ndjson), gzipped or not, into records, streamed.",
    example={
        "name": "read_orders",
        "comp_type": "read_json",
        "filepath": "orders.jsonl",
        "routes": {"out": ["sink"]},
        "out_port_schemas": {
            "out": {
                "fields": [
                    {"name": "id", "data_type": "integer"},
                    {
                        "name": "customer",
                        "data_type": "object",
                        "children": [{"name": "city", "data_type": "string"}],
                    },
                ]
            }
        },
    },
)
async def read_json(ctx: ComponentContext[ReadJsonOptions]) -> None:
    path = ctx.path(ctx.options.filepath)
    schema = ctx.out_schema("out")
    chunk = ROW_CHUNK if ctx.row_mode else BULK_CHUNK
    # with an error port wired, every malformed line is a record error, even when no line of the file's start
    # parses (spec §4: the rest still flows); without one, such a file fails once, as "not JSON lines"
    errors = ctx.outputs.get("error")
    check_format = errors is None or not errors.connected
    size, eager, budget = ctx.batch_size, ctx.row_mode, ctx.batch_bytes

    def open_one(file: Path) -> BatchReader:
        layout = json_layout(file.name)
        if layout is not None and layout[0] == "lines":
            return JsonLinesReader(
                file,
                schema,
                batch_size=size,
                chunk_size=chunk,
                eager=eager,
                batch_bytes=budget,
                check_format=check_format,
            )
        return JsonArrayReader(file, schema, batch_size=size, chunk_size=chunk, eager=eager, batch_bytes=budget)

    await run_reader(ctx, path, directory_reader(path, READ_SUFFIXES, open_one))
