"""`read_excel`: the rows of one sheet of an .xlsx/.xlsm workbook (or a directory of them) as records."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from etl_core.components.base import ComponentContext
from etl_core.components.files.excel_options import SheetOptions, is_excel_path
from etl_core.components.files.format_options import check_input_path
from etl_core.components.files.options import FileOptions
from etl_core.components.files.streaming import BatchReader, directory_reader, run_reader
from etl_core.components.registry import register


class ReadExcelOptions(FileOptions, SheetOptions):
    """Options of `read_excel`: the header is the sheet's first non-empty row; a directory is read workbook by
    workbook in name order."""

    @field_validator("filepath")
    @classmethod
    def _excel_suffix(cls, value: str) -> str:
        return check_input_path(value, is_excel_path, ".xlsx or .xlsm")


@register(
    "read_excel",
    options=ReadExcelOptions,
    inputs=(),
    outputs=("out",),
    category="file",
    infers_output=True,
    icon="file-excel",
    summary="Reads one sheet of an .xlsx/.xlsm workbook into records (header = first non-empty row), streamed; "
    "values keep their Excel types.",
    example={
        "name": "read_prices",
        "comp_type": "read_excel",
        "filepath": "prices.xlsx",
        "sheet_name": "Prices",
        "routes": {"out": ["sink"]},
        "out_port_schemas": {
            "out": {"fields": [{"name": "sku", "data_type": "string"}, {"name": "price", "data_type": "float"}]}
        },
    },
)
async def read_excel(ctx: ComponentContext[ReadExcelOptions]) -> None:
    opts = ctx.options
    path = ctx.path(opts.filepath)
    schema = ctx.out_schema("out")
    # imported here: openpyxl costs ~80 ms at start-up, and most jobs never read a workbook
    from etl_core.components.files.excel_format import SUFFIXES, ExcelBatchReader

    def open_one(file: Path) -> BatchReader:
        return ExcelBatchReader(file, schema, opts.sheet_name, batch_size=ctx.batch_size, eager=ctx.row_mode)

    await run_reader(ctx, path, directory_reader(path, SUFFIXES, open_one))
