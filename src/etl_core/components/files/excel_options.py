"""Options both Excel components take."""

from __future__ import annotations

from pydantic import Field, field_validator

from etl_core.components.base import ComponentOptions

_FORBIDDEN = set("[]:*?/\\")


class SheetOptions(ComponentOptions):
    """The sheet of a workbook a component reads or writes."""

    sheet_name: str = Field(
        "Sheet1", description="the sheet to read or write (reading: the default also means a workbook's only sheet)"
    )

    @field_validator("sheet_name")
    @classmethod
    def _excel_sheet_name(cls, value: str) -> str:
        if not value or len(value) > 31:
            raise ValueError(f"{value!r} is not an Excel sheet name: it must have 1 to 31 characters")
        bad = sorted(_FORBIDDEN.intersection(value))
        if bad or value.startswith("'") or value.endswith("'"):
            shown = " ".join(bad) or "'"
            raise ValueError(f"{value!r} is not an Excel sheet name: it may not contain {shown}")
        return value


def is_excel_path(value: str) -> bool:
    return value.lower().endswith((".xlsx", ".xlsm"))
