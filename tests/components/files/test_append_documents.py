"""mode "append" for a `.json` array and an XML document (job-config.md §4): a run adds its records after the
existing ones in one valid document, and a failed run leaves the file as it was (the new document is staged
and replaces the old one only at the commit point)."""

from __future__ import annotations

import decimal
import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.appending import copy_json_array, copy_xml_document
from etl_core.components.files.json_format import JsonWriter
from etl_core.components.files.xml_format import XmlBatchReader
from etl_core.testing import component, fields, list_source, make_job, run_job

Json = dict[str, Any]

SCHEMA = fields(id="integer", name="string")
FIRST: list[Json] = [{"id": 1, "name": "Zoë"}, {"id": 2, "name": "李"}]
SECOND: list[Json] = [{"id": 3, "name": "Ada"}]


async def append(data_dir: Path, comp_type: str, path: str, rows: list[Json], **source: Any) -> Any:
    writer = component("write", comp_type, filepath=path, mode="append", in_port_schemas={"in": SCHEMA})
    return await run_job(make_job(list_source("src", rows, **source), writer), data_dir=data_dir)


async def overwrite(data_dir: Path, comp_type: str, path: str, rows: list[Json]) -> None:
    writer = component("write", comp_type, filepath=path, in_port_schemas={"in": SCHEMA})
    run = await run_job(make_job(list_source("src", rows), writer), data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def xml_records(path: Path, record_tag: str = "row") -> list[Json]:
    reader = XmlBatchReader(path, None, record_tag, batch_size=1000)
    out: list[Json] = []
    while (batch := reader.next_batch()) is not None:
        out.extend(batch.records)
    reader.close()
    return out


# -- JSON arrays -------------------------------------------------------------------------------------------


async def test_two_appending_runs_give_one_json_array_with_the_records_of_both(data_dir: Path) -> None:
    assert (await append(data_dir, "write_json", "log.json", FIRST)).status == "SUCCESS"
    run = await append(data_dir, "write_json", "log.json", SECOND)
    assert run.status == "SUCCESS", run.state.error
    assert json.loads((data_dir / "log.json").read_text(encoding="utf-8")) == FIRST + SECOND
    await overwrite(data_dir, "write_json", "once.json", FIRST + SECOND)
    # byte for byte what one run writing every record gives
    assert (data_dir / "log.json").read_bytes() == (data_dir / "once.json").read_bytes()


async def test_a_failed_appending_run_leaves_the_json_array_of_the_previous_run(data_dir: Path) -> None:
    await append(data_dir, "write_json", "log.json", FIRST)
    before = (data_dir / "log.json").read_bytes()
    run = await append(data_dir, "write_json", "log.json", SECOND * 3, fail_after=2, batch_size=1)
    assert run.status == "FAILED"
    assert (data_dir / "log.json").read_bytes() == before
    assert listing(data_dir) == ["log.json"]  # no staged file left behind


async def test_appending_to_a_gzipped_json_array_keeps_both_runs(data_dir: Path) -> None:
    await append(data_dir, "write_json", "log.json.gz", FIRST)
    await append(data_dir, "write_json", "log.json.gz", SECOND)
    assert json.loads(gzip.decompress((data_dir / "log.json.gz").read_bytes())) == FIRST + SECOND


async def test_appending_keeps_the_existing_array_elements_byte_for_byte(data_dir: Path) -> None:
    existing = (
        '\ufeff [ {"id": 123456789012345678901234567890, "name": "x", "price": 12.3400000000000000001} ,\n 7 ]  \n'
    )
    (data_dir / "log.json").write_text(existing, encoding="utf-8")
    run = await append(data_dir, "write_json", "log.json", SECOND)
    assert run.status == "SUCCESS", run.state.error
    text = (data_dir / "log.json").read_text(encoding="utf-8")
    assert text == (
        '[\n{"id": 123456789012345678901234567890, "name": "x", "price": 12.3400000000000000001} ,\n 7,\n'
        '{"id":3,"name":"Ada"}\n]\n'
    )


@pytest.mark.parametrize("existing", ["[]", " [ \n ] ", "", "  \n"])
async def test_appending_to_an_empty_json_array_or_blank_file_writes_just_the_new_records(
    data_dir: Path, existing: str
) -> None:
    (data_dir / "log.json").write_text(existing)
    await append(data_dir, "write_json", "log.json", SECOND)
    assert (data_dir / "log.json").read_text() == '[\n{"id":3,"name":"Ada"}\n]\n'


async def test_appending_no_records_keeps_the_existing_array(data_dir: Path) -> None:
    await append(data_dir, "write_json", "log.json", FIRST)
    await append(data_dir, "write_json", "log.json", [])
    assert json.loads((data_dir / "log.json").read_text()) == FIRST
    (data_dir / "empty.json").write_text("[]")
    await append(data_dir, "write_json", "empty.json", [])
    assert (data_dir / "empty.json").read_text() == "[]"


async def test_appending_to_a_file_of_top_level_objects_makes_one_array(data_dir: Path) -> None:
    (data_dir / "log.json").write_text('{"id": 1, "price": 0.10}\n{"id": 2}')
    await append(data_dir, "write_json", "log.json", SECOND)
    text = (data_dir / "log.json").read_text()
    assert text == '[\n{"id":1,"price":0.10},\n{"id":2},\n{"id":3,"name":"Ada"}\n]\n'


@pytest.mark.parametrize(
    ("existing", "why"),
    [
        ('[{"id": 1},', "is not a complete JSON array"),
        ('[{"id": 1}] [2]', "is not a complete JSON array"),
        ("id,name\n1,x\n", "is not a JSON array or object: it starts with 'id,name"),
        ('{"id": 1', "is not valid JSON"),
    ],
)
async def test_appending_to_a_broken_json_file_fails_and_leaves_it_alone(
    data_dir: Path, existing: str, why: str
) -> None:
    (data_dir / "log.json").write_text(existing)
    run = await append(data_dir, "write_json", "log.json", SECOND)
    assert run.status == "FAILED"
    assert f"cannot append to {str(data_dir / 'log.json')!r}: it {why}" in (run.state.error or "")
    assert (data_dir / "log.json").read_text() == existing
    assert listing(data_dir) == ["log.json"]


def test_json_writer_continues_an_array_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text('[{"a": 1}]')
    writer = JsonWriter(tmp_path / "new.json", "array", existing=tmp_path / "old.json")
    writer.write([{"a": 2}])
    writer.close()
    assert (tmp_path / "new.json").read_text() == '[\n{"a": 1},\n{"a":2}\n]\n'
    assert (tmp_path / "old.json").read_text() == '[{"a": 1}]'


# -- XML documents -----------------------------------------------------------------------------------------

STRINGS = [{k: str(v) for k, v in r.items()} for r in FIRST + SECOND]


async def test_two_appending_runs_give_one_xml_document_with_the_records_of_both(data_dir: Path) -> None:
    assert (await append(data_dir, "write_xml", "log.xml", FIRST)).status == "SUCCESS"
    run = await append(data_dir, "write_xml", "log.xml", SECOND)
    assert run.status == "SUCCESS", run.state.error
    root = ET.parse(data_dir / "log.xml").getroot()
    assert (root.tag, len(root)) == ("rows", 3)
    assert xml_records(data_dir / "log.xml") == STRINGS
    await overwrite(data_dir, "write_xml", "once.xml", FIRST + SECOND)
    assert (data_dir / "log.xml").read_bytes() == (data_dir / "once.xml").read_bytes()


async def test_a_failed_appending_run_leaves_the_xml_document_of_the_previous_run(data_dir: Path) -> None:
    await append(data_dir, "write_xml", "log.xml", FIRST)
    before = (data_dir / "log.xml").read_bytes()
    run = await append(data_dir, "write_xml", "log.xml", SECOND * 3, fail_after=2, batch_size=1)
    assert run.status == "FAILED"
    assert (data_dir / "log.xml").read_bytes() == before
    assert listing(data_dir) == ["log.xml"]


async def test_appending_to_a_gzipped_xml_document_keeps_both_runs(data_dir: Path) -> None:
    await append(data_dir, "write_xml", "log.xml.gz", FIRST)
    await append(data_dir, "write_xml", "log.xml.gz", SECOND)
    root = ET.fromstring(gzip.decompress((data_dir / "log.xml.gz").read_bytes()))
    assert [row.findtext("id") for row in root] == ["1", "2", "3"]


async def test_appending_keeps_the_existing_document_and_adds_under_its_root(data_dir: Path) -> None:
    existing = (
        '<?xml version="1.0" encoding="utf-8"?>\n<!-- exported -->\n<ns:catalog xmlns:ns="urn:x" v="2">\n'
        "  <group><row><id>1</id></row></group>\n  <row><id>2</id><![CDATA[ a < b ]]></row>\n</ns:catalog >\n\n"
    )
    (data_dir / "log.xml").write_text(existing, encoding="utf-8")
    run = await append(data_dir, "write_xml", "log.xml", SECOND)
    assert run.status == "SUCCESS", run.state.error
    text = (data_dir / "log.xml").read_text(encoding="utf-8")
    assert text == existing.rstrip().removesuffix("</ns:catalog >") + (
        "<row><id>3</id><name>Ada</name></row>\n</ns:catalog >\n"
    )
    assert [r["id"] for r in xml_records(data_dir / "log.xml")] == ["1", "2", "3"]


async def test_appending_to_an_empty_root_element_opens_it(data_dir: Path) -> None:
    (data_dir / "log.xml").write_text('<?xml version="1.0"?>\n<rows a="1" />\n')
    await append(data_dir, "write_xml", "log.xml", SECOND)
    text = (data_dir / "log.xml").read_text()
    assert text == '<?xml version="1.0"?>\n<rows a="1">\n<row><id>3</id><name>Ada</name></row>\n</rows>\n'


@pytest.mark.parametrize(
    ("existing", "why"),
    [
        ("<rows><row><id>1</id></row>", "it is not well-formed XML (no element found"),
        ("<rows/><!-- after -->", "its root element is followed by something other than blanks (a comment, say)"),
        (
            '<?xml version="1.0" encoding="ISO-8859-1"?><rows/>',
            "it declares the encoding ISO-8859-1; append writes UTF-8",
        ),
    ],
)
async def test_appending_to_an_xml_file_it_cannot_continue_fails_and_leaves_it_alone(
    data_dir: Path, existing: str, why: str
) -> None:
    (data_dir / "log.xml").write_text(existing, encoding="latin-1")
    run = await append(data_dir, "write_xml", "log.xml", SECOND)
    assert run.status == "FAILED"
    assert f"cannot append to {str(data_dir / 'log.xml')!r}: {why}" in (run.state.error or "")
    assert (data_dir / "log.xml").read_text(encoding="latin-1") == existing
    assert listing(data_dir) == ["log.xml"]


async def test_appending_to_a_missing_xml_file_writes_a_new_document(data_dir: Path) -> None:
    await append(data_dir, "write_xml", "new.xml", SECOND)
    assert (data_dir / "new.xml").read_text() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rows>\n<row><id>3</id><name>Ada</name></row>\n</rows>\n'
    )


