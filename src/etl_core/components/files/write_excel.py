"""`write_excel`: records to one sheet of a new .xlsx/.xlsm workbook, atomically."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationInfo, field_validator

from etl_core.components.base import ComponentContext
from etl_core.components.files.excel_options import SheetOptions, is_excel_path
from etl_core.components.files.format_options import check_output_path, refuse_append
from etl_core.components.files.options import WriterOptions
from etl_core.components.files.parts import FormatWriter
from etl_core.components.files.streaming import run_writer
from etl_core.components.registry import passthrough_schemas, register


class WriteExcelOptions(WriterOptions, SheetOptions):
    """Options of `write_excel`. The workbook is written whole (one sheet, header row first), so `mode:
    append` is refused for a single file (a directory gets a new part instead)."""

    @field_validator("filepath")
    @classmethod
    def _excel_suffix(cls, value: str) -> str:
        return check_output_path(value, is_excel_path, ".xlsx or .xlsm")

    @field_validator("mode")
    @classmethod
    def _appendable(cls, value: str, info: ValidationInfo) -> str:
        filepath = info.data.get("filepath")
        why = "a workbook is a zip archive that is written whole"
        return refuse_append(value, filepath if isinstance(filepath, str) else None, why)


@register(
    "write_excel",
    options=WriteExcelOptions,
    inputs=("in",),
    outputs=("out",),
    category="file",
    derive_schemas=passthrough_schemas,
    icon="file-excel",
    summary="Writes records as the rows of one sheet (header row first, nested fields as dotted columns); the "
    "workbook appears only when the whole run succeeds.",
    example={
        "name": "write_prices",
        "comp_type": "write_excel",
        "filepath": "out/prices.xlsx",
        "sheet_name": "Prices",
        "in_port_schemas": {
            "in": {"fields": [{"name": "sku", "data_type": "string"}, {"name": "price", "data_type": "float"}]}
        },
    },
)
async def write_excel(ctx: ComponentContext[WriteExcelOptions]) -> None:
    opts = ctx.options
    schema = ctx.in_schema("in")
    macro = opts.filepath.lower().endswith(".xlsm")
    # imported here: openpyxl costs ~80 ms at start-up, and most jobs never write a workbook
    from etl_core.components.files.excel_format import ExcelWriter, excel_part_format

    def open_writer(path: Path, append: bool) -> FormatWriter:
        return ExcelWriter(path, opts.sheet_name, schema, macro=macro)

    parts = excel_part_format(opts.sheet_name, schema)
    await run_writer(ctx, opts.filepath, open_writer, parts=parts, append=opts.mode == "append")
