"""write_json and write_xml write the fields their in port's schema declares, in its order, and nothing else
(job-config.md §3); without declared fields they write what arrives."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.shaping import Projector
from etl_core.config.schema import Schema
from etl_core.testing import component, fields, list_sink, list_source, make_job, run_job

Json = dict[str, Any]

NESTED: Json = {
    "fields": [
        {"name": "id", "data_type": "integer"},
        {
            "name": "address",
            "data_type": "object",
            "children": [{"name": "city", "data_type": "string"}, {"name": "zip", "data_type": "string"}],
        },
        {
            "name": "items",
            "data_type": "array",
            "item": {"name": "item", "data_type": "object", "children": [{"name": "sku", "data_type": "string"}]},
        },
    ]
}
# what an upstream aggregation or schema_mapping might hand on: keys out of order, keys nobody declared
ARRIVING: list[Json] = [
    {
        "debug": "x",
        "items": [{"sku": "A1", "internal": 1}],
        "address": {"zip": "50667", "city": "Köln", "geo": [6.9, 50.9]},
        "id": 1,
    },
    {"id": 2, "address": {"city": "Bonn", "zip": "53111"}, "items": [], "_score": 0.5},
]
WRITTEN: list[Json] = [
    {"id": 1, "address": {"city": "Köln", "zip": "50667"}, "items": [{"sku": "A1"}]},
    {"id": 2, "address": {"city": "Bonn", "zip": "53111"}, "items": []},
]


async def write(data_dir: Path, comp_type: str, path: str, rows: list[Json], schema: Json, **options: Any) -> Any:
    writer = component("write", comp_type, filepath=path, in_port_schemas={"in": schema}, **options)
    run = await run_job(make_job(list_source("src", rows), writer, list_sink("after")), data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    return run


async def test_write_json_array_writes_only_the_declared_fields_in_schema_order(data_dir: Path) -> None:
    await write(data_dir, "write_json", "out.json", ARRIVING, NESTED)
    text = (data_dir / "out.json").read_text(encoding="utf-8")
    assert json.loads(text) == WRITTEN
    assert [list(r) for r in json.loads(text)] == [["id", "address", "items"]] * 2
    assert [word for word in ("debug", "geo", "internal", "_score") if word in text] == []


@pytest.mark.parametrize("name", ["out.jsonl", "out.ndjson"])
async def test_write_json_lines_writes_only_the_declared_fields(data_dir: Path, name: str) -> None:
    await write(data_dir, "write_json", name, ARRIVING, NESTED)
    lines = (data_dir / name).read_text(encoding="utf-8").splitlines()
    assert lines[1] == '{"id":2,"address":{"city":"Bonn","zip":"53111"},"items":[]}'
    assert [json.loads(line) for line in lines] == WRITTEN


async def test_write_json_writes_a_declared_field_a_record_lacks_as_null(data_dir: Path) -> None:
    await write(data_dir, "write_json", "gaps.jsonl", [{"b": 2, "extra": 3}], fields(a="integer", b="integer"))
    assert (data_dir / "gaps.jsonl").read_text() == '{"a":null,"b":2}\n'


async def test_write_json_without_declared_fields_writes_every_key_that_arrives(data_dir: Path) -> None:
    await write(data_dir, "write_json", "all.jsonl", ARRIVING, {"fields": []})
    assert [json.loads(line) for line in (data_dir / "all.jsonl").read_text().splitlines()] == ARRIVING


async def test_write_json_forwards_the_projected_records_on_its_out_port(data_dir: Path) -> None:
    run = await write(data_dir, "write_json", "out.json", ARRIVING, NESTED)
    assert run.records("after") == WRITTEN


async def test_write_json_projects_flat_records_onto_dotted_field_names(data_dir: Path) -> None:
    schema = fields(id="integer", **{"address.city": "string"})
    rows = [{"id": 1, "address.city": "Köln", "address.zip": "50667", "note": "n"}]
    await write(data_dir, "write_json", "flat.json", rows, schema)
    assert json.loads((data_dir / "flat.json").read_text()) == [{"id": 1, "address": {"city": "Köln"}}]


async def test_write_xml_writes_only_the_declared_fields_in_schema_order(data_dir: Path) -> None:
    await write(data_dir, "write_xml", "out.xml", ARRIVING, NESTED)
    root = ET.parse(data_dir / "out.xml").getroot()
    first = root[0]
    assert [child.tag for child in first] == ["id", "address", "items"]
    assert [child.tag for child in first.find("address")] == ["city", "zip"]  # type: ignore[union-attr]
    assert [child.tag for child in first.find("items")] == ["sku"]  # type: ignore[union-attr]
    text = (data_dir / "out.xml").read_text(encoding="utf-8")
    assert [word for word in ("debug", "geo", "internal", "_score") if word in text] == []


async def test_write_xml_drops_undeclared_attributes_and_keeps_declared_ones(data_dir: Path) -> None:
    rows = [{"@attrs": {"id": "7"}, "title": "A", "isbn": "x"}]
    await write(data_dir, "write_xml", "books.xml", rows, fields(title="string"), record_tag="book")
    text = (data_dir / "books.xml").read_text(encoding="utf-8")
    assert text == '<?xml version="1.0" encoding="UTF-8"?>\n<rows>\n<book><title>A</title></book>\n</rows>\n'
    await write(data_dir, "write_xml", "kept.xml", rows, fields(**{"@attrs": "object", "title": "string"}))
    assert '<row id="7"><title>A</title></row>' in (data_dir / "kept.xml").read_text(encoding="utf-8")


async def test_write_xml_without_declared_fields_writes_every_key_that_arrives(data_dir: Path) -> None:
    await write(data_dir, "write_xml", "all.xml", [{"b": "1", "extra": "2"}], {"fields": []})
    assert "<row><b>1</b><extra>2</extra></row>" in (data_dir / "all.xml").read_text(encoding="utf-8")


def test_projector_keeps_a_record_that_already_fits_as_the_same_object() -> None:
    projector = Projector(Schema.model_validate(fields(a="integer", b="string")))
    batch = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert projector.project_all(batch) is batch
    assert projector.project_all([{"b": "x", "a": 1}]) == [{"a": 1, "b": "x"}]


def test_projector_keeps_an_object_without_declared_children_whole() -> None:
    projector = Projector(Schema.model_validate(fields(meta="object")))
    assert projector.project({"meta": {"any": {"thing": 1}}, "x": 1}) == {"meta": {"any": {"thing": 1}}}
