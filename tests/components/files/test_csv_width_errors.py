"""A CSV row with the wrong number of fields reaches the error port as CSV text in the file's dialect, quoted
where needed, so that it reads back as the same fields (job-config.md §5: `record` is the raw text)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.csv_format import CsvBatchReader, CsvDialect
from etl_core.testing import component, list_sink, make_job, route, run_job


def width_errors(path: Path, **dialect: Any) -> list[tuple[Any, str, int | None]]:
    reader = CsvBatchReader(path, CsvDialect(**dialect), None, batch_size=1000)
    errors: list[tuple[Any, str, int | None]] = []
    try:
        while (batch := reader.next_batch()) is not None:
            errors.extend(batch.errors)
    finally:
        reader.close()
    return errors


def fields_of(text: str, **dialect: Any) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline=""), **dialect))


async def test_read_csv_sends_a_row_of_the_wrong_width_to_the_error_port_with_its_quotes(data_dir: Path) -> None:
    (data_dir / "in.csv").write_text('id,name\n1,"a,b",x\n2,ok\n', encoding="utf-8")
    reader = route(route(component("read", "read_csv", filepath="in.csv"), "out", "sink"), "error", "bad")
    run = await run_job(make_job(reader, list_sink("sink"), list_sink("bad"), chain=False), data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": "2", "name": "ok"}]
    assert run.records("bad") == [
        {"record": '1,"a,b",x', "error": "expected 2 fields, got 3", "component": "read", "line": 2}
    ]


def test_a_wrong_width_row_is_given_as_csv_text_that_reads_back_as_the_same_fields(tmp_path: Path) -> None:
    text = 'a,b\n1,"a,b"\n' + '2,"say ""hi""",""\n' + '3,"two\nlines","\r",x\n' + "4\n"
    (tmp_path / "w.csv").write_bytes(text.encode())
    errors = width_errors(tmp_path / "w.csv")
    assert [raw for raw, _, _ in errors] == ['2,"say ""hi""",', '3,"two\nlines","\r",x', "4"]
    assert [line for _, _, line in errors][:2] == [3, 4]
    assert [fields_of(raw) for raw, _, _ in errors] == [["2", 'say "hi"', ""], ["3", "two\nlines", "\r", "x"], ["4"]]


@pytest.mark.parametrize(("separator", "quotechar"), [(";", "'"), ("\t", '"'), ("|", "'")])
def test_a_wrong_width_row_is_quoted_in_the_files_own_dialect(tmp_path: Path, separator: str, quotechar: str) -> None:
    q, s = quotechar, separator
    text = f"a{s}b\n1{s}{q}x{s}y{q}{s}{q}it{q}{q}s{q}\n"
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    [(raw, message, line)] = width_errors(tmp_path / "d.csv", separator=separator, quotechar=quotechar)
    assert raw == f"1{s}{q}x{s}y{q}{s}{q}it{q}{q}s{q}"
    assert (message, line) == ("expected 2 fields, got 3", 2)
    assert fields_of(raw, delimiter=separator, quotechar=quotechar) == ["1", f"x{s}y", f"it{q}s"]
