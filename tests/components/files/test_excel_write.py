"""write_excel: header and typed rows, flattening, empty output, xlsm, record errors, atomicity."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from etl_core.components.files.excel_format import ExcelWriter
from etl_core.errors import ConfigError
from etl_core.testing import component, fields, list_sink, list_source, make_job, route, run_job

Json = dict[str, Any]


def listing(folder: Path) -> list[str]:
    """The names in a directory, sorted."""
    return sorted(p.name for p in folder.iterdir())


SCHEMA: Json = {
    "fields": [
        {"name": "id", "data_type": "integer"},
        {"name": "name", "data_type": "string"},
        {"name": "price", "data_type": "float"},
        {"name": "ok", "data_type": "boolean"},
        {"name": "address", "data_type": "object", "children": [{"name": "city", "data_type": "string"}]},
        {"name": "tags", "data_type": "array"},
    ]
}
ROWS = [
    {"id": 1, "name": "Zoë ✓", "price": 2.5, "ok": True, "address": {"city": "Köln"}, "tags": ["a", "b"]},
    {"id": 2, "name": "李雷", "price": 3.0, "ok": False, "address": {"city": None}, "tags": []},
]


def writer(path: str, schema: Json | None = None, **options: Any) -> Json:
    return component("write", "write_excel", filepath=path, in_port_schemas={"in": schema or SCHEMA}, **options)


async def write(data_dir: Path, path: str, rows: list[Json], **options: Any) -> Any:
    return await run_job(make_job(list_source("src", rows), writer(path, **options)), data_dir=data_dir)


def sheet_rows(path: Path, sheet: str = "Sheet1") -> list[tuple[Any, ...]]:
    wb = load_workbook(path, read_only=True)
    try:
        return [tuple(row) for row in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


async def test_write_excel_writes_a_header_and_typed_rows_with_dotted_columns(data_dir: Path) -> None:
    run = await write(data_dir, "out/book.xlsx", ROWS)
    assert run.status == "SUCCESS", run.state.error
    assert sheet_rows(data_dir / "out" / "book.xlsx") == [
        ("id", "name", "price", "ok", "address.city", "tags"),
        (1, "Zoë ✓", 2.5, True, "Köln", '["a", "b"]'),
        (2, "李雷", 3, False, None, "[]"),
    ]


async def test_write_excel_writes_the_named_sheet(data_dir: Path) -> None:
    await write(data_dir, "book.xlsx", ROWS[:1], sheet_name="Prices")
    assert load_workbook(data_dir / "book.xlsx").sheetnames == ["Prices"]


async def test_write_excel_without_records_writes_the_header_row(data_dir: Path) -> None:
    run = await write(data_dir, "empty.xlsx", [])
    assert run.status == "SUCCESS", run.state.error
    assert sheet_rows(data_dir / "empty.xlsx") == [("id", "name", "price", "ok", "address.city", "tags")]


async def test_write_excel_keeps_dates_as_excel_dates(tmp_path: Path) -> None:
    w = ExcelWriter(tmp_path / "d.xlsx", "Sheet1", None)
    when = dt.datetime(2024, 5, 6, 7, 8, 9)
    aware = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    w.write([{"when": when, "aware": aware, "day": dt.date(2024, 1, 2)}])
    w.close()
    assert sheet_rows(tmp_path / "d.xlsx") == [
        ("when", "aware", "day"),
        (when, "2024-05-06T07:08:09+00:00", dt.datetime(2024, 1, 2)),
    ]


async def test_write_excel_xlsm_is_a_macro_enabled_workbook(data_dir: Path) -> None:
    await write(data_dir, "macro.xlsm", ROWS[:1])
    with zipfile.ZipFile(data_dir / "macro.xlsm") as z:
        assert "macroEnabled.main+xml" in z.read("[Content_Types].xml").decode()
    assert sheet_rows(data_dir / "macro.xlsm")[1][0] == 1


async def test_write_excel_sends_text_a_sheet_cannot_hold_to_the_error_port(data_dir: Path) -> None:
    rows = [{"t": "fine"}, {"t": "bell \x07"}, {"t": "x" * 40_000}, {"t": "last"}]
    src = route(list_source("src", rows), "out", "write")
    job = make_job(src, route(writer("e.xlsx", fields(t="string")), "error", "bad"), list_sink("bad"), chain=False)
    run = await run_job(job, data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert sheet_rows(data_dir / "e.xlsx") == [("t",), ("fine",), ("last",)]
    errors = [e["error"] for e in run.records("bad")]
    assert errors[0].startswith("record 2: cannot be written to Excel:")
    assert "U+0007" in errors[0]
    assert "exceeds Excel's cell limit" in errors[1]


async def test_write_excel_refuses_append_and_unknown_suffixes(data_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        await write(data_dir, "book.xlsx", ROWS, mode="append")
    assert info.value.issues[0].path == "components[1].mode"
    with pytest.raises(ConfigError) as info:
        await write(data_dir, "book.xls", ROWS)
    assert info.value.issues[0].path == "components[1].filepath"


async def test_write_excel_refuses_a_sheet_name_excel_cannot_hold(data_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        await write(data_dir, "book.xlsx", ROWS, sheet_name="a/b")
    assert info.value.issues[0].path == "components[1].sheet_name"


async def test_write_excel_replaces_the_file_on_rerun_and_forwards_records(data_dir: Path) -> None:
    await write(data_dir, "book.xlsx", ROWS)
    job = make_job(list_source("src", ROWS[1:]), writer("book.xlsx"), list_sink("after"))
    run = await run_job(job, data_dir=data_dir)
    assert run.records("after") == ROWS[1:]
    assert [r[0] for r in sheet_rows(data_dir / "book.xlsx")] == ["id", 2]
    assert listing(data_dir) == ["book.xlsx"]


async def test_write_excel_leaves_no_file_when_a_later_component_fails(data_dir: Path) -> None:
    job = make_job(list_source("src", ROWS), writer("book.xlsx"), list_sink("after", fail_after=1))
    run = await run_job(job, data_dir=data_dir)
    assert run.status == "FAILED"
    assert listing(data_dir) == []


async def test_written_workbook_reads_back_into_the_same_nested_records(data_dir: Path) -> None:
    await write(data_dir, "book.xlsx", ROWS)
    read = route(component("read", "read_excel", filepath="book.xlsx", out_port_schemas={"out": SCHEMA}), "out", "s")
    run = await run_job(make_job(read, list_sink("s"), chain=False), data_dir=data_dir)
    assert run.records("s") == ROWS
