"""write_xml: document shape, escaping, nesting, empty output, record errors, atomicity, append refusal."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.xml_format import XmlBatchReader, XmlWriter
from etl_core.errors import ConfigError
from etl_core.testing import component, fields, list_sink, list_source, make_job, route, run_job

Json = dict[str, Any]


def listing(folder: Path) -> list[str]:
    """The names in a directory, sorted."""
    return sorted(p.name for p in folder.iterdir())


ROWS: list[Json] = [
    {
        "@attrs": {"id": 1, "note": 'say "hi"\n\tnow'},
        "name": "Zoë <b> & 'Co' ]]>",
        "address": {"city": "Köln", "zip": "50667"},
        "tag": ["a", "b"],
        "price": {"@attrs": {"currency": "EUR"}, "#text": 10.5},
        "ok": True,
        "lines": "one\r\ntwo",
        "missing": None,
    },
]
SCHEMA = fields(**{"@attrs": "object", "name": "string", "address": "object", "tag": "array", "price": "object"})
SCHEMA["fields"] += [
    {"name": "ok", "data_type": "boolean"},
    {"name": "lines", "data_type": "string"},
    {"name": "missing", "data_type": "string", "nullable": True},
]


def writer(path: str, schema: Json | None = None, **options: Any) -> Json:
    return component("write", "write_xml", filepath=path, in_port_schemas={"in": schema or SCHEMA}, **options)


async def write(data_dir: Path, path: str, rows: list[Json], **options: Any) -> Any:
    return await run_job(make_job(list_source("src", rows), writer(path, **options)), data_dir=data_dir)


def read_back(path: Path, record_tag: str = "row") -> list[Json]:
    r = XmlBatchReader(path, None, record_tag, batch_size=1000)
    out: list[Json] = []
    while (batch := r.next_batch()) is not None:
        out.extend(batch.records)
    r.close()
    return out


async def test_write_xml_writes_records_under_the_root_and_reads_back(data_dir: Path) -> None:
    run = await write(data_dir, "out/rows.xml", ROWS)
    assert run.status == "SUCCESS", run.state.error
    path = data_dir / "out" / "rows.xml"
    root = ET.parse(path).getroot()
    assert root.tag == "rows"
    assert [child.tag for child in root] == ["row"]
    assert read_back(path) == [
        {
            "@attrs": {"id": "1", "note": 'say "hi"\n\tnow'},
            "name": "Zoë <b> & 'Co' ]]>",
            "address": {"city": "Köln", "zip": "50667"},
            "tag": ["a", "b"],
            "price": {"@attrs": {"currency": "EUR"}, "#text": "10.5"},
            "ok": "true",
            "lines": "one\r\ntwo",
            "missing": None,
        }
    ]


async def test_write_xml_uses_the_configured_root_and_record_tags(data_dir: Path) -> None:
    schema = fields(title="string")
    run = await write(data_dir, "books.xml", [{"title": "A"}], schema=schema, root_tag="catalog", record_tag="book")
    assert run.status == "SUCCESS", run.state.error
    text = (data_dir / "books.xml").read_text()
    assert text == '<?xml version="1.0" encoding="UTF-8"?>\n<catalog>\n<book><title>A</title></book>\n</catalog>\n'


async def test_write_xml_without_records_writes_an_empty_root(data_dir: Path) -> None:
    await write(data_dir, "empty.xml", [])
    root = ET.parse(data_dir / "empty.xml").getroot()
    assert (root.tag, len(root)) == ("rows", 0)
    assert read_back(data_dir / "empty.xml") == []


async def test_write_xml_nests_dotted_keys_of_flat_records(data_dir: Path) -> None:
    schema = fields(id="string", **{"address.city": "string"})
    job = make_job(list_source("src", [{"id": "1", "address.city": "Köln"}]), writer("flat.xml", schema))
    await run_job(job, data_dir=data_dir)
    assert read_back(data_dir / "flat.xml") == [{"id": "1", "address": {"city": "Köln"}}]


async def test_write_xml_gzips_with_a_gz_suffix(data_dir: Path) -> None:
    await write(data_dir, "rows.xml.gz", [{"n": "1"}], schema=fields(n="string"))
    assert ET.fromstring(gzip.decompress((data_dir / "rows.xml.gz").read_bytes())).find("row/n").text == "1"  # type: ignore[union-attr]


async def test_write_xml_sends_records_it_cannot_represent_to_the_error_port(data_dir: Path) -> None:
    rows = [{"ok": "fine"}, {"bad name": "x"}, {"ok": "bell \x07"}, {"ok": "last"}]
    job = make_job(
        list_source("src", rows),
        # no declared fields: the records are written as they arrive, the badly named key included
        route(writer("partial.xml", {"fields": []}), "error", "bad"),
        list_sink("bad"),
        chain=False,
    )
    route(job["components"][0], "out", "write")
    run = await run_job(job, data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert read_back(data_dir / "partial.xml") == [{"ok": "fine"}, {"ok": "last"}]
    errors = [e["error"] for e in run.records("bad")]
    assert errors[0] == "record 2: cannot be written as XML: field 'bad name' is not a valid XML element name"
    assert errors[1].startswith("record 3: cannot be written as XML:")
    assert "U+0007" in errors[1]


async def test_write_xml_fails_on_an_unwritable_record_without_an_error_port(data_dir: Path) -> None:
    run = await write(data_dir, "fail.xml", [{"ok": "\x00"}], schema=fields(ok="string"))
    assert run.status == "FAILED"
    assert "record 1" in (run.state.error or "")
    assert listing(data_dir) == []


async def test_write_xml_refuses_an_invalid_tag_name(data_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        await write(data_dir, "rows.xml", ROWS, record_tag="my row")
    assert info.value.issues[0].path == "components[1].record_tag"


async def test_write_xml_replaces_the_file_on_rerun_and_forwards_records(data_dir: Path) -> None:
    await write(data_dir, "rows.xml", [{"n": "1"}, {"n": "2"}], schema=fields(n="string"))
    job = make_job(list_source("src", [{"n": "3"}]), writer("rows.xml", fields(n="string")), list_sink("after"))
    run = await run_job(job, data_dir=data_dir)
    assert run.records("after") == [{"n": "3"}]
    assert read_back(data_dir / "rows.xml") == [{"n": "3"}]
    assert listing(data_dir) == ["rows.xml"]


async def test_write_xml_leaves_no_file_when_a_later_component_fails(data_dir: Path) -> None:
    job = make_job(list_source("src", ROWS), writer("rows.xml"), list_sink("after", fail_after=1))
    run = await run_job(job, data_dir=data_dir)
    assert run.status == "FAILED"
    assert listing(data_dir) == []


def test_xml_writer_repeats_list_items_and_wraps_nested_lists(tmp_path: Path) -> None:
    w = XmlWriter(tmp_path / "x.xml", "rows", "row")
    w.write([{"m": [[1, 2], [3]], "e": "", "d": {}}])
    w.close()
    text = (tmp_path / "x.xml").read_text()
    assert "<row><m><item>1</item><item>2</item></m><m><item>3</item></m><e/><d/></row>" in text
