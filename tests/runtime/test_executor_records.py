"""Record errors, metrics per port and batch, and how strategies shape batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl_core.runtime.executor import JobExecutor
from etl_core.testing import fields, list_sink, list_source, live_metrics, make_job, route, run_job, run_watched

SCHEMA = fields(n="integer")
PEOPLE = fields(id="integer", name="string")


def numbers(count: int) -> list[dict[str, int]]:
    return [{"n": i} for i in range(count)]


def read_csv(name: str, filepath: str, schema: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"name": name, "comp_type": "read_csv", "filepath": filepath, "out_port_schemas": {"out": schema}, **options}


def people_file(data_dir: Path) -> None:
    (data_dir / "people.csv").write_text("id,name\n1,ada\nx2,bob\n3,cy\n4\n5,eve\n")


async def test_record_errors_go_to_the_wired_error_port_and_the_job_succeeds(data_dir: Path) -> None:
    people_file(data_dir)
    src = route(read_csv("src", "people.csv", PEOPLE), "out", "good")
    route(src, "error", "dead")
    job = make_job(src, list_sink("good", schema=PEOPLE), list_sink("dead"), chain=False)

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "SUCCESS"
    assert run.records("good") == [{"id": 1, "name": "ada"}, {"id": 3, "name": "cy"}, {"id": 5, "name": "eve"}]
    assert sorted(run.records("dead"), key=lambda d: d["line"]) == [
        {
            "record": {"id": "x2", "name": "bob"},
            "error": "field 'id': 'x2' is not an integer (integer)",
            "component": "src",
            "line": 3,
        },
        {"record": "4", "error": "expected 2 fields, got 1", "component": "src", "line": 5},
    ]
    metrics = run.metrics("src")
    assert metrics.errors == 2
    assert metrics.sent == {"out": 3, "error": 2}


async def test_without_an_error_port_the_first_record_error_fails_the_component(data_dir: Path) -> None:
    people_file(data_dir)
    job = make_job(read_csv("src", "people.csv", PEOPLE), list_sink("good", schema=PEOPLE))

    run = await run_job(job, data_dir=data_dir)

    attempt = run.state.attempts[0]
    assert run.status == "FAILED"
    assert attempt.failed_component == "src"
    assert attempt.error == "component 'src' (run): line 3: field 'id': 'x2' is not an integer (integer)"
    assert run.metrics("src").status == "FAILED"


async def test_metrics_count_records_per_port_batches_and_dismissed(data_dir: Path) -> None:
    job = make_job(
        route(list_source("src", numbers(25), schema=SCHEMA, batch_size=10), "out", "sink"),
        list_sink("sink", schema=SCHEMA),
        # a source with nothing connected: what it sends is dismissed, not lost silently
        list_source("lonely", numbers(7), schema=SCHEMA, batch_size=3),
        chain=False,
    )

    run = await run_job(job, data_dir=data_dir)

    src, sink, lonely = run.metrics("src"), run.metrics("sink"), run.metrics("lonely")
    assert run.status == "SUCCESS"
    assert (src.sent["out"], src.batches_out, src.records_in, src.dismissed) == (25, 3, 0, 0)
    assert (sink.received, sink.batches_in, sink.records_out) == ({"in": 25}, 3, 0)
    assert (lonely.dismissed, lonely.sent["out"], lonely.batches_out) == (7, 0, 0)
    assert all(m.status == "SUCCESS" and m.finished_at is not None for m in (src, sink, lonely))
    snapshot = run.state.snapshot()
    assert snapshot["totals"]["rows_read"] == 25
    assert snapshot["totals"]["rows_written"] == 25
    assert snapshot["attempts"][0]["components"]["sink"]["received"] == {"in": 25}


async def test_read_csv_counts_bytes_read_and_write_csv_bytes_written(data_dir: Path) -> None:
    (data_dir / "in.csv").write_text("n\n1\n2\n3\n")
    job = make_job(
        read_csv("src", "in.csv", SCHEMA),
        {"name": "csv", "comp_type": "write_csv", "filepath": "out.csv", "in_port_schemas": {"in": SCHEMA}},
    )

    run = await run_job(job, data_dir=data_dir)

    assert run.metrics("src").bytes_read == 8
    assert run.metrics("csv").bytes_written == (data_dir / "out.csv").stat().st_size == 8


async def test_bulk_batches_hold_up_to_batch_size_records(data_dir: Path) -> None:
    (data_dir / "in.csv").write_text("n\n" + "".join(f"{i}\n" for i in range(25)))
    job = make_job(read_csv("src", "in.csv", SCHEMA), list_sink("sink", schema=SCHEMA))

    run = await run_job(job, data_dir=data_dir, batch_size=10)

    assert run.records("sink") == numbers(25)
    assert run.metrics("src").batches_out == 3
    assert run.metrics("sink").batches_in == 3


async def test_bulk_read_csv_sends_one_batch_for_a_file_under_batch_size(data_dir: Path) -> None:
    write_wide_file(data_dir / "wide.csv", 5000)
    job = make_job(read_csv("src", "wide.csv", WIDE), list_sink("sink", schema=WIDE), strategy="bulk")

    run = await run_job(job, data_dir=data_dir, batch_size=10_000)

    assert len(run.records("sink")) == 5000
    assert run.metrics("src").batches_out == 1


async def test_row_mode_read_csv_sends_what_it_has_instead_of_filling_a_batch(data_dir: Path) -> None:
    write_wide_file(data_dir / "wide.csv", 5000)
    job = make_job(read_csv("src", "wide.csv", WIDE), list_sink("sink", schema=WIDE), strategy="row")

    run = await run_job(job, data_dir=data_dir, batch_size=10_000)

    records = run.records("sink")
    assert [r["id"] for r in records] == list(range(5000))
    # ~230 KB read in 64 KiB chunks: each chunk's rows leave at once
    assert run.metrics("src").batches_out >= 3
    assert run.metrics("sink").batches_in == run.metrics("src").batches_out


WIDE = fields(id="integer", text="string")


def write_wide_file(path: Path, rows: int) -> None:
    path.write_text("id,text\n" + "".join(f"{i},{'x' * 40}\n" for i in range(rows)))


async def test_row_mode_delivers_first_records_while_the_source_is_still_running(data_dir: Path) -> None:
    job = make_job(
        list_source("src", numbers(12), schema=SCHEMA, batch_size=1, delay_s=0.02),
        list_sink("sink", schema=SCHEMA),
        strategy="row",
    )
    early: list[int] = []

    async def look(executor: JobExecutor) -> None:
        src = await live_metrics(executor, "src")
        sink = await live_metrics(executor, "sink")
        while executor.state.status in ("PENDING", "RUNNING"):
            if src.status == "RUNNING" and sink.received.get("in", 0) > 0:
                early.append(sink.received["in"])
                return
            await anyio_sleep()

    run = await run_watched(job, look, data_dir=data_dir)

    assert run.status == "SUCCESS"
    assert len(early) == 1
    assert 1 <= early[0] < 12
    assert run.records("sink") == numbers(12)
    assert run.metrics("sink").batches_in == 12


async def anyio_sleep() -> None:
    import anyio

    await anyio.sleep(0.002)
