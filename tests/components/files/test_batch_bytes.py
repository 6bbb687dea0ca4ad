"""A file reader ends a bulk batch on its byte budget (`ETL_BATCH_BYTES`) as well as on its record count, so that
very wide records never make batches of hundreds of megabytes; every record still arrives, in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_core.testing import component, fields, list_sink, make_job, run_job

SCHEMA = fields(id="integer", note="string")
WIDE = 20_000  # characters of text per record
ROWS = 40  # 800 kB of input in all
BUDGET = 100_000


def write_input(directory: Path, fmt: str) -> str:
    notes = [f"{i:03d}" + "x" * WIDE for i in range(ROWS)]
    if fmt == "csv":
        text = "id,note\n" + "".join(f"{i},{note}\n" for i, note in enumerate(notes))
        name = "wide.csv"
    elif fmt == "jsonl":
        text = "".join(json.dumps({"id": i, "note": note}) + "\n" for i, note in enumerate(notes))
        name = "wide.jsonl"
    elif fmt == "json":
        text = json.dumps([{"id": i, "note": note} for i, note in enumerate(notes)])
        name = "wide.json"
    else:
        rows = "".join(f"<row><id>{i}</id><note>{note}</note></row>" for i, note in enumerate(notes))
        text = f"<rows>{rows}</rows>"
        name = "wide.xml"
    (directory / name).write_text(text, encoding="utf-8")
    return name


READERS = {"csv": "read_csv", "jsonl": "read_json", "json": "read_json", "xml": "read_xml"}


@pytest.mark.parametrize("fmt", sorted(READERS))
async def test_wide_records_come_in_several_batches_within_the_byte_budget(tmp_path: Path, fmt: str) -> None:
    name = write_input(tmp_path, fmt)
    options = {"record_tag": "row"} if fmt == "xml" else {}
    job = make_job(
        component("read", READERS[fmt], filepath=name, out_port_schemas={"out": SCHEMA}, **options),
        list_sink("sink", schema=SCHEMA),
    )

    run = await run_job(job, data_dir=tmp_path, batch_bytes=BUDGET)

    assert run.status == "SUCCESS", run.state.error
    assert [r["id"] for r in run.records("sink")] == list(range(ROWS))
    assert all(r["note"].endswith("x" * 10) for r in run.records("sink"))
    read = run.metrics("read")
    # 800 kB in batches of ~100 kB (plus at most one read chunk): never one batch of everything
    assert 4 <= read.batches_out <= ROWS
    assert read.records_out == ROWS


@pytest.mark.parametrize("fmt", sorted(READERS))
async def test_the_same_records_fit_one_batch_under_the_default_budget(tmp_path: Path, fmt: str) -> None:
    name = write_input(tmp_path, fmt)
    options = {"record_tag": "row"} if fmt == "xml" else {}
    job = make_job(
        component("read", READERS[fmt], filepath=name, out_port_schemas={"out": SCHEMA}, **options),
        list_sink("sink", schema=SCHEMA),
    )

    run = await run_job(job, data_dir=tmp_path)

    assert run.status == "SUCCESS", run.state.error
    assert run.metrics("read").batches_out == 1
    assert [r["id"] for r in run.records("sink")] == list(range(ROWS))


async def test_a_record_wider_than_the_budget_still_arrives_whole(tmp_path: Path) -> None:
    huge = "y" * 300_000
    (tmp_path / "huge.csv").write_text(f"id,note\n1,{huge}\n2,short\n", encoding="utf-8")
    job = make_job(
        component("read", "read_csv", filepath="huge.csv", out_port_schemas={"out": SCHEMA}),
        list_sink("sink", schema=SCHEMA),
    )

    run = await run_job(job, data_dir=tmp_path, batch_bytes=BUDGET)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1, "note": huge}, {"id": 2, "note": "short"}]
