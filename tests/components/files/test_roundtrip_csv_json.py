"""Flat and nested formats meet: CSV -> JSON -> CSV (and through XML and Excel) gives the same file back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from etl_core.testing import component, make_job, run_job

Json = dict[str, Any]

CSV = 'id,name,address.city,address.zip,tags[0],tags[1]\n1,Zoë,Köln,50667,a,b\n2,"Smith, ""J""",,00001,c,\n'
NESTED = [
    {"id": "1", "name": "Zoë", "address": {"city": "Köln", "zip": "50667"}, "tags": ["a", "b"]},
    {"id": "2", "name": 'Smith, "J"', "address": {"city": None, "zip": "00001"}, "tags": ["c", None]},
]


def flat_schema(**types: str) -> Json:
    names = ["id", "name", "address.city", "address.zip", "tags[0]", "tags[1]"]
    return {"fields": [{"name": n, "data_type": types.get(n, "string"), "nullable": True} for n in names]}


async def copy(data_dir: Path, read: str, src: str, write: str, dst: str, schema: Json | None, **extra: Any) -> Any:
    reader = component("read", read, filepath=src, **extra)
    if schema is not None:
        reader["out_port_schemas"] = {"out": schema}
    writer = component("write", write, filepath=dst, in_port_schemas={"in": schema or flat_schema()}, **extra)
    run = await run_job(make_job(reader, writer), data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    return run


@pytest.mark.parametrize("middle", ["people.json", "people.jsonl", "people.json.gz"])
async def test_csv_to_json_to_csv_round_trips_without_schemas_on_the_readers(data_dir: Path, middle: str) -> None:
    (data_dir / "in.csv").write_text(CSV, encoding="utf-8")
    await copy(data_dir, "read_csv", "in.csv", "write_json", middle, None)
    if middle == "people.json":
        assert json.loads((data_dir / middle).read_text()) == NESTED  # dotted columns became nesting
    await copy(data_dir, "read_json", middle, "write_csv", "out.csv", None)
    assert (data_dir / "out.csv").read_text(encoding="utf-8") == CSV


async def test_csv_to_json_to_csv_round_trips_typed_by_schemas(data_dir: Path) -> None:
    (data_dir / "in.csv").write_text(CSV.replace(",00001,", ",1,"), encoding="utf-8")
    schema = flat_schema(id="integer", **{"address.zip": "integer"})
    await copy(data_dir, "read_csv", "in.csv", "write_json", "typed.json", schema)
    assert json.loads((data_dir / "typed.json").read_text())[1] == {
        "id": 2,
        "name": 'Smith, "J"',
        "address": {"city": None, "zip": 1},
        "tags": ["c", None],
    }
    await copy(data_dir, "read_json", "typed.json", "write_csv", "out.csv", schema)
    assert (data_dir / "out.csv").read_text(encoding="utf-8") == CSV.replace(",00001,", ",1,")


async def test_csv_with_an_object_schema_round_trips_through_json(data_dir: Path) -> None:
    (data_dir / "in.csv").write_text("id,address.city,address.zip\n1,Köln,50667\n", encoding="utf-8")
    schema = {
        "fields": [
            {"name": "id", "data_type": "integer"},
            {
                "name": "address",
                "data_type": "object",
                "children": [{"name": "city", "data_type": "string"}, {"name": "zip", "data_type": "string"}],
            },
        ]
    }
    await copy(data_dir, "read_csv", "in.csv", "write_json", "obj.jsonl", schema)
    assert json.loads((data_dir / "obj.jsonl").read_text()) == {"id": 1, "address": {"city": "Köln", "zip": "50667"}}
    await copy(data_dir, "read_json", "obj.jsonl", "write_csv", "out.csv", schema)
    assert (data_dir / "out.csv").read_text(encoding="utf-8") == "id,address.city,address.zip\n1,Köln,50667\n"


@pytest.mark.parametrize(
    ("write", "read", "middle"), [("write_xml", "read_xml", "mid.xml"), ("write_excel", "read_excel", "mid.xlsx")]
)
async def test_csv_round_trips_through_xml_and_excel(data_dir: Path, write: str, read: str, middle: str) -> None:
    (data_dir / "in.csv").write_text(CSV, encoding="utf-8")
    await copy(data_dir, "read_csv", "in.csv", write, middle, None)
    await copy(data_dir, read, middle, "write_csv", "out.csv", flat_schema())
    assert (data_dir / "out.csv").read_text(encoding="utf-8") == CSV


async def test_json_read_and_written_again_is_unchanged(data_dir: Path) -> None:
    records = [{"a": {"b": [1, {"c": None}], "d": "é"}, "e": 1.5, "f": True}]
    (data_dir / "in.json").write_text(json.dumps(records))
    reader = component("read", "read_json", filepath="in.json")
    writer = component("write", "write_json", filepath="out.json", in_port_schemas={"in": {"fields": []}})
    run = await run_job(make_job(reader, writer), data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert json.loads((data_dir / "out.json").read_text()) == records
