"""read_json on hostile files: nesting deep enough to exhaust memory, integers beyond 64 bits, UTF-16 files,
bytes that are not UTF-8, lines that are JSON but not records of the schema, and directories mixing good and bad
files. Every failure names the file and where in it (byte, line or record); every record that can be isolated
goes to the `error` port and the rest flows (job-config.md §4, §5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.json_depth import NestingGuard, TooDeep
from etl_core.testing import component, fields, list_sink, list_source, make_job, route, run_job

Json = dict[str, Any]
BIG = 123456789012345678901234567890


async def read(data_dir: Path, path: str, schema: Json | None = None, *, errors: bool, **kw: Any) -> Any:
    strategy = kw.pop("strategy", "bulk")
    comp = route(component("read", "read_json", filepath=path), "out", "sink")
    if schema is not None:
        comp["out_port_schemas"] = {"out": schema}
    comps = [comp, list_sink("sink")]
    if errors:
        route(comp, "error", "bad")
        comps.append(list_sink("bad"))
    return await run_job(make_job(*comps, chain=False, strategy=strategy), data_dir=data_dir, **kw)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("strategy", ["bulk", "row"])
async def test_an_array_nested_thousands_deep_fails_at_its_byte_before_the_parser_can_exhaust_memory(
    data_dir: Path, strategy: str
) -> None:
    # ijson's memory grows with the square of the depth: 100,000 levels (a 200 KB file) would take gigabytes
    (data_dir / "deep.json").write_bytes(b'[{"id": 1}, {"v": ' + nested(100_000) + b"}]")

    run = await read(data_dir, "deep.json", errors=True, strategy=strategy)

    assert run.status == "FAILED"
    path = str(data_dir / "deep.json")
    # `[` (1), `{` (2), then 1023 more brackets from byte 18: the one at byte 1040 opens level 1025
    assert run.state.error == (
        f"component 'read' (read): file {path!r}: values are nested more than 1024 levels deep at byte 1040"
    )


async def test_top_level_objects_nested_thousands_deep_fail_the_same_way(data_dir: Path) -> None:
    (data_dir / "deep.json").write_bytes(b'{"id": 1}\n{"v": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001)

    run = await read(data_dir, "deep.json", errors=True)

    assert run.status == "FAILED"
    assert "values are nested more than 1024 levels deep at byte" in (run.state.error or "")


async def test_an_array_nested_a_thousand_deep_still_reads(data_dir: Path) -> None:
    (data_dir / "ok.json").write_bytes(b'[{"id": 1, "v": ' + nested(1000) + b"}]")

    run = await read(data_dir, "ok.json", errors=False)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink")[0]["id"] == 1


def test_the_nesting_guard_ignores_brackets_in_strings_and_escaped_quotes_split_across_chunks() -> None:
    text = json.dumps([{"a": "[[[[{{{{", "b": 'say \\"[[[[[\\"', "c": "\\\\", "d": [[1]]}]).encode()
    guard = NestingGuard(limit=4)
    for i in range(len(text)):  # one byte at a time: every string, escape and bracket is cut somewhere
        guard.feed(text[i : i + 1])
    assert guard.depth == 0

    with pytest.raises(TooDeep) as info:
        NestingGuard(limit=4).feed(b'[{"x": "[[[[[[", "y": [[[[1]]]]}]')
    assert info.value.offset == 24  # the third `[` of "y": level 5, after the outer `[` and `{`


async def test_integers_beyond_64_bits_in_an_array_are_read_exactly(data_dir: Path) -> None:
    # yajl parses such an integer as an overflow; the file is read again with exact numbers past what was sent
    doc = [{"id": 1, "f": 1.5}, {"id": BIG, "f": 2.25}, {"id": -BIG, "f": 1e300}]
    (data_dir / "big.json").write_text(json.dumps(doc))

    run = await read(data_dir, "big.json", errors=False, batch_size=1)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == doc
    assert [type(r["f"]) for r in run.records("sink")] == [float, float, float]


async def test_integers_beyond_64_bits_in_json_lines_are_read_exactly_not_as_floats(data_dir: Path) -> None:
    (data_dir / "big.jsonl").write_text(
        f'{{"id": 1, "f": 0.00123456789012345678901}}\n{{"id": {BIG}}}\n{{"id": -9223372036854775809}}\n'
        '{"id": 18446744073709551616}\n'
    )

    run = await read(data_dir, "big.jsonl", fields(id="integer"), errors=False)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1}, {"id": BIG}, {"id": -9223372036854775809}, {"id": 18446744073709551616}]


async def test_a_file_write_json_wrote_with_a_big_integer_reads_back(data_dir: Path) -> None:
    schema = fields(id="integer")
    write = component("write", "write_json", filepath="ids.json", in_port_schemas={"in": schema})
    written = await run_job(make_job(list_source("src", [{"id": BIG}], schema=schema), write), data_dir=data_dir)
    assert written.status == "SUCCESS", written.state.error

    run = await read(data_dir, "ids.json", schema, errors=False)

    assert run.records("sink") == [{"id": BIG}]


@pytest.mark.parametrize("name", ["wide.json", "wide.jsonl"])
async def test_a_utf16_json_file_fails_saying_json_must_be_utf8(data_dir: Path, name: str) -> None:
    (data_dir / name).write_bytes('{"id": 1}\n'.encode("utf-16"))

    run = await read(data_dir, name, errors=True)

    assert run.status == "FAILED"
    path = str(data_dir / name)
    assert run.state.error == (
        f"component 'read' (read): file {path!r} is UTF-16 (it starts with a UTF-16 byte order mark); "
        "JSON files must be UTF-8"
    )


async def test_a_json_line_that_is_not_utf8_is_a_record_error_naming_the_byte_and_column(data_dir: Path) -> None:
    (data_dir / "people.jsonl").write_bytes(b'{"id": 1}\n{"name": "caf\xe9"}\n{"id": 3}\n')

    run = await read(data_dir, "people.jsonl", errors=True)

    assert run.records("sink") == [{"id": 1}, {"id": 3}]
    assert run.records("bad") == [
        {
            "record": '{"name": "caf\ufffd"}',
            "error": "not valid JSON: the line is not UTF-8: byte 0xE9 at column 14 (invalid continuation byte)",
            "component": "read",
            "line": 2,
        }
    ]


async def test_json_lines_that_do_not_fit_the_schema_fail_as_record_errors_not_as_another_format(
    data_dir: Path,
) -> None:
    (data_dir / "ids.jsonl").write_text('{"id": "one"}\n{"id": "two"}\n')

    run = await read(data_dir, "ids.jsonl", fields(id="integer"), errors=False)

    assert run.status == "FAILED"
    assert run.state.error == "component 'read' (run): line 1: field 'id': 'one' is not an integer (integer)"


async def test_a_directory_of_json_files_routes_each_bad_record_with_the_name_of_its_file(data_dir: Path) -> None:
    (data_dir / "in").mkdir()
    (data_dir / "in" / "a.jsonl").write_text('{"id": 1}\n{"id": "x"}\n')
    (data_dir / "in" / "b.jsonl").write_text('{oops\n{"id": 2}\n')

    run = await read(data_dir, "in", fields(id="integer"), errors=True)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1}, {"id": 2}]
    assert [(e["error"], e["line"]) for e in run.records("bad")] == [
        ("file 'a.jsonl': field 'id': 'x' is not an integer (integer)", 2),
        ("file 'b.jsonl': not valid JSON: unexpected character, expected a string key at column 2", 1),
    ]


async def test_a_bad_record_in_a_directory_fails_the_run_naming_the_file_and_line_without_an_error_port(
    data_dir: Path,
) -> None:
    (data_dir / "in").mkdir()
    (data_dir / "in" / "a.jsonl").write_text('{"id": 1}\n')
    (data_dir / "in" / "b.jsonl").write_text('{"id": 2}\n{"id": "y"}\n')

    run = await read(data_dir, "in", fields(id="integer"), errors=False)

    assert run.status == "FAILED"
    path = str(data_dir / "in" / "b.jsonl")
    assert (
        run.state.error
        == f"component 'read' (read): file {path!r} line 2: " + "field 'id': 'y' is not an integer (integer)"
    )


async def test_appending_to_a_file_of_objects_nested_thousands_deep_is_refused(data_dir: Path) -> None:
    (data_dir / "log.json").write_bytes(b'{"v": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001)
    schema = fields(id="integer")
    write = component("write", "write_json", filepath="log.json", mode="append", in_port_schemas={"in": schema})

    run = await run_job(make_job(list_source("src", [{"id": 1}], schema=schema), write), data_dir=data_dir)

    assert run.status == "FAILED"
    path = str(data_dir / "log.json")
    assert f"cannot append to {path!r}: its values are nested more than 1024 levels deep at byte" in (
        run.state.error or ""
    )


async def test_json_lines_that_end_with_cr_only_are_a_record_error_that_says_so(data_dir: Path) -> None:
    (data_dir / "mac.jsonl").write_bytes(b'{"id": 1}\r{"id": 2}\r')

    run = await read(data_dir, "mac.jsonl", errors=True)

    assert run.records("sink") == []
    assert [(e["error"], e["line"]) for e in run.records("bad")] == [
        (
            "not valid JSON: unexpected content after document at column 11 "
            "(its lines seem to end with CR only; JSON lines end with LF)",
            1,
        )
    ]
