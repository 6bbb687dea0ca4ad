"""Source partitions: files of a directory or glob, and byte ranges that read exactly like the whole file.

Ranges are read here in-process by the partition runner itself (no Ray), through the local format readers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.csv_format import BULK_CHUNK, CsvBatchReader, CsvDialect
from etl_core.components.files.read_csv import ReadCsvOptions
from etl_core.components.files.read_json import ReadJsonOptions
from etl_core.config.schema import Schema
from etl_core.runtime.bigdata.partitions import FilePart, SourceMissing, source_files, split_file
from etl_core.runtime.bigdata.segment import PartitionTask, TaskEnv, TaskExit, TaskNode, TaskReport, run_partition
from etl_core.testing import fields

SCHEMA = Schema.model_validate(fields(id="integer", note="string", amount="float"))
NOTES = ["plain", 'a "quoted" word', "comma, inside", "two\nlines", "three\nshort\nlines", ""]


def write_csv(path: Path, count: int, *, bad: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "note", "amount"])
        for i in range(count):
            out.writerow([i, NOTES[i % len(NOTES)], "oops" if i in bad else f"{i * 1.5:.1f}"])


def read_whole(path: Path) -> list[dict[str, Any]]:
    reader = CsvBatchReader(path, CsvDialect(), SCHEMA, batch_size=100_000, chunk_size=BULK_CHUNK)
    try:
        batch = reader.next_batch()
        return batch.records if batch is not None else []
    finally:
        reader.close()


async def read_parts(
    comp_type: str, options: Any, parts: list[FilePart], schema: Schema, *, errors: bool = False
) -> list[tuple[list[Any], list[Any], TaskReport]]:
    """Run the source over each part in-process: (records, routed errors, report) per part."""
    node = TaskNode("src", comp_type, options, (), ("out", "error"), {}, {"out": schema})
    exits = (TaskExit(0, "src", "out"), TaskExit(1, "src", "error")) if errors else (TaskExit(0, "src", "out"),)
    results = []
    for i, part in enumerate(parts):
        got: list[Any] = []

        async def emit(item: Any, got: list[Any] = got) -> None:
            got.append(item)

        env = TaskEnv(data_dir=Path(part.path).parent, allowed_roots=(), batch_size=50, edge_capacity=4, attempt=1)
        task = PartitionTask(0, i, i, "src", (node,), (), exits, env, source=part)
        report = await run_partition(task, emit, lambda ref: ref)
        items = [x for x in got if not (isinstance(x, tuple) and x[0] == "progress")]
        pairs = list(zip(items[::2], items[1::2], strict=True))
        records = [r for (_, exit_id), batch in pairs if exit_id == 0 for r in batch]
        routed = [r for (_, exit_id), batch in pairs if exit_id == 1 for r in batch]
        results.append((records, routed, report))
    return results


def test_csv_ranges_cut_at_record_boundaries_outside_quotes(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    write_csv(path, 400)
    data = path.read_bytes()

    parts = split_file(path, 1000, quotechar='"', header=True)

    assert len(parts) > 5
    assert (parts[0].start, parts[0].head) == (0, b"")
    assert [p.end for p in parts[:-1]] == [p.start for p in parts[1:]]
    assert parts[-1].end == len(data)
    header = data[: data.index(b"\n") + 1]
    for part in parts[1:]:
        assert part.head == header
        assert data[: part.start].count(b'"') % 2 == 0  # never inside a quoted field
        assert part.first_line == data[: part.start].count(b"\n") + 1


async def test_csv_ranges_read_together_give_the_records_of_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    write_csv(path, 400)
    parts = split_file(path, 1000, quotechar='"', header=True)

    results = await read_parts("read_csv", ReadCsvOptions(filepath="in.csv"), parts, SCHEMA)

    assert all(report.failure is None for *_, report in results)
    assert [r for records, *_ in results for r in records] == read_whole(path)
    assert sum(report.metrics["src"].sent["out"] for *_, report in results) == 400
    assert sum(report.metrics["src"].bytes_read for *_, report in results) == path.stat().st_size


async def test_a_record_error_in_a_later_range_names_its_line_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    write_csv(path, 400, bad={351})
    lines = path.read_text(encoding="utf-8").split("\n")
    expected_line = next(n for n, text in enumerate(lines, 1) if text.startswith("351,"))
    parts = split_file(path, 1000, quotechar='"', header=True)

    results = await read_parts("read_csv", ReadCsvOptions(filepath="in.csv"), parts, SCHEMA)

    failures = [report.failure for *_, report in results if report.failure is not None]
    assert len(failures) == 1
    name, error = failures[0]
    assert name == "src"
    assert error.line == expected_line
    assert f"line {expected_line}:" in str(error)


def test_a_small_or_headerless_boundaryless_file_is_one_whole_partition(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    write_csv(path, 3)

    assert split_file(path, 1 << 20, quotechar='"', header=True) == [FilePart(str(path))]


def test_a_stray_quote_only_makes_the_ranges_after_it_larger(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    rows = [f"{i},note {i},{i}.5\n" for i in range(300)]
    rows[200] = '200,12" pipe,1.5\n'
    path.write_text("id,note,amount\n" + "".join(rows), encoding="utf-8")
    stray = path.read_bytes().index(b'12"')

    parts = split_file(path, 200, quotechar='"', header=True)

    assert len(parts) > 3
    assert all(p.start < stray for p in parts)
    assert parts[-1].end == path.stat().st_size


async def test_json_lines_ranges_read_every_line_once_with_file_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": i, "note": NOTES[i % len(NOTES)], "amount": i * 1.5}) for i in range(300)]
    lines[250] = "{not json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    schema = Schema.model_validate(fields(id="integer", note="string", amount="float"))
    parts = split_file(path, 1500, quotechar=None, header=False)
    assert len(parts) > 3

    results = await read_parts("read_json", ReadJsonOptions(filepath="in.jsonl"), parts, schema, errors=True)

    assert all(report.failure is None for *_, report in results)
    assert [r["id"] for records, *_ in results for r in records] == [i for i in range(300) if i != 250]
    routed = [e for _, errors, _ in results for e in errors]
    assert [(e["line"], e["record"], e["component"]) for e in routed] == [(251, "{not json", "src")]


def test_a_directory_source_reads_its_files_of_the_format_by_name(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", ".staging.csv", "notes.md"):
        (tmp_path / name).write_text("id\n1\n")

    files = source_files("in", tmp_path, (".csv",), tmp_path, ())

    assert [f.name for f in files] == ["a.csv", "b.csv"]


def test_a_glob_source_matches_files_and_a_glob_matching_nothing_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "day1").mkdir()
    (tmp_path / "day2").mkdir()
    (tmp_path / "day1" / "x.csv").write_text("id\n1\n")
    (tmp_path / "day2" / "y.csv").write_text("id\n2\n")

    files = source_files("*/*.csv", tmp_path / "*" / "*.csv", (".csv",), tmp_path, ())

    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["day1/x.csv", "day2/y.csv"]
    with pytest.raises(SourceMissing, match="no file matches"):
        source_files("*/*.tsv", tmp_path / "*" / "*.tsv", (".csv",), tmp_path, ())
