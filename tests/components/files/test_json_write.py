"""write_json: layouts, nesting, empty output, gzip, atomic overwrite, append, pass-through, cancellation."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.json_format import JsonWriter
from etl_core.errors import ConfigError
from etl_core.testing import component, fields, list_sink, list_source, make_job, run_job

Json = dict[str, Any]


def listing(folder: Path) -> list[str]:
    """The names in a directory, sorted."""
    return sorted(p.name for p in folder.iterdir())


ROWS = [
    {"id": 1, "name": "Zoë", "address": {"city": "Köln"}, "tags": ["a", "b"]},
    {"id": 2, "name": '"quoted" ✓', "address": {"city": None}, "tags": []},
]
SCHEMA: Json = {
    "fields": [
        {"name": "id", "data_type": "integer"},
        {"name": "name", "data_type": "string"},
        {"name": "address", "data_type": "object", "children": [{"name": "city", "data_type": "string"}]},
        {"name": "tags", "data_type": "array"},
    ]
}


def writer(path: str, schema: Json | None = None, **options: Any) -> Json:
    return component("write", "write_json", filepath=path, in_port_schemas={"in": schema or SCHEMA}, **options)


async def write(data_dir: Path, path: str, rows: list[Json], strategy: str = "bulk", **options: Any) -> Any:
    job = make_job(list_source("src", rows), writer(path, **options), strategy=strategy)
    return await run_job(job, data_dir=data_dir)


async def test_write_json_writes_one_array_that_parses_back(data_dir: Path) -> None:
    run = await write(data_dir, "out/people.json", ROWS)
    assert run.status == "SUCCESS", run.state.error
    text = (data_dir / "out" / "people.json").read_text(encoding="utf-8")
    assert json.loads(text) == ROWS
    assert "Zoë" in text  # UTF-8, not \u escapes


@pytest.mark.parametrize("name", ["people.jsonl", "people.ndjson"])
async def test_write_json_writes_one_record_per_line(data_dir: Path, name: str) -> None:
    await write(data_dir, name, ROWS)
    lines = (data_dir / name).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == ROWS


@pytest.mark.parametrize("name", ["people.json.gz", "people.jsonl.gz"])
async def test_write_json_gzips_with_a_gz_suffix(data_dir: Path, name: str) -> None:
    await write(data_dir, name, ROWS)
    text = gzip.decompress((data_dir / name).read_bytes()).decode()
    decoded = json.loads(text) if ".json." in name else [json.loads(line) for line in text.splitlines()]
    assert decoded == ROWS


async def test_write_json_nests_dotted_keys_of_flat_records(data_dir: Path) -> None:
    flat = [{"id": 1, "address.city": "Köln", "address.zip": "50667", "tags[0]": "a", "tags[1]": "b"}]
    schema = fields(id="integer", **{"address.city": "string", "address.zip": "string"})
    schema["fields"] += [{"name": "tags[0]", "data_type": "string"}, {"name": "tags[1]", "data_type": "string"}]
    run = await run_job(make_job(list_source("src", flat), writer("nested.json", schema)), data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert json.loads((data_dir / "nested.json").read_text()) == [
        {"id": 1, "address": {"city": "Köln", "zip": "50667"}, "tags": ["a", "b"]}
    ]


@pytest.mark.parametrize(("name", "content"), [("empty.json", "[]"), ("empty.jsonl", "")])
async def test_write_json_without_records_writes_a_valid_empty_file(data_dir: Path, name: str, content: str) -> None:
    run = await write(data_dir, name, [])
    assert run.status == "SUCCESS", run.state.error
    assert (data_dir / name).read_text() == content


async def test_write_json_replaces_the_file_on_rerun(data_dir: Path) -> None:
    await write(data_dir, "again.jsonl", ROWS)
    await write(data_dir, "again.jsonl", ROWS[:1])
    assert [json.loads(x) for x in (data_dir / "again.jsonl").read_text().splitlines()] == ROWS[:1]
    assert listing(data_dir) == ["again.jsonl"]


@pytest.mark.parametrize("name", ["log.jsonl", "log.jsonl.gz"])
async def test_write_json_appends_lines_in_append_mode(data_dir: Path, name: str) -> None:
    await write(data_dir, name, ROWS[:1], mode="append")
    await write(data_dir, name, ROWS[1:], mode="append")
    raw = (data_dir / name).read_bytes()
    text = gzip.decompress(raw).decode() if name.endswith(".gz") else raw.decode()
    assert [json.loads(line) for line in text.splitlines()] == ROWS


async def test_write_json_refuses_an_unknown_suffix_at_validation(data_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        await write(data_dir, "people.csv", ROWS)
    assert info.value.issues[0].path == "components[1].filepath"
    assert ".jsonl" in info.value.issues[0].message


async def test_write_json_forwards_what_it_wrote_on_the_out_port(data_dir: Path) -> None:
    job = make_job(list_source("src", ROWS), writer("people.jsonl"), list_sink("after"))
    run = await run_job(job, data_dir=data_dir)
    assert run.records("after") == ROWS
    assert (data_dir / "people.jsonl").exists()


async def test_write_json_leaves_no_file_when_a_later_component_fails(data_dir: Path) -> None:
    job = make_job(list_source("src", ROWS), writer("people.json"), list_sink("after", fail_after=1))
    run = await run_job(job, data_dir=data_dir)
    assert run.status == "FAILED"
    assert listing(data_dir) == []


async def test_write_json_leaves_the_previous_file_when_a_rerun_fails(data_dir: Path) -> None:
    await write(data_dir, "people.jsonl", ROWS)
    before = (data_dir / "people.jsonl").read_bytes()
    job = make_job(list_source("src", ROWS, fail_after=1, batch_size=1), writer("people.jsonl"), chain=True)
    run = await run_job(job, data_dir=data_dir)
    assert run.status == "FAILED"
    assert (data_dir / "people.jsonl").read_bytes() == before
    assert listing(data_dir) == ["people.jsonl"]


async def test_write_json_to_a_directory_writes_a_part_file(data_dir: Path) -> None:
    run = await write(data_dir, "lake/people", ROWS, strategy="bigdata")
    assert run.status == "SUCCESS", run.state.error
    folder = data_dir / "lake" / "people"
    assert listing(folder) == ["part-00000.jsonl"]
    assert [json.loads(x) for x in (folder / "part-00000.jsonl").read_text().splitlines()] == ROWS


async def test_write_json_directory_overwrite_replaces_old_parts_and_append_adds_one(data_dir: Path) -> None:
    folder = data_dir / "lake"
    folder.mkdir()
    (folder / "part-00003.jsonl").write_text('{"old": true}\n')
    (folder / "README").write_text("kept")
    await write(data_dir, "lake/", ROWS)
    assert listing(folder) == ["README", "part-00000.jsonl"]
    await write(data_dir, "lake/", ROWS[:1], mode="append")
    assert listing(folder) == ["README", "part-00000.jsonl", "part-00001.jsonl"]
    assert json.loads((folder / "part-00001.jsonl").read_text()) == ROWS[0]


def test_json_writer_writes_decimals_exactly_and_dates_as_iso_text(tmp_path: Path) -> None:
    w = JsonWriter(tmp_path / "x.jsonl", "lines")
    record = {
        "price": decimal.Decimal("12.3400000000000000001"),
        "when": dt.datetime(2024, 1, 2, 3, 4, 5),
        "day": dt.date(2024, 1, 2),
        "blob": b"\x00\x01",
    }
    outcome = w.write([record, {"big": 2**70, "when": dt.datetime(2024, 1, 2)}])
    w.close()
    assert outcome.errors == []
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    assert lines[0].startswith('{"price":12.3400000000000000001,')
    assert [json.loads(line) for line in lines] == [
        {"price": 12.34, "when": "2024-01-02T03:04:05", "day": "2024-01-02", "blob": "AAE="},
        {"big": 2**70, "when": "2024-01-02T00:00:00"},
    ]


def test_json_writer_refuses_a_record_it_cannot_encode_as_a_record_error(tmp_path: Path) -> None:
    loop: Json = {"id": 1}
    loop["self"] = loop
    w = JsonWriter(tmp_path / "x.json", "array")
    outcome = w.write([{"id": 0}, loop])
    w.close()
    assert outcome.written == [{"id": 0}]
    assert len(outcome.errors) == 1
    assert outcome.errors[0][1].startswith("record 2: cannot be written as JSON")
    assert json.loads((tmp_path / "x.json").read_text()) == [{"id": 0}]


async def test_write_json_append_keeps_a_last_line_without_newline_whole(data_dir: Path) -> None:
    (data_dir / "log.jsonl").write_text('{"id": 0}')
    await write(data_dir, "log.jsonl", ROWS[:1], mode="append")
    lines = (data_dir / "log.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"id": 0}, ROWS[0]]
