"""File writers against targets they cannot write and records they cannot hold: a directory where the file
should be, a file where a directory should be, no permission, a full disk, characters the encoding lacks, values
nested too deeply. A failure names the target file (never a hidden temporary file or a bare errno) and leaves no
output, not even another writer's (no partial commit); a record that cannot be written goes to the `error`
port, naming the record, and the others are written (job-config.md §4, §5)."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from etl_core.components.files.csv_format import CsvBatchWriter
from etl_core.testing import component, fields, list_sink, list_source, make_job, route, run_job

Json = dict[str, Any]
PEOPLE = fields(id="integer", name="string")
FREE = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "n", "data_type": "object", "nullable": True}]}


def files(folder: Path) -> list[str]:
    """Every file under `folder`, hidden ones included, relative to it."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


async def write(
    data_dir: Path, comp_type: str, path: str, rows: list[Json], schema: Json = PEOPLE, *, errors: bool, **opts: Any
) -> Any:
    src = route(list_source("src", rows, schema=schema), "out", "write")
    writer = component("write", comp_type, filepath=path, in_port_schemas={"in": schema}, **opts)
    comps = [src, writer]
    if errors:
        route(writer, "error", "bad")
        comps.append(list_sink("bad"))
    return await run_job(make_job(*comps, chain=False), data_dir=data_dir)


async def test_a_csv_target_that_is_a_directory_fails_before_writing_and_no_other_output_is_published(
    data_dir: Path,
) -> None:
    (data_dir / "b.csv").mkdir()
    src = list_source("src", [{"id": 1, "name": "a"}], schema=PEOPLE)
    route(src, "out", "a")
    route(src, "out", "b")
    a = component("a", "write_csv", filepath="a.csv", schema=PEOPLE)
    b = component("b", "write_csv", filepath="b.csv", schema=PEOPLE)

    run = await run_job(make_job(src, a, b, chain=False), data_dir=data_dir)

    assert run.status == "FAILED"
    assert run.state.error == (
        f"component 'b' (open): cannot write {str(data_dir / 'b.csv')!r}: it is a directory "
        "(a writer needs a file name here)"
    )
    assert files(data_dir) == []  # a.csv was not published either: the run did not commit


@pytest.mark.parametrize(
    ("comp_type", "name"),
    [("write_csv", "o.csv"), ("write_json", "o.json"), ("write_json", "o.jsonl.gz"), ("write_xml", "o.xml"),
     ("write_excel", "o.xlsx")],
)  # fmt: skip
async def test_a_target_under_a_path_that_is_a_file_fails_naming_that_file(
    data_dir: Path, comp_type: str, name: str
) -> None:
    (data_dir / "f").write_text("in the way")

    run = await write(data_dir, comp_type, f"f/sub/{name}", [{"id": 1, "name": "a"}], errors=True)

    assert run.status == "FAILED"
    blocker = str(data_dir / "f")
    assert run.state.error == (
        f"component 'write' (open): cannot write {str(data_dir / 'f' / 'sub' / name)!r}: "
        f"{blocker!r} is a file, not a directory"
    )
    assert files(data_dir) == ["f"]


async def test_a_directory_output_whose_name_is_taken_by_a_file_fails_naming_it(data_dir: Path) -> None:
    (data_dir / "parts").write_text("in the way")

    run = await write(data_dir, "write_json", "parts", [{"id": 1, "name": "a"}], errors=True)

    assert run.status == "FAILED"
    assert run.state.error == (
        f"component 'write' (open): cannot write {str(data_dir / 'parts' / 'part-00000.jsonl')!r}: "
        f"{str(data_dir / 'parts')!r} is a file, not a directory"
    )


async def test_a_directory_without_write_permission_fails_naming_the_directory_not_a_temporary_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as root every directory is writable: the refusal is what the operating system would raise
    def refuse(*, dir: str, prefix: str, suffix: str) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied", os.path.join(dir, f"{prefix}x1y2{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)

    run = await write(data_dir, "write_json", "ro/out.json", [{"id": 1, "name": "a"}], errors=True)

    assert run.status == "FAILED"
    assert run.state.error == (
        f"component 'write' (open): cannot write {str(data_dir / 'ro' / 'out.json')!r}: "
        f"permission denied on {str(data_dir / 'ro')!r}"
    )
    assert run.state.attempts[0].failed_component == "write"


async def test_a_full_disk_fails_naming_the_target_and_leaves_no_temporary_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: CsvBatchWriter, batch: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(CsvBatchWriter, "write_batch", full)

    run = await write(data_dir, "write_csv", "out.csv", [{"id": 1, "name": "a"}], errors=True)

    assert run.status == "FAILED"
    assert run.state.error == (
        f"component 'write' (write): cannot write {str(data_dir / 'out.csv')!r}: No space left on device"
    )
    assert files(data_dir) == []


async def test_overwriting_a_read_only_file_replaces_it_and_keeps_its_mode(data_dir: Path) -> None:
    target = data_dir / "out.csv"
    target.write_text("old\n")
    target.chmod(0o444)

    run = await write(data_dir, "write_csv", "out.csv", [{"id": 1, "name": "a"}], errors=False)

    assert run.status == "SUCCESS", run.state.error
    assert target.read_text() == "id,name\n1,a\n"
    assert target.stat().st_mode & 0o777 == 0o444


