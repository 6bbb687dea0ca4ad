"""read_json: arrays, JSON lines, gzip, nesting, typing by schema, record errors, broken files, row mode."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.json_format import JsonArrayReader, JsonLinesReader
from etl_core.components.files.shaping import RecordShaper
from etl_core.components.support.values import ConversionError
from etl_core.config.schema import Schema
from etl_core.testing import component, list_sink, make_job, route, run_job

Json = dict[str, Any]

PEOPLE = [
    {"id": 1, "name": "Zoë", "address": {"city": "Köln", "zip": "50667"}, "tags": ["a", "b"]},
    {"id": 2, "name": "李雷 😀", "address": {"city": None, "zip": "1"}, "tags": []},
]

SCHEMA: Json = {
    "fields": [
        {"name": "id", "data_type": "integer"},
        {"name": "score", "data_type": "float", "nullable": True},
        {
            "name": "address",
            "data_type": "object",
            "children": [{"name": "city", "data_type": "string"}, {"name": "zip", "data_type": "integer"}],
        },
        {"name": "tags", "data_type": "array", "item": {"name": "tag", "data_type": "string"}},
    ]
}


def reader(path: str, schema: Json | None = None, **options: Any) -> Json:
    comp = component("read", "read_json", filepath=path, **options)
    if schema is not None:
        comp["out_port_schemas"] = {"out": schema}
    return comp


async def read(data_dir: Path, path: str, schema: Json | None = None, *, errors: bool = False, **job: Any) -> Any:
    comps = [route(reader(path, schema), "out", "sink"), list_sink("sink")]
    if errors:
        route(comps[0], "error", "bad")
        comps.append(list_sink("bad"))
    return await run_job(make_job(*comps, chain=False, **job), data_dir=data_dir)


def jsonl(records: list[Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


async def test_read_json_streams_a_top_level_array_with_nesting_and_unicode(data_dir: Path) -> None:
    (data_dir / "people.json").write_text(json.dumps(PEOPLE, ensure_ascii=False), encoding="utf-8")
    run = await read(data_dir, "people.json")
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == PEOPLE


async def test_read_json_reads_a_single_top_level_object_as_one_record(data_dir: Path) -> None:
    (data_dir / "one.json").write_text('\ufeff  {"id": 7, "meta": {"ok": true}}\n', encoding="utf-8")
    run = await read(data_dir, "one.json")
    assert run.records("sink") == [{"id": 7, "meta": {"ok": True}}]


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
async def test_read_json_reads_json_lines_skipping_blank_lines(data_dir: Path, suffix: str) -> None:
    text = jsonl(PEOPLE[:1]) + "\n   \n" + jsonl(PEOPLE[1:])
    (data_dir / f"people{suffix}").write_text(text, encoding="utf-8")
    run = await read(data_dir, f"people{suffix}")
    assert run.records("sink") == PEOPLE


@pytest.mark.parametrize("name", ["people.json.gz", "people.jsonl.gz"])
async def test_read_json_decompresses_gzip(data_dir: Path, name: str) -> None:
    text = json.dumps(PEOPLE) if name.startswith("people.json.") else jsonl(PEOPLE)
    (data_dir / name).write_bytes(gzip.compress(text.encode()))
    run = await read(data_dir, name)
    assert run.records("sink") == PEOPLE


async def test_read_json_recognises_gzip_content_whatever_the_name(data_dir: Path) -> None:
    (data_dir / "people.jsonl").write_bytes(gzip.compress(jsonl(PEOPLE).encode()))
    run = await read(data_dir, "people.jsonl")
    assert run.records("sink") == PEOPLE


@pytest.mark.parametrize(("name", "content"), [("empty.json", ""), ("empty.json", " []\n"), ("empty.jsonl", "")])
async def test_read_json_gives_no_records_for_an_empty_file(data_dir: Path, name: str, content: str) -> None:
    (data_dir / name).write_text(content)
    run = await read(data_dir, name)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == []


async def test_read_json_types_values_by_the_schema_and_drops_undeclared_keys(data_dir: Path) -> None:
    rows = [
        {"id": "1", "score": 2, "address": {"city": "Köln", "zip": "50667", "street": "x"}, "tags": '["a"]'},
        {"id": 2.0, "extra": True, "address": {"city": 5}, "tags": ["b", 3]},
    ]
    (data_dir / "typed.jsonl").write_text(jsonl(rows))
    run = await read(data_dir, "typed.jsonl", SCHEMA)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [
        {"id": 1, "score": 2.0, "address": {"city": "Köln", "zip": 50667}, "tags": ["a"]},
        {"id": 2, "score": None, "address": {"city": "5", "zip": None}, "tags": ["b", "3"]},
    ]


async def test_read_json_sends_a_malformed_line_to_the_error_port_with_its_line_number(data_dir: Path) -> None:
    text = '{"id": 1}\n{"id": 2,,}\n[3]\n{"id": "x"}\n{"id": 5}\n'
    (data_dir / "bad.jsonl").write_text(text)
    run = await read(data_dir, "bad.jsonl", {"fields": [{"name": "id", "data_type": "integer"}]}, errors=True)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1}, {"id": 5}]
    bad = run.records("bad")
    assert [(e["line"], e["component"]) for e in bad] == [(2, "read"), (3, "read"), (4, "read")]
    assert bad[0]["record"] == '{"id": 2,,}'
    assert "not valid JSON" in bad[0]["error"]
    assert "not a record" in bad[1]["error"]
    assert bad[2]["error"] == "field 'id': 'x' is not an integer (integer)"
    assert run.metrics("read").errors == 3


async def test_read_json_fails_on_a_malformed_line_without_an_error_port(data_dir: Path) -> None:
    (data_dir / "bad.jsonl").write_text('{"id": 1}\n{"id": 2\n{"id": 3}\n')
    run = await read(data_dir, "bad.jsonl")
    assert run.status == "FAILED"
    assert "line 2" in (run.state.error or "")
    assert "'read'" in (run.state.error or "")


async def test_read_json_numbers_array_records_in_type_errors(data_dir: Path) -> None:
    (data_dir / "typed.json").write_text('[{"id": 1}, {"id": "one"}, 7]')
    run = await read(data_dir, "typed.json", {"fields": [{"name": "id", "data_type": "integer"}]}, errors=True)
    assert run.records("sink") == [{"id": 1}]
    assert [e["error"] for e in run.records("bad")] == [
        "record 2: field 'id': 'one' is not an integer (integer)",
        "record 3: a JSON number is not a record (an object)",
    ]


async def test_read_json_fails_naming_the_file_and_place_when_the_array_is_broken(data_dir: Path) -> None:
    (data_dir / "broken.json").write_text('[{"id": 1}, {"id": 2, oops: 3}]')
    run = await read(data_dir, "broken.json", errors=True)
    assert run.status == "FAILED"
    error = run.state.error or ""
    assert "broken.json" in error
    assert "not valid JSON after record 1" in error
    assert "oops" in error


async def test_read_json_fails_on_a_file_that_is_not_json_at_all(data_dir: Path) -> None:
    (data_dir / "table.json").write_text("id,name\n1,x\n")
    run = await read(data_dir, "table.json")
    assert run.status == "FAILED"
    assert "table.json" in (run.state.error or "")
    assert "is not a JSON array or object" in (run.state.error or "")


async def test_read_json_fails_on_lines_none_of_which_are_json_when_no_error_port_is_wired(data_dir: Path) -> None:
    (data_dir / "table.jsonl").write_text("id,name\n1,x\n2,y\n")
    run = await read(data_dir, "table.jsonl")
    assert run.status == "FAILED"
    assert "is not JSON lines" in (run.state.error or "")


async def test_read_json_fails_on_a_truncated_gzip_file(data_dir: Path) -> None:
    packed = gzip.compress(jsonl(PEOPLE * 50).encode())
    (data_dir / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    run = await read(data_dir, "cut.jsonl.gz")
    assert run.status == "FAILED"
    assert "not a valid gzip file" in (run.state.error or "")


async def test_read_json_fails_clearly_when_the_file_is_missing(data_dir: Path) -> None:
    run = await read(data_dir, "nowhere.json")
    assert run.status == "FAILED"
    assert "does not exist" in (run.state.error or "")


async def test_read_json_reads_every_json_file_of_a_directory_in_name_order(data_dir: Path) -> None:
    folder = data_dir / "parts"
    folder.mkdir()
    (folder / "part-00001.jsonl").write_text(jsonl([{"n": 2}]))
    (folder / "part-00000.jsonl").write_text(jsonl([{"n": 1}]))
    (folder / "b.json").write_text('[{"n": 3}]')
    (folder / ".part-00002.jsonl.123.tmp").write_text(jsonl([{"n": 99}]))
    (folder / "notes.txt").write_text("ignored")
    run = await read(data_dir, "parts")
    assert run.records("sink") == [{"n": 3}, {"n": 1}, {"n": 2}]


async def test_read_json_in_row_mode_sends_records_chunk_by_chunk(data_dir: Path) -> None:
    rows = [{"id": i, "text": "x" * 40} for i in range(6000)]
    (data_dir / "many.jsonl").write_text(jsonl(rows))
    (data_dir / "many.json").write_text(json.dumps(rows))
    for name in ("many.jsonl", "many.json"):
        run = await read(data_dir, name, strategy="row")
        assert run.records("sink") == rows
        assert run.metrics("read").batches_out >= 3  # 64 KiB chunks of a ~330 KB file


def test_json_readers_hand_out_batches_of_the_requested_size(tmp_path: Path) -> None:
    rows = [{"i": i} for i in range(25)]
    (tmp_path / "a.jsonl").write_text(jsonl(rows))
    (tmp_path / "a.json").write_text(json.dumps(rows))
    schema = Schema.model_validate({"fields": [{"name": "i", "data_type": "integer"}]})
    for reader_cls, name in ((JsonLinesReader, "a.jsonl"), (JsonArrayReader, "a.json")):
        r = reader_cls(tmp_path / name, schema, batch_size=10)
        sizes = []
        while (batch := r.next_batch()) is not None:
            sizes.append(len(batch.records))
        r.close()
        assert sizes == [10, 10, 5], name


async def test_read_json_has_no_schema_issue_without_out_schema(data_dir: Path) -> None:
    (data_dir / "x.json").write_text('[{"a": 1}]')
    run = await read(data_dir, "x.json")
    assert run.metrics("read").bytes_read == len('[{"a": 1}]')


def test_json_readers_are_indifferent_to_chunk_boundaries(tmp_path: Path) -> None:
    rows = [{"i": i, "text": "é" * (i % 7), "nested": {"deep": [i, None]}} for i in range(60)]
    (tmp_path / "a.jsonl").write_text(jsonl(rows), encoding="utf-8")
    (tmp_path / "a.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    for reader_cls, name in ((JsonLinesReader, "a.jsonl"), (JsonArrayReader, "a.json")):
        r = reader_cls(tmp_path / name, None, batch_size=7, chunk_size=3)
        got: list[Any] = []
        while (batch := r.next_batch()) is not None:
            got.extend(batch.records)
        r.close()
        assert got == rows, name


def test_record_shaper_keeps_typed_records_and_converts_or_projects_the_rest() -> None:
    schema = Schema.model_validate(
        {"fields": [{"name": "id", "data_type": "integer"}, {"name": "name", "data_type": "string"}]}
    )
    shaper = RecordShaper(schema)
    typed = {"id": 1, "name": "a"}
    assert shaper.shape(typed) is typed  # already right: no copy
    assert shaper.shape({"id": "2", "name": 5}) == {"id": 2, "name": "5"}
    assert shaper.shape({"id": None, "name": None}) == {"id": None, "name": None}
    assert shaper.shape({"name": "c", "id": 3}) == {"id": 3, "name": "c"}
    assert shaper.shape({"id": 4, "name": "d", "extra": 1}) == {"id": 4, "name": "d"}
    assert shaper.shape({"id": 5}) == {"id": 5, "name": None}
    with pytest.raises(ConversionError, match="field 'id': 'x' is not an integer"):
        shaper.shape({"id": "x", "name": "e"})
    with pytest.raises(ConversionError, match="field 'id'"):
        shaper.shape({"id": 1.5, "name": "f"})
