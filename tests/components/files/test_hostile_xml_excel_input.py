"""read_xml and read_excel on hostile files: elements nested thousands deep, entity bombs, damaged workbooks.
A record that can be isolated goes to the `error` port and the rest flows; a file that cannot be read fails
naming the file and where (job-config.md §4, §5); nothing fails with a bare Python exception."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from etl_core.components.files import excel_format
from etl_core.testing import component, list_sink, make_job, route, run_job

Json = dict[str, Any]


async def read(data_dir: Path, comp_type: str, path: str, *, errors: bool, strategy: str = "bulk", **opts: Any) -> Any:
    comp = route(component("read", comp_type, filepath=path, **opts), "out", "sink")
    comps = [comp, list_sink("sink")]
    if errors:
        route(comp, "error", "bad")
        comps.append(list_sink("bad"))
    return await run_job(make_job(*comps, chain=False, strategy=strategy), data_dir=data_dir)


@pytest.mark.parametrize("strategy", ["bulk", "row"])
async def test_an_xml_record_nested_thousands_deep_is_a_record_error_and_the_next_record_flows(
    data_dir: Path, strategy: str
) -> None:
    deep = b"<a>" * 5000 + b"x" + b"</a>" * 5000
    (data_dir / "deep.xml").write_bytes(b"<rows><row>" + deep + b"</row><row><id>2</id></row></rows>")

    run = await read(data_dir, "read_xml", "deep.xml", errors=True, strategy=strategy)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": "2"}]
    assert run.records("bad") == [
        {"record": None, "error": "record 1: <row> is nested too deeply to convert", "component": "read"}
    ]


async def test_an_xml_record_nested_thousands_deep_fails_the_run_naming_the_record_without_an_error_port(
    data_dir: Path,
) -> None:
    (data_dir / "deep.xml").write_bytes(b"<rows><row>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</row></rows>")

    run = await read(data_dir, "read_xml", "deep.xml", errors=False)

    assert run.status == "FAILED"
    assert run.state.error == "component 'read' (run): record 1: <row> is nested too deeply to convert"


async def test_xml_records_under_wrappers_nested_thousands_deep_are_all_read(data_dir: Path) -> None:
    wrappers = b"<w>" * 100_000
    closing = b"</w>" * 100_000
    (data_dir / "wrapped.xml").write_bytes(b"<rows>" + wrappers + b"<row><id>1</id></row>" + closing + b"</rows>")

    run = await read(data_dir, "read_xml", "wrapped.xml", errors=False)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": "1"}]


async def test_an_xml_entity_bomb_fails_naming_the_file_without_expanding_it(data_dir: Path) -> None:
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    doc = f'<?xml version="1.0"?><!DOCTYPE rows [<!ENTITY l0 "lol">{levels}]><rows><row><v>&l9;</v></row></rows>'
    (data_dir / "bomb.xml").write_text(doc)

    run = await read(data_dir, "read_xml", "bomb.xml", errors=True)

    assert run.status == "FAILED"
    error = run.state.error or ""
    assert error.startswith(f"component 'read' (read): file {str(data_dir / 'bomb.xml')!r} is not well-formed XML")
    assert "amplification" in error


def workbook_bytes() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for row in (["id", "name"], [1, "a"], [2, "b"]):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def with_sheet(data: bytes, change: Any) -> bytes:
    """The workbook with its first sheet's XML changed by `change`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            part = source.read(name)
            target.writestr(name, change(part) if name == "xl/worksheets/sheet1.xml" else part)
    return out.getvalue()