async def test_a_csv_record_with_a_character_the_encoding_lacks_goes_to_the_error_port_and_the_rest_is_written(
    data_dir: Path,
) -> None:
    rows = [{"id": 1, "name": "a"}, {"id": 2, "name": "5 €"}, {"id": 3, "name": "c"}]

    run = await write(data_dir, "write_csv", "out.csv", rows, errors=True, encoding="latin-1")

    assert run.status == "SUCCESS", run.state.error
    assert (data_dir / "out.csv").read_text(encoding="latin-1") == "id,name\n1,a\n3,c\n"
    assert run.records("bad") == [
        {
            "record": {"id": 2, "name": "5 €"},
            "error": "record 2: field 'name': the text '5 €' holds U+20AC, which the encoding latin-1 cannot represent",
            "component": "write",
        }
    ]


async def test_a_csv_record_the_encoding_cannot_hold_fails_the_run_and_leaves_no_file_without_an_error_port(
    data_dir: Path,
) -> None:
    run = await write(data_dir, "write_csv", "out.csv", [{"id": 1, "name": "€"}], errors=False, encoding="ascii")

    assert run.status == "FAILED"
    assert run.state.error == (
        "component 'write' (run): record 1: field 'name': the text '€' holds U+20AC, "
        "which the encoding ascii cannot represent"
    )
    assert files(data_dir) == []


async def test_a_csv_header_the_encoding_cannot_hold_fails_naming_the_header(data_dir: Path) -> None:
    schema = fields(größe="integer")

    run = await write(data_dir, "write_csv", "out.csv", [{"größe": 1}], schema, errors=True, encoding="ascii")

    assert run.status == "FAILED"
    assert run.state.error == (
        "component 'write' (write): the header (größe) cannot be written: field 'größe': the text 'größe' holds "
        "U+00F6, which the encoding ascii cannot represent"
    )


JSON_SURROGATE = "cannot be written as JSON: a text holds U+DCE9, which UTF-8 cannot represent"


@pytest.mark.parametrize(
    ("comp_type", "name", "why"),
    [
        ("write_csv", "o.csv", "field 'name': the text 'a\\udce9' holds U+DCE9, which the encoding utf-8 cannot "
         "represent"),
        ("write_json", "o.json", JSON_SURROGATE),
        ("write_json", "o.jsonl", JSON_SURROGATE),
        ("write_excel", "o.xlsx", "cannot be written to Excel: the text 'a\\udce9' holds U+DCE9, which a worksheet "
         "cannot hold"),
    ],
)  # fmt: skip
async def test_a_text_with_a_lone_surrogate_is_a_record_error_in_every_writer(
    data_dir: Path, comp_type: str, name: str, why: str
) -> None:
    # a lone surrogate is what a reader's surrogateescape leaves for an undecodable byte: UTF-8 cannot hold it
    rows = [{"id": 1, "name": "a\udce9"}, {"id": 2, "name": "b"}]

    run = await write(data_dir, comp_type, name, rows, errors=True)

    assert run.status == "SUCCESS", run.state.error
    assert [(e["record"]["id"], e["error"]) for e in run.records("bad")] == [(1, f"record 1: {why}")]
    assert (data_dir / name).exists()


def deep_record(depth: int) -> Json:
    record: Json = {"id": 1}
    node = record
    for _ in range(depth):
        node["n"] = {}
        node = node["n"]
    return record


@pytest.mark.parametrize(
    ("comp_type", "name", "what"),
    [
        ("write_csv", "o.csv", "cannot be written as CSV"),
        ("write_json", "o.json", "cannot be written as JSON"),
        ("write_json", "o.jsonl", "cannot be written as JSON"),
        ("write_xml", "o.xml", "cannot be written as XML"),
        ("write_excel", "o.xlsx", "cannot be written to Excel"),
    ],
)
async def test_a_record_nested_too_deeply_to_write_is_a_record_error_and_the_others_are_written(
    data_dir: Path, comp_type: str, name: str, what: str
) -> None:
    rows = [{"id": 0, "n": None}, deep_record(5000), {"id": 2, "n": None}]

    run = await write(data_dir, comp_type, name, rows, FREE, errors=True)

    assert run.status == "SUCCESS", run.state.error
    assert [e["error"] for e in run.records("bad")] == [f"record 2: {what}: it is nested too deeply"]
    assert (data_dir / name).exists()


async def test_a_free_form_object_holding_a_timestamp_is_written_to_csv_as_iso_text(data_dir: Path) -> None:
    rows = [{"id": 1, "n": {"at": dt.datetime(2024, 5, 6, 7, 8, 9)}}]

    run = await write(data_dir, "write_csv", "out.csv", rows, FREE, errors=False)

    assert run.status == "SUCCESS", run.state.error
    text = (data_dir / "out.csv").read_text()
    assert text.splitlines()[1] == '1,"{""at"": ""2024-05-06T07:08:09""}"'


async def test_an_excel_cell_keeps_a_free_form_object_with_a_date_as_json_text(data_dir: Path) -> None:
    rows = [{"id": 1, "n": {"on": dt.date(2024, 5, 6)}}]

    run = await write(data_dir, "write_excel", "out.xlsx", rows, FREE, errors=False)

    assert run.status == "SUCCESS", run.state.error
    sheet = load_workbook(data_dir / "out.xlsx").active
    assert json.loads(sheet.cell(row=2, column=2).value) == {"on": "2024-05-06"}
