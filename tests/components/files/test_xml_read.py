"""read_xml: record elements as records, nesting, attributes, typing, broken files, chunking, row mode."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from etl_core.components.files.xml_format import XmlBatchReader
from etl_core.config.schema import Schema
from etl_core.testing import component, list_sink, make_job, route, run_job

Json = dict[str, Any]

DOC = """<?xml version="1.0" encoding="UTF-8"?>
<rows>
  <row id="1">
    <name>Zoë &amp; Co &#233;</name>
    <address><city>Köln</city><zip>50667</zip></address>
    <tag>a</tag><tag>b</tag>
    <price currency="EUR">10.5</price>
    <empty/>
  </row>
  <row id="2">
    <name>  padded  </name>
    <note>before <b>bold</b> after</note>
    <tag>c</tag>
  </row>
</rows>
"""

EXPECTED = [
    {
        "@attrs": {"id": "1"},
        "name": "Zoë & Co é",
        "address": {"city": "Köln", "zip": "50667"},
        "tag": ["a", "b"],
        "price": {"@attrs": {"currency": "EUR"}, "#text": "10.5"},
        "empty": None,
    },
    {"@attrs": {"id": "2"}, "name": "  padded  ", "note": {"b": "bold", "#text": "before after"}, "tag": "c"},
]


def reader(path: str, schema: Json | None = None, **options: Any) -> Json:
    comp = component("read", "read_xml", filepath=path, **options)
    if schema is not None:
        comp["out_port_schemas"] = {"out": schema}
    return route(comp, "out", "sink")


async def read(data_dir: Path, path: str, schema: Json | None = None, *, errors: bool = False, **kw: Any) -> Any:
    strategy = kw.pop("strategy", "bulk")
    comps = [reader(path, schema, **kw), list_sink("sink")]
    if errors:
        route(comps[0], "error", "bad")
        comps.append(list_sink("bad"))
    return await run_job(make_job(*comps, chain=False, strategy=strategy), data_dir=data_dir)


async def test_read_xml_turns_record_elements_into_records(data_dir: Path) -> None:
    (data_dir / "rows.xml").write_text(DOC, encoding="utf-8")
    run = await read(data_dir, "rows.xml")
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == EXPECTED


async def test_read_xml_finds_records_under_any_root_and_depth_ignoring_namespaces(data_dir: Path) -> None:
    doc = (
        '<c:catalog xmlns:c="urn:c" xmlns="urn:d"><meta><title>x</title></meta>'
        "<shelf><book><title>A</title></book><book><title>B</title></book></shelf>"
        "<book><title>C</title></book></c:catalog>"
    )
    (data_dir / "books.xml").write_text(doc)
    run = await read(data_dir, "books.xml", root_tag="catalog", record_tag="book")
    assert run.records("sink") == [{"title": "A"}, {"title": "B"}, {"title": "C"}]


async def test_read_xml_types_values_by_the_schema(data_dir: Path) -> None:
    doc = (
        "<rows><row><id>1</id><ok>true</ok><price currency='EUR'>2.5</price><tag>x</tag>"
        "<address><city>Köln</city><zip>50667</zip></address><extra>dropped</extra></row>"
        "<row><id> 2 </id><ok/><tag>y</tag><tag>z</tag></row></rows>"
    )
    (data_dir / "typed.xml").write_text(doc)
    schema = {
        "fields": [
            {"name": "id", "data_type": "integer"},
            {"name": "ok", "data_type": "boolean", "nullable": True},
            {"name": "price", "data_type": "float", "nullable": True},
            {"name": "tag", "data_type": "array", "item": {"name": "t", "data_type": "string"}},
            {
                "name": "address",
                "data_type": "object",
                "nullable": True,
                "children": [{"name": "city", "data_type": "string"}, {"name": "zip", "data_type": "integer"}],
            },
        ]
    }
    run = await read(data_dir, "typed.xml", schema)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [
        {"id": 1, "ok": True, "price": 2.5, "tag": ["x"], "address": {"city": "Köln", "zip": 50667}},
        {"id": 2, "ok": None, "price": None, "tag": ["y", "z"], "address": None},
    ]


async def test_read_xml_sends_a_record_that_does_not_fit_the_schema_to_the_error_port(data_dir: Path) -> None:
    doc = "<rows><row><id>1</id></row><row><id>one</id></row><row><id>3</id></row></rows>"
    (data_dir / "bad.xml").write_text(doc)
    run = await read(data_dir, "bad.xml", {"fields": [{"name": "id", "data_type": "integer"}]}, errors=True)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1}, {"id": 3}]
    assert run.records("bad") == [
        {
            "record": {"id": "one"},
            "error": "record 2: field 'id': 'one' is not an integer (integer)",
            "component": "read",
        }
    ]


async def test_read_xml_fails_naming_file_line_and_column_when_not_well_formed(data_dir: Path) -> None:
    (data_dir / "broken.xml").write_text("<rows>\n<row><id>1</id></row>\n<row><id>2</row>\n</rows>\n")
    run = await read(data_dir, "broken.xml", errors=True)
    assert run.status == "FAILED"
    error = run.state.error or ""
    assert "broken.xml" in error
    assert "not well-formed XML" in error
    assert "line 3, column" in error


async def test_read_xml_fails_on_a_file_that_is_not_xml(data_dir: Path) -> None:
    (data_dir / "table.xml").write_text("id,name\n1,x\n")
    run = await read(data_dir, "table.xml")
    assert run.status == "FAILED"
    assert "not well-formed XML" in (run.state.error or "")


async def test_read_xml_fails_on_a_document_cut_short(data_dir: Path) -> None:
    (data_dir / "cut.xml").write_text("<rows><row><id>1</id></row><row><id>2</id>")
    run = await read(data_dir, "cut.xml")
    assert run.status == "FAILED"
    assert "after record 1" in (run.state.error or "")


async def test_read_xml_gives_no_records_for_an_empty_root_or_an_empty_file(data_dir: Path) -> None:
    (data_dir / "root.xml").write_text('<?xml version="1.0"?>\n<rows>\n</rows>\n')
    (data_dir / "blank.xml").write_text("")
    for name in ("root.xml", "blank.xml"):
        run = await read(data_dir, name)
        assert run.status == "SUCCESS", run.state.error
        assert run.records("sink") == []


async def test_read_xml_takes_a_root_that_is_itself_the_record(data_dir: Path) -> None:
    (data_dir / "one.xml").write_text("<row><id>9</id></row>")
    run = await read(data_dir, "one.xml")
    assert run.records("sink") == [{"id": "9"}]


async def test_read_xml_decompresses_gzip(data_dir: Path) -> None:
    (data_dir / "rows.xml.gz").write_bytes(gzip.compress(DOC.encode()))
    run = await read(data_dir, "rows.xml.gz")
    assert run.records("sink") == EXPECTED


async def test_read_xml_honours_the_declared_encoding(data_dir: Path) -> None:
    doc = '<?xml version="1.0" encoding="ISO-8859-1"?><rows><row><name>Zoë</name></row></rows>'
    (data_dir / "latin.xml").write_bytes(doc.encode("latin-1"))
    run = await read(data_dir, "latin.xml")
    assert run.records("sink") == [{"name": "Zoë"}]


def test_xml_reader_is_indifferent_to_chunk_boundaries_and_keeps_the_tree_small(tmp_path: Path) -> None:
    rows = "".join(f'<row n="{i}"><v>{"é" * (i % 5)}</v><w>{i}</w></row>\n' for i in range(200))
    (tmp_path / "many.xml").write_text(f"<rows>\n{rows}</rows>", encoding="utf-8")
    schema = Schema.model_validate({"fields": [{"name": "w", "data_type": "integer"}]})
    r = XmlBatchReader(tmp_path / "many.xml", schema, "row", batch_size=50, chunk_size=7)
    got: list[Json] = []
    while (batch := r.next_batch()) is not None:
        got.extend(batch.records)
        assert r._root is not None
        assert len(r._root) <= 1  # completed records are dropped from the tree
    r.close()
    assert got == [{"w": i} for i in range(200)]


async def test_read_xml_in_row_mode_sends_records_chunk_by_chunk(data_dir: Path) -> None:
    rows = "".join(f"<row><id>{i}</id><text>{'x' * 40}</text></row>\n" for i in range(3000))
    (data_dir / "many.xml").write_text(f"<rows>{rows}</rows>")
    run = await read(data_dir, "many.xml", strategy="row")
    assert [r["id"] for r in run.records("sink")] == [str(i) for i in range(3000)]
    assert run.metrics("read").batches_out >= 3  # 64 KiB chunks of a ~200 KB file


async def test_read_xml_reads_a_directory_of_xml_files(data_dir: Path) -> None:
    folder = data_dir / "parts"
    folder.mkdir()
    (folder / "part-00001.xml").write_text("<rows><row><n>2</n></row></rows>")
    (folder / "part-00000.xml").write_text("<rows><row><n>1</n></row></rows>")
    run = await read(data_dir, "parts")
    assert run.records("sink") == [{"n": "1"}, {"n": "2"}]
