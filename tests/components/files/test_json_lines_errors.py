"""read_json on JSON lines: with the error port wired, a malformed line is a record error wherever it is, even
when no line of the file's start parses; without it, such a file fails clearly (job-config.md §4, §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl_core.components.files.json_format import JsonLinesReader
from etl_core.testing import component, list_sink, make_job, route, run_job


async def read(data_dir: Path, path: str, *, errors: bool, batch_size: int = 10_000) -> Any:
    comps = [route(component("read", "read_json", filepath=path), "out", "sink"), list_sink("sink")]
    if errors:
        route(comps[0], "error", "bad")
        comps.append(list_sink("bad"))
    return await run_job(make_job(*comps, chain=False), data_dir=data_dir, batch_size=batch_size)


async def test_read_json_sends_every_line_of_a_first_batch_that_does_not_parse_to_the_error_port(
    data_dir: Path,
) -> None:
    (data_dir / "table.jsonl").write_text("id,name\n1,x\n2,y\n")
    run = await read(data_dir, "table.jsonl", errors=True)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == []
    bad = run.records("bad")
    assert [(e["record"], e["line"], e["component"]) for e in bad] == [
        ("id,name", 1, "read"),
        ("1,x", 2, "read"),
        ("2,y", 3, "read"),
    ]
    assert bad[0]["error"].startswith("not valid JSON: ")
    assert run.metrics("read").errors == 3


async def test_read_json_keeps_reading_good_lines_after_a_first_batch_of_bad_ones(data_dir: Path) -> None:
    # batches of two lines: the first holds only bad lines, the good ones come after it
    (data_dir / "late.jsonl").write_text('not json\n[1, 2]\n{"id": 1}\n{"id": 2}\n')
    run = await read(data_dir, "late.jsonl", errors=True, batch_size=2)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1}, {"id": 2}]
    assert [(e["record"], e["line"]) for e in run.records("bad")] == [("not json", 1), ([1, 2], 2)]
    assert run.records("bad")[1]["error"] == "a JSON array is not a record (an object)"


async def test_read_json_fails_naming_the_file_when_no_line_parses_and_no_error_port_is_wired(
    data_dir: Path,
) -> None:
    (data_dir / "table.jsonl").write_text("id,name\n1,x\n2,y\n")
    run = await read(data_dir, "table.jsonl", errors=False)
    assert run.status == "FAILED"
    assert "file" in (run.state.error or "")
    assert "table.jsonl" in (run.state.error or "")
    assert "is not JSON lines: no line of the first 3 parsed (line 1: not valid JSON" in (run.state.error or "")


def test_json_lines_reader_without_the_format_check_returns_the_bad_lines_as_errors(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text("a\nb\n")
    reader = JsonLinesReader(tmp_path / "t.jsonl", None, batch_size=100, check_format=False)
    batch = reader.next_batch()
    reader.close()
    assert batch is not None
    assert batch.records == []
    assert [(record, line) for record, _, line in batch.errors] == [("a", 1), ("b", 2)]