async def test_a_workbook_whose_sheet_xml_is_cut_short_fails_naming_the_file_and_sheet(data_dir: Path) -> None:
    (data_dir / "cut.xlsx").write_bytes(with_sheet(workbook_bytes(), lambda xml: xml[: len(xml) // 2]))

    run = await read(data_dir, "read_excel", "cut.xlsx", errors=True)

    assert run.status == "FAILED"
    error = run.state.error or ""
    path = str(data_dir / "cut.xlsx")
    assert error.startswith(
        f"component 'read' (read): file {path!r} is a damaged workbook: sheet 'Sheet1' cannot be read"
    )
    assert "(malformed XML: " in error


async def test_a_workbook_with_a_mismatched_tag_after_the_header_fails_naming_the_last_good_row(
    data_dir: Path,
) -> None:
    def break_third_row(xml: bytes) -> bytes:
        at = xml.index(b'<row r="3"')
        return xml[:at] + xml[at:].replace(b"</row>", b"</rowx>", 1)

    (data_dir / "bad.xlsx").write_bytes(with_sheet(workbook_bytes(), break_third_row))

    run = await read(data_dir, "read_excel", "bad.xlsx", errors=True)

    assert run.status == "FAILED"
    path = str(data_dir / "bad.xlsx")
    assert (run.state.error or "").startswith(
        f"component 'read' (read): file {path!r} is a damaged workbook: sheet 'Sheet1' cannot be read after row 2 "
        "(malformed XML: mismatched tag"
    )


async def test_a_workbook_with_a_corrupt_compressed_member_fails_naming_the_file(data_dir: Path) -> None:
    data = bytearray(workbook_bytes())
    at = data.index(b"xl/worksheets/sheet1.xml") + 60  # inside the sheet's compressed bytes
    data[at] ^= 0xFF
    (data_dir / "crc.xlsx").write_bytes(bytes(data))

    run = await read(data_dir, "read_excel", "crc.xlsx", errors=True)

    assert run.status == "FAILED"
    path = str(data_dir / "crc.xlsx")
    # zlib's own words after that depend on the byte that broke
    assert (run.state.error or "").startswith(
        f"component 'read' (open): file {path!r} is a damaged workbook (corrupt compressed data: Error -3 "
    )


async def test_a_directory_of_workbooks_routes_bad_rows_with_the_name_of_their_file(data_dir: Path) -> None:
    (data_dir / "in").mkdir()
    for name, value in (("a.xlsx", "x"), ("b.xlsx", 2)):
        wb = Workbook()
        wb.active.append(["id"])
        wb.active.append([value])
        wb.save(data_dir / "in" / name)
    comp = route(component("read", "read_excel", filepath="in"), "out", "sink")
    comp["out_port_schemas"] = {"out": {"fields": [{"name": "id", "data_type": "integer"}]}}
    route(comp, "error", "bad")

    run = await run_job(make_job(comp, list_sink("sink"), list_sink("bad"), chain=False), data_dir=data_dir)

    assert run.records("sink") == [{"id": 2}]
    assert [(e["error"], e["line"]) for e in run.records("bad")] == [
        ("file 'a.xlsx': field 'id': 'x' is not an integer (integer)", 2)
    ]


async def test_a_workbook_whose_string_table_inflates_a_hundredfold_is_refused_as_a_zip_bomb(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # openpyxl keeps the shared strings in memory: the real limit is 64 MiB, lowered here to keep the test small
    monkeypatch.setattr(excel_format, "SHARED_STRINGS_LIMIT", 1 << 20)
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
        target.writestr("xl/sharedStrings.xml", b"<sst>" + b"<si><t>" + b"a" * 4_000_000 + b"</t></si></sst>")
    (data_dir / "bomb.xlsx").write_bytes(out.getvalue())

    run = await read(data_dir, "read_excel", "bomb.xlsx", errors=True)

    assert run.status == "FAILED"
    path = str(data_dir / "bomb.xlsx")
    assert (run.state.error or "").startswith(
        f"component 'read' (open): file {path!r} looks like a zip bomb: its string table 'xl/sharedStrings.xml' "
        "inflates "
    )
    assert (run.state.error or "").endswith(" bytes into 4,000,027")