# -- the copy, at any chunk boundary ----------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 8, 64, 1 << 20])
def test_an_arrays_elements_are_copied_whole_whatever_the_chunk_size(tmp_path: Path, chunk_size: int) -> None:
    text = '[ [1, [2]] , {"a": "x]"},\n  "]",  [] ]\n  '
    (tmp_path / "a.json").write_text(text)
    pieces: list[bytes] = []
    values: list[Any] = []
    copy_json_array(tmp_path / "a.json", pieces.append, values.append, chunk_size=chunk_size)
    assert b"".join(pieces) == b'[1, [2]] , {"a": "x]"},\n  "]",  []'
    assert values == []


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 1 << 20])
def test_top_level_objects_are_copied_as_values_whatever_the_chunk_size(tmp_path: Path, chunk_size: int) -> None:
    (tmp_path / "o.json").write_text('{"a": 1.50} {"b": [2]}\n')
    values: list[Any] = []
    copy_json_array(tmp_path / "o.json", lambda _: None, values.append, chunk_size=chunk_size)
    assert values == [{"a": decimal.Decimal("1.50")}, {"b": [2]}]


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 13, 64, 1 << 20])
def test_an_xml_document_is_copied_up_to_its_root_end_tag_whatever_the_chunk_size(
    tmp_path: Path, chunk_size: int
) -> None:
    doc = '<?xml version="1.0"?>\n<rows>\n<row a="x>y"><v>1 &lt; 2</v></row>\n<row/>  \n</rows  >\n \n'
    (tmp_path / "d.xml").write_text(doc)
    pieces: list[bytes] = []
    end = copy_xml_document(tmp_path / "d.xml", pieces.append, chunk_size=chunk_size)
    assert end == b"</rows  >"
    assert b"".join(pieces) == b'<?xml version="1.0"?>\n<rows>\n<row a="x>y"><v>1 &lt; 2</v></row>\n<row/>  \n'
