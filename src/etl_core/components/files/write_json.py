"""`write_json`: records to a JSON array or JSON-lines file (optionally gzipped), atomically."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationInfo, field_validator

from etl_core.components.base import ComponentContext
from etl_core.components.files.format_options import check_output_path, refuse_append
from etl_core.components.files.json_format import JsonWriter, json_layout, json_part_format
from etl_core.components.files.options import WriterOptions
from etl_core.components.files.parts import FormatWriter
from etl_core.components.files.streaming import run_writer
from etl_core.components.registry import passthrough_schemas, register


class WriteJsonOptions(WriterOptions):
    """Options of `write_json`. The suffix picks the layout: `.json` one array, `.jsonl`/`.ndjson` one record
    per line, `.gz` after either compresses; a directory gets JSON-lines part files."""

    @field_validator("filepath")
    @classmethod
    def _json_suffix(cls, value: str) -> str:
        return check_output_path(value, lambda v: json_layout(v) is not None, ".json, .jsonl or .ndjson (+ .gz)")

    @field_validator("mode")
    @classmethod
    def _appendable(cls, value: str, info: ValidationInfo) -> str:
        filepath = info.data.get("filepath")
        layout = json_layout(filepath) if isinstance(filepath, str) else None
        if layout is not None and layout[0] == "array":
            return refuse_append(value, filepath, "a .json file holds one array, which cannot grow in place")
        return value


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
    layout = json_layout(opts.filepath) or ("lines", False)

    def open_writer(path: Path, append: bool) -> FormatWriter:
        return JsonWriter(path, layout[0], gz=layout[1], append=append)

    await run_writer(ctx, opts.filepath, open_writer, parts=json_part_format(), append=opts.mode == "append")
