"""`write_json`: records to a JSON array or JSON-lines file (optionally gzipped), atomically."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from etl_core.components.base import ComponentContext
from etl_core.components.files.format_options import check_output_path
from etl_core.components.files.json_format import JsonWriter, json_layout, json_part_format
from etl_core.components.files.options import WriterOptions
from etl_core.components.files.parts import FormatWriter
from etl_core.components.files.streaming import run_writer
from etl_core.components.registry import passthrough_schemas, register


class WriteJsonOptions(WriterOptions):
    """Options of `write_json`. The suffix picks the layout: `.json` one array, `.jsonl`/`.ndjson` one record
    per line, `.gz` after either compresses; a directory gets JSON-lines part files. `mode: append` adds lines
    to a JSON-lines file, and to a `.json` array by writing a new array that starts with the old one's records
    (replacing the file at the end of a successful run, like an overwrite)."""

    @field_validator("filepath")
    @classmethod
    def _json_suffix(cls, value: str) -> str:
        return check_output_path(value, lambda v: json_layout(v) is not None, ".json, .jsonl or .ndjson (+ .gz)")


@register(
    "write_json",
    options=WriteJsonOptions,
    inputs=("in",),
    outputs=("out",),
    category="file",
    derive_schemas=passthrough_schemas,
    icon="file-json",
    summary="Writes records as a JSON array (.json) or JSON lines (.jsonl/.ndjson), gzipped with .gz; the file "
    "appears only when the whole run succeeds.",
    example={
        "name": "write_orders",
        "comp_type": "write_json",
        "filepath": "out/orders.json",
        "in_port_schemas": {
            "in": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "city", "data_type": "string"}]}
        },
    },
)
async def write_json(ctx: ComponentContext[WriteJsonOptions]) -> None:
    opts = ctx.options
    layout, gz = json_layout(opts.filepath) or ("lines", False)
    schema = ctx.in_schema("in")
    target = ctx.path(opts.filepath)

    def open_writer(path: Path, append: bool) -> FormatWriter:
        if layout == "array" and append:
            # an array cannot grow in place: `path` is a staged new file that starts with the target's records
            return JsonWriter(path, layout, gz=gz, schema=schema, existing=target)
        return JsonWriter(path, layout, gz=gz, append=append, schema=schema)

    parts = json_part_format(schema)
    append = opts.mode == "append"
    await run_writer(ctx, opts.filepath, open_writer, parts=parts, append=append, append_in_place=layout == "lines")
