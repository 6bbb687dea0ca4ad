"""read_excel: header detection, Excel types, sheets, nesting, typing, record errors, broken files, row mode."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from etl_core.testing import component, list_sink, make_job, route, run_job

Json = dict[str, Any]


def workbook(path: Path, rows: list[list[Any]], *, title: str = "Sheet1", start_row: int = 1, **sheets: Any) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for r, row in enumerate(rows, start_row):
        for c, value in enumerate(row, 1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    for name, extra in sheets.items():
        other = wb.create_sheet(name)
        for row in extra:
            other.append(row)
    wb.save(path)


async def read(data_dir: Path, path: str, schema: Json | None = None, *, errors: bool = False, **kw: Any) -> Any:
    strategy = kw.pop("strategy", "bulk")
    comp = route(component("read", "read_excel", filepath=path, **kw), "out", "sink")
    if schema is not None:
        comp["out_port_schemas"] = {"out": schema}
    comps = [comp, list_sink("sink")]
    if errors:
        route(comp, "error", "bad")
        comps.append(list_sink("bad"))
    return await run_job(make_job(*comps, chain=False, strategy=strategy), data_dir=data_dir)


async def test_read_excel_takes_the_first_non_empty_row_as_header_and_keeps_excel_types(data_dir: Path) -> None:
    when = dt.datetime(2024, 5, 6, 7, 8, 9)
    rows: list[list[Any]] = [
        [None, "id", "name", "price", "ok", "when", "note"],
        [None, 1, "Zoë ✓", 2.5, True, when, None],
        [],
        [None, 2, "李雷", 3, False, None, "x"],
    ]
    workbook(data_dir / "book.xlsx", rows, start_row=3)
    run = await read(data_dir, "book.xlsx")
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [
        {"column_1": None, "id": 1, "name": "Zoë ✓", "price": 2.5, "ok": True, "when": when, "note": None},
        {"column_1": None, "id": 2, "name": "李雷", "price": 3, "ok": False, "when": None, "note": "x"},
    ]


async def test_read_excel_reads_the_named_sheet(data_dir: Path) -> None:
    workbook(data_dir / "book.xlsx", [["a"], [1]], Prices=[["sku", "price"], ["x", 9.5]])
    run = await read(data_dir, "book.xlsx", sheet_name="Prices")
    assert run.records("sink") == [{"sku": "x", "price": 9.5}]


async def test_read_excel_default_sheet_means_the_only_sheet(data_dir: Path) -> None:
    workbook(data_dir / "book.xlsx", [["a"], [1]], title="Data")
    run = await read(data_dir, "book.xlsx")
    assert run.records("sink") == [{"a": 1}]


async def test_read_excel_fails_listing_the_sheets_when_the_sheet_is_missing(data_dir: Path) -> None:
    workbook(data_dir / "book.xlsx", [["a"], [1]], title="Data", Other=[["b"]])
    run = await read(data_dir, "book.xlsx")
    assert run.status == "FAILED"
    assert "no sheet 'Sheet1' (sheets: 'Data', 'Other')" in (run.state.error or "")


async def test_read_excel_types_columns_by_the_schema_and_nests_dotted_columns(data_dir: Path) -> None:
    rows: list[list[Any]] = [
        ["id", "code", "address.city", "address.zip", "skip"],
        ["7", 5, "Köln", 50667, "x"],
        [8, None, None, None, "y"],
    ]
    workbook(data_dir / "book.xlsx", rows)
    schema = {
        "fields": [
            {"name": "id", "data_type": "integer"},
            {"name": "code", "data_type": "string", "nullable": True},
            {
                "name": "address",
                "data_type": "object",
                "children": [{"name": "city", "data_type": "string"}, {"name": "zip", "data_type": "string"}],
            },
        ]
    }
    run = await read(data_dir, "book.xlsx", schema)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [
        {"id": 7, "code": "5", "address": {"city": "Köln", "zip": "50667"}},
        {"id": 8, "code": None, "address": {"city": None, "zip": None}},
    ]


async def test_read_excel_keeps_dotted_columns_flat_without_a_schema(data_dir: Path) -> None:
    workbook(data_dir / "book.xlsx", [["address.city"], ["Köln"]])
    run = await read(data_dir, "book.xlsx")
    assert run.records("sink") == [{"address.city": "Köln"}]


async def test_read_excel_sends_a_value_that_does_not_fit_to_the_error_port_with_its_row(data_dir: Path) -> None:
    workbook(data_dir / "book.xlsx", [["id"], [1], ["two"], [3]], start_row=2)
    run = await read(data_dir, "book.xlsx", {"fields": [{"name": "id", "data_type": "integer"}]}, errors=True)
    assert run.records("sink") == [{"id": 1}, {"id": 3}]
    assert run.records("bad") == [
        {
            "record": {"id": "two"},
            "error": "field 'id': 'two' is not an integer (integer)",
            "component": "read",
            "line": 4,
        }
    ]


async def test_read_excel_treats_a_value_beyond_the_header_as_a_record_error(data_dir: Path) -> None:
    workbook(data_dir / "book.xlsx", [["a"], [1, "stray"], [2]])
    run = await read(data_dir, "book.xlsx", errors=True)
    assert run.records("sink") == [{"a": 2}]
    assert run.records("bad")[0]["line"] == 2
    assert "beyond the header" in run.records("bad")[0]["error"]


async def test_read_excel_fails_when_a_declared_column_is_missing(data_dir: Path) -> None:
    workbook(data_dir / "book.xlsx", [["a"], [1]])
    run = await read(data_dir, "book.xlsx", {"fields": [{"name": "b", "data_type": "integer"}]})
    assert run.status == "FAILED"
    assert "column(s) b declared in the schema are not in the header" in (run.state.error or "")


async def test_read_excel_fails_on_a_repeated_header(data_dir: Path) -> None:
    workbook(data_dir / "book.xlsx", [["a", "a"], [1, 2]])
    run = await read(data_dir, "book.xlsx")
    assert run.status == "FAILED"
    assert "row 1: header repeats column(s) a" in (run.state.error or "")


async def test_read_excel_gives_no_records_for_an_empty_sheet_or_a_header_only(data_dir: Path) -> None:
    workbook(data_dir / "empty.xlsx", [])
    workbook(data_dir / "header.xlsx", [["a", "b"]])
    for name in ("empty.xlsx", "header.xlsx"):
        run = await read(data_dir, name)
        assert run.status == "SUCCESS", run.state.error
        assert run.records("sink") == []


async def test_read_excel_fails_naming_the_file_when_it_is_not_a_workbook(data_dir: Path) -> None:
    (data_dir / "fake.xlsx").write_text("id,name\n1,x\n")
    run = await read(data_dir, "fake.xlsx")
    assert run.status == "FAILED"
    assert "fake.xlsx" in (run.state.error or "")
    assert "is not an Excel workbook" in (run.state.error or "")


async def test_read_excel_reads_xlsm(data_dir: Path) -> None:
    workbook(data_dir / "macro.xlsm", [["a"], [1]])
    run = await read(data_dir, "macro.xlsm")
    assert run.records("sink") == [{"a": 1}]


async def test_read_excel_in_row_mode_sends_small_batches(data_dir: Path) -> None:
    workbook(data_dir / "many.xlsx", [["n"], *([i] for i in range(1200))])
    run = await read(data_dir, "many.xlsx", strategy="row")
    assert [r["n"] for r in run.records("sink")] == list(range(1200))
    assert run.metrics("read").batches_out == 3  # 500 rows at a time
