"""read_csv on hostile files: bytes that do not decode, a quote that never closes, wide encodings, blank header
cells, gzip, and directories mixing good and bad files. Every failure names the file and its line; every record
that can be isolated goes to the `error` port and the rest flows (job-config.md §4, §5)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.streaming import open_input
from etl_core.errors import ComponentError
from etl_core.testing import component, fields, list_sink, make_job, route, run_job

Json = dict[str, Any]
PEOPLE = fields(id="integer", name="string")


async def read(data_dir: Path, path: str, schema: Json | None = PEOPLE, *, errors: bool, strategy: str = "bulk") -> Any:
    comp = route(component("read", "read_csv", filepath=path), "out", "sink")
    if schema is not None:
        comp["out_port_schemas"] = {"out": schema}
    comps = [comp, list_sink("sink")]
    if errors:
        route(comp, "error", "bad")
        comps.append(list_sink("bad"))
    return await run_job(make_job(*comps, chain=False, strategy=strategy), data_dir=data_dir)


@pytest.mark.parametrize("strategy", ["bulk", "row"])
async def test_a_latin1_byte_in_a_utf8_file_makes_only_its_row_a_record_error(data_dir: Path, strategy: str) -> None:
    (data_dir / "people.csv").write_bytes(b"id,name\n1,ok\n2,caf\xe9\n3,fine\n")

    run = await read(data_dir, "people.csv", errors=True, strategy=strategy)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1, "name": "ok"}, {"id": 3, "name": "fine"}]
    assert run.records("bad") == [
        {
            "record": "2,caf\ufffd",
            "error": "not valid utf-8: byte 0xE9 in column 'name' cannot be decoded",
            "component": "read",
            "line": 3,
        }
    ]


async def test_an_undecodable_row_fails_the_run_naming_its_line_and_byte_without_an_error_port(
    data_dir: Path,
) -> None:
    (data_dir / "people.csv").write_bytes(b"id,name\n1,ok\n2,caf\xe9\n")

    run = await read(data_dir, "people.csv", errors=False)

    assert run.status == "FAILED"
    assert run.state.error == (
        "component 'read' (run): line 3: not valid utf-8: byte 0xE9 in column 'name' cannot be decoded"
    )


async def test_a_file_cut_in_the_middle_of_a_character_loses_only_its_last_row(data_dir: Path) -> None:
    whole = "id,name\n1,ok\n2,café\n".encode()
    (data_dir / "cut.csv").write_bytes(whole[: whole.index(b"\xa9")])  # "é" is C3 A9: keep only C3

    run = await read(data_dir, "cut.csv", errors=True)

    assert run.records("sink") == [{"id": 1, "name": "ok"}]
    assert [(e["record"], e["error"], e["line"]) for e in run.records("bad")] == [
        ("2,caf\ufffd", "not valid utf-8: byte 0xC3 in column 'name' cannot be decoded", 3)
    ]


async def test_a_header_that_does_not_decode_fails_the_file_suggesting_the_encoding_option(data_dir: Path) -> None:
    (data_dir / "people.csv").write_bytes(b"id,stra\xdfe\n1,x\n")

    run = await read(data_dir, "people.csv", None, errors=True)

    assert run.status == "FAILED"
    path = str(data_dir / "people.csv")
    assert run.state.error == (
        f"component 'read' (read): file {path!r} line 1: the header is not valid utf-8 "
        "(is the file in another encoding? set `encoding`)"
    )


@pytest.mark.parametrize(("encoding", "name"), [("utf-16", "UTF-16"), ("utf-32", "UTF-32")])
async def test_a_file_with_a_wide_byte_order_mark_read_as_utf8_fails_naming_the_encoding_to_set(
    data_dir: Path, encoding: str, name: str
) -> None:
    (data_dir / "wide.csv").write_bytes("id,name\n1,x\n".encode(encoding))

    run = await read(data_dir, "wide.csv", errors=True)

    assert run.status == "FAILED"
    path = str(data_dir / "wide.csv")
    assert run.state.error == (
        f"component 'read' (read): file {path!r} starts with a {name} byte order mark but is read as utf-8: "
        f"set its encoding to {encoding!r}"
    )


async def test_a_quote_that_never_closes_is_a_record_error_at_its_line_and_the_rows_before_it_flow(
    data_dir: Path,
) -> None:
    (data_dir / "open.csv").write_text('id,name\n1,ok\n2,"never closed\n3,swallowed\n4,too\n')

    run = await read(data_dir, "open.csv", errors=True)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1, "name": "ok"}]
    assert run.records("bad") == [
        {
            "record": '2,"never closed\n3,swallowed\n4,too',
            "error": "a quoted field that starts in this line is never closed: the file ends inside it "
            "(2 line(s) later), so the lines after it cannot be read as records",
            "component": "read",
            "line": 3,
        }
    ]


async def test_a_quote_that_never_closes_fails_the_run_at_its_line_without_an_error_port(data_dir: Path) -> None:
    (data_dir / "open.csv").write_text('id,name\n1,ok\n2,"never closed\n3,swallowed')

    run = await read(data_dir, "open.csv", errors=False)

    assert run.status == "FAILED"
    assert (run.state.error or "").startswith(
        "component 'read' (run): line 3: a quoted field that starts in this line is never closed"
    )


async def test_a_header_whose_quote_never_closes_fails_the_file(data_dir: Path) -> None:
    (data_dir / "open.csv").write_text('id,"name\n1,x\n')

    run = await read(data_dir, "open.csv", None, errors=True)

    assert run.status == "FAILED"
    path = str(data_dir / "open.csv")
    assert run.state.error == (
        f"component 'read' (read): file {path!r} line 1: the header has a quoted field that is never closed"
    )


async def test_blank_header_cells_name_their_columns_by_position_instead_of_repeating_an_empty_name(
    data_dir: Path,
) -> None:
    (data_dir / "blank.csv").write_text("id,,name,\n1,2,x,3\n")

    run = await read(data_dir, "blank.csv", None, errors=False)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": "1", "column_2": "2", "name": "x", "column_4": "3"}]


async def test_a_gzipped_csv_file_is_read_decompressed_whatever_its_name(data_dir: Path) -> None:
    (data_dir / "people.csv").write_bytes(gzip.compress(b"id,name\n1,a\n2,b\n"))

    run = await read(data_dir, "people.csv", errors=False)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


async def test_a_truncated_gzipped_csv_fails_naming_the_file(data_dir: Path) -> None:
    packed = gzip.compress(b"id,name\n" + b"1,a\n" * 5000)
    (data_dir / "cut.csv").write_bytes(packed[: len(packed) // 2])

    run = await read(data_dir, "cut.csv", errors=True)

    assert run.status == "FAILED"
    assert f"file {str(data_dir / 'cut.csv')!r} is not a valid gzip file" in (run.state.error or "")


async def test_a_directory_of_csv_files_routes_each_bad_row_with_the_name_of_its_file(data_dir: Path) -> None:
    (data_dir / "in").mkdir()
    (data_dir / "in" / "a.csv").write_text("id,name\n1,a\nx,bad\n")
    (data_dir / "in" / "b.csv").write_text("id,name\ny,bad\n2,b\n")
    (data_dir / "in" / "notes.md").write_text("not read")

    run = await read(data_dir, "in", errors=True)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert [(e["error"], e["line"]) for e in run.records("bad")] == [
        ("file 'a.csv': field 'id': 'x' is not an integer (integer)", 3),
        ("file 'b.csv': field 'id': 'y' is not an integer (integer)", 2),
    ]


async def test_a_bad_row_in_a_directory_fails_the_run_naming_the_file_and_line_without_an_error_port(
    data_dir: Path,
) -> None:
    (data_dir / "in").mkdir()
    (data_dir / "in" / "a.csv").write_text("id,name\n1,a\n")
    (data_dir / "in" / "b.csv").write_text("id,name\n2,b\nz,bad\n")

    run = await read(data_dir, "in", errors=False)

    assert run.status == "FAILED"
    path = str(data_dir / "in" / "b.csv")
    assert (
        run.state.error
        == f"component 'read' (read): file {path!r} line 3: " + "field 'id': 'z' is not an integer (integer)"
    )


def test_a_directory_member_that_cannot_be_opened_fails_naming_it(tmp_path: Path) -> None:
    def opener(path: Path) -> Any:
        return open(path, "rb")

    with pytest.raises(ComponentError) as info:
        open_input(tmp_path, opener)

    assert str(info.value) == f"cannot open {str(tmp_path)!r}: Is a directory"
