"""read_csv and write_csv inside jobs: typing, nesting, dialects, append and overwrite, empty input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from etl_core.testing import fields, list_sink, list_source, make_job, run_job

PEOPLE = fields(id="integer", name="string", score="float", active="boolean")


def reader(name: str, filepath: str, schema: dict[str, Any] | None, **options: Any) -> dict[str, Any]:
    comp: dict[str, Any] = {"name": name, "comp_type": "read_csv", "filepath": filepath, **options}
    if schema is not None:
        comp["out_port_schemas"] = {"out": schema}
    return comp


def writer(name: str, filepath: str, schema: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"name": name, "comp_type": "write_csv", "filepath": filepath, "in_port_schemas": {"in": schema}, **options}


async def test_read_csv_types_records_and_write_csv_writes_them_back(data_dir: Path) -> None:
    (data_dir / "people.csv").write_text(
        'id,name,score,active\n1,"Lovelace, Ada",9.5,yes\n2,"Bob ""B"" Smith",,false\n'
    )
    job = make_job(reader("read", "people.csv", PEOPLE), writer("write", "out/people.csv", PEOPLE))

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "SUCCESS"
    assert (data_dir / "out" / "people.csv").read_text() == (
        'id,name,score,active\n1,"Lovelace, Ada",9.5,true\n2,"Bob ""B"" Smith",,false\n'
    )


async def test_read_csv_delivers_typed_values_to_the_next_component(data_dir: Path) -> None:
    (data_dir / "people.csv").write_text("id,name,score,active\n1,ada,9.5,t\n2,,-1,N\n")
    job = make_job(reader("read", "people.csv", PEOPLE), list_sink("sink", schema=PEOPLE))

    run = await run_job(job, data_dir=data_dir)

    assert run.records("sink") == [
        {"id": 1, "name": "ada", "score": 9.5, "active": True},
        {"id": 2, "name": None, "score": -1.0, "active": False},
    ]


async def test_read_csv_without_a_schema_reads_every_column_as_text(data_dir: Path) -> None:
    (data_dir / "raw.csv").write_text("a,b\n1,x\n")
    job = make_job(reader("read", "raw.csv", None), list_sink("sink"))

    run = await run_job(job, data_dir=data_dir)

    assert run.records("sink") == [{"a": "1", "b": "x"}]


async def test_a_missing_declared_column_fails_the_job_naming_column_and_file(data_dir: Path) -> None:
    (data_dir / "people.csv").write_text("id,name,score\n1,ada,2\n")
    job = make_job(reader("read", "people.csv", PEOPLE), list_sink("sink", schema=PEOPLE))

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "FAILED"
    assert run.state.attempts[0].failed_component == "read"
    error = run.state.error or ""
    assert error.startswith("component 'read' (read): file ")
    assert str(data_dir / "people.csv") in error
    assert "column(s) active declared in the schema are not in the header (id, name, score)" in error


async def test_a_missing_input_file_fails_with_its_path(data_dir: Path) -> None:
    job = make_job(reader("read", "nope.csv", PEOPLE), list_sink("sink", schema=PEOPLE))

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "FAILED"
    assert run.state.error == f"component 'read' (open): file {str(data_dir / 'nope.csv')!r} does not exist"


@pytest.mark.parametrize(
    ("options", "encoding"),
    [
        ({"separator": ";", "encoding": "latin-1"}, "latin-1"),
        ({"separator": "\t", "encoding": "utf-16"}, "utf-16"),
        ({"separator": "|", "quotechar": "'", "lineterminator": "\r\n"}, "utf-8"),
    ],
)
async def test_dialect_options_apply_to_reading_and_writing(
    data_dir: Path, options: dict[str, Any], encoding: str
) -> None:
    records = [
        {"id": 1, "name": "Zoë; \"Z\" | 'z'", "score": 0.5, "active": True},
        {"id": 2, "name": "tab\there", "score": None, "active": None},
    ]
    read_options = {k: v for k, v in options.items() if k != "lineterminator"}
    job_out = make_job(list_source("src", records, schema=PEOPLE), writer("write", "d.csv", PEOPLE, **options))
    job_in = make_job(reader("read", "d.csv", PEOPLE, **read_options), list_sink("sink", schema=PEOPLE))

    assert (await run_job(job_out, data_dir=data_dir)).status == "SUCCESS"
    run = await run_job(job_in, data_dir=data_dir)

    assert run.records("sink") == records
    raw = (data_dir / "d.csv").read_bytes().decode(encoding)
    assert raw.startswith(options.get("separator", ",").join(["id", "name", "score", "active"]))


async def test_header_false_reads_and_writes_rows_only(data_dir: Path) -> None:
    (data_dir / "in.csv").write_text("1,ada,1.0,true\n")
    job = make_job(reader("read", "in.csv", PEOPLE, header=False), writer("write", "out.csv", PEOPLE, header=False))

    await run_job(job, data_dir=data_dir)

    assert (data_dir / "out.csv").read_text() == "1,ada,1.0,true\n"


async def test_a_custom_null_value_round_trips_nulls_and_empty_strings(data_dir: Path) -> None:
    records = [
        {"id": 1, "name": "", "score": None, "active": None},
        {"id": None, "name": None, "score": 1.0, "active": True},
    ]
    write = make_job(list_source("src", records, schema=PEOPLE), writer("write", "n.csv", PEOPLE, null_value="\\N"))
    read = make_job(reader("read", "n.csv", PEOPLE, null_value="\\N"), list_sink("sink", schema=PEOPLE))

    await run_job(write, data_dir=data_dir)
    run = await run_job(read, data_dir=data_dir)

    assert (data_dir / "n.csv").read_text() == "id,name,score,active\n1,,\\N,\\N\n\\N,\\N,1.0,true\n"
    assert run.records("sink") == records


async def test_an_empty_input_writes_a_header_only_file(data_dir: Path) -> None:
    (data_dir / "empty.csv").write_text("id,name,score,active\n")
    job = make_job(reader("read", "empty.csv", PEOPLE), writer("write", "out.csv", PEOPLE))

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "SUCCESS"
    assert (data_dir / "out.csv").read_text() == "id,name,score,active\n"
    assert run.metrics("write").bytes_written == len("id,name,score,active\n")


NESTED = {
    "fields": [
        {"name": "id", "data_type": "integer"},
        {
            "name": "address",
            "data_type": "object",
            "children": [
                {"name": "city", "data_type": "string"},
                {
                    "name": "geo",
                    "data_type": "object",
                    "children": [{"name": "lat", "data_type": "float"}, {"name": "lon", "data_type": "float"}],
                },
            ],
        },
    ]
}


async def test_nested_fields_are_written_as_dotted_columns_and_read_back_nested(data_dir: Path) -> None:
    records = [
        {"id": 1, "address": {"city": "Paris", "geo": {"lat": 48.85, "lon": 2.35}}},
        {"id": 2, "address": {"city": "Oslo, NO", "geo": {"lat": 59.91, "lon": 10.75}}},
    ]
    write = make_job(list_source("src", records, schema=NESTED), writer("write", "nested.csv", NESTED))
    read = make_job(reader("read", "nested.csv", NESTED), list_sink("sink", schema=NESTED))

    assert (await run_job(write, data_dir=data_dir)).status == "SUCCESS"
    run = await run_job(read, data_dir=data_dir)

    assert (data_dir / "nested.csv").read_text().splitlines() == [
        "id,address.city,address.geo.lat,address.geo.lon",
        "1,Paris,48.85,2.35",
        '2,"Oslo, NO",59.91,10.75',
    ]
    assert run.records("sink") == records


async def test_append_mode_adds_rows_without_a_second_header(data_dir: Path) -> None:
    schema = fields(n="integer")
    first = make_job(
        list_source("src", [{"n": 1}, {"n": 2}], schema=schema), writer("w", "log.csv", schema, mode="append")
    )
    second = make_job(list_source("src", [{"n": 3}], schema=schema), writer("w", "log.csv", schema, mode="append"))

    await run_job(first, data_dir=data_dir)
    await run_job(second, data_dir=data_dir)

    assert (data_dir / "log.csv").read_text() == "n\n1\n2\n3\n"


async def test_append_to_an_empty_existing_file_writes_the_header(data_dir: Path) -> None:
    schema = fields(n="integer")
    (data_dir / "log.csv").write_text("")
    job = make_job(list_source("src", [{"n": 1}], schema=schema), writer("w", "log.csv", schema, mode="append"))

    await run_job(job, data_dir=data_dir)

    assert (data_dir / "log.csv").read_text() == "n\n1\n"


async def test_a_rerun_replaces_the_output_instead_of_appending(data_dir: Path) -> None:
    schema = fields(n="integer")

    for values in ([1, 2, 3], [4]):
        job = make_job(list_source("src", [{"n": v} for v in values], schema=schema), writer("w", "out.csv", schema))
        assert (await run_job(job, data_dir=data_dir)).status == "SUCCESS"

    assert (data_dir / "out.csv").read_text() == "n\n4\n"
    assert sorted(os.listdir(data_dir)) == ["out.csv"]


async def test_a_replaced_output_keeps_the_old_file_permissions(data_dir: Path) -> None:
    schema = fields(n="integer")
    (data_dir / "out.csv").write_text("old\n")
    os.chmod(data_dir / "out.csv", 0o640)
    job = make_job(list_source("src", [{"n": 1}], schema=schema), writer("w", "out.csv", schema))

    await run_job(job, data_dir=data_dir)

    assert (data_dir / "out.csv").stat().st_mode & 0o777 == 0o640
    assert (data_dir / "out.csv").read_text() == "n\n1\n"


async def test_write_csv_passes_records_on_through_its_out_port(data_dir: Path) -> None:
    schema = fields(n="integer")
    job = make_job(
        list_source("src", [{"n": 1}, {"n": 2}], schema=schema),
        writer("w", "out.csv", schema),
        list_sink("after", schema=schema),
    )

    run = await run_job(job, data_dir=data_dir)

    assert run.records("after") == [{"n": 1}, {"n": 2}]
    assert (data_dir / "out.csv").read_text() == "n\n1\n2\n"


async def test_crlf_input_is_read_and_written_with_the_chosen_terminator(data_dir: Path) -> None:
    schema = fields(id="integer", text="string")
    (data_dir / "win.csv").write_bytes(b'id,text\r\n1,"multi\r\nline"\r\n2,plain\r\n')
    job = make_job(reader("read", "win.csv", schema), writer("w", "unix.csv", schema))

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "SUCCESS"
    assert (data_dir / "unix.csv").read_bytes() == b'id,text\n1,"multi\r\nline"\n2,plain\n'


async def test_row_mode_reads_and_writes_the_same_content_as_bulk(data_dir: Path) -> None:
    schema = fields(id="integer", text="string")
    (data_dir / "in.csv").write_text("id,text\n" + "".join(f'{i},"row {i}, with ""quotes"""\n' for i in range(3000)))
    for strategy in ("row", "bulk"):
        job = make_job(reader("read", "in.csv", schema), writer("w", f"{strategy}.csv", schema), strategy=strategy)
        assert (await run_job(job, data_dir=data_dir)).status == "SUCCESS"

    assert (data_dir / "row.csv").read_text() == (data_dir / "bulk.csv").read_text()
    assert (data_dir / "row.csv").read_text() == (data_dir / "in.csv").read_text()
