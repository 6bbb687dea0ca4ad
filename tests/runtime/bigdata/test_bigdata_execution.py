"""Executions of bigdata jobs: failures name the component, outputs stay atomic, retries, cancellation, logs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from etl_core.observability.logging import configure_logging
from etl_core.runtime.executor import JobExecutor
from etl_core.testing import (
    JobRun,
    component,
    fields,
    list_sink,
    list_source,
    live_metrics,
    make_job,
    route,
    wait_until,
)

RunBigdata = Callable[..., Awaitable[JobRun]]
S = fields(id="integer", city="string", qty="integer")


def write_rows(path: Path, count: int, bad: int | None = None) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "city", "qty"])
        for i in range(count):
            out.writerow([i, ["Berlin", "Paris", "Rome"][i % 3], "many" if i == bad else i % 5])


def takes(schema: dict[str, Any], name: str, comp_type: str, **options: Any) -> dict[str, Any]:
    return component(name, comp_type, in_port_schemas={"in": schema}, **options)


def copy_job(target: str, source: str = "in.csv", **writer: Any) -> dict[str, Any]:
    return make_job(
        component("src", "read_csv", filepath=source, out_port_schemas={"out": S}),
        takes(S, "keep", "filter", rule={"column": "qty", "operator": ">=", "value": 1}),
        takes(S, "dst", "write_csv", filepath=target, **writer),
        strategy="bigdata",
    )


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("target", ["out.csv", "out_dir"])
async def test_a_bad_record_fails_the_source_with_its_line_and_leaves_no_output(
    run_bigdata: RunBigdata, data_dir: Path, target: str
) -> None:
    write_rows(data_dir / "in.csv", 600, bad=470)

    run = await run_bigdata(copy_job(target), data_dir)

    attempt = run.state.attempts[0]
    assert run.status == "FAILED"
    assert attempt.failed_component == "src"
    assert attempt.error is not None
    assert attempt.error.startswith("component 'src' (run): line 472:")
    assert "qty" in attempt.error
    assert run.metrics("src").status == "FAILED"
    assert listing(data_dir) == ["in.csv"]  # no output, no staging directory


async def test_a_failed_attempt_is_retried_from_a_clean_state(run_bigdata: RunBigdata, data_dir: Path) -> None:
    n = fields(n="integer")
    job = make_job(
        list_source("src", [{"n": i} for i in range(40)], schema=n, batch_size=10, fail_after=25, fail_attempts=1),
        takes(n, "dst", "write_json", filepath="out_dir"),
        strategy="bigdata",
        num_of_retries=1,
    )

    run = await run_bigdata(job, data_dir)

    first, second = run.state.attempts
    assert (first.status, first.failed_component) == ("FAILED", "src")
    assert "failing on purpose after 25 records" in (first.error or "")
    assert second.status == "SUCCESS"
    assert run.status == "SUCCESS"
    lines = (data_dir / "out_dir" / "part-00000.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["n"] for line in lines] == list(range(40))
    assert run.metrics("dst").records_in == 40


async def test_live_metrics_grow_while_a_partition_runs_and_cancelling_stops_it_without_output(
    run_bigdata: RunBigdata, data_dir: Path
) -> None:
    n = fields(n="integer")
    job = make_job(
        list_source("src", [{"n": i} for i in range(2000)], schema=n, batch_size=1, delay_s=0.02),
        takes(n, "dst", "write_json", filepath="out_dir"),
        strategy="bigdata",
    )
    grabbed: list[JobExecutor] = []
    seen: list[int] = []

    async def cancel_when_running() -> None:
        await wait_until(lambda: bool(grabbed))
        source = await live_metrics(grabbed[0], "src")
        await wait_until(lambda: source.records_out > 0, within_s=60)  # counted while the partition still runs
        seen.append(source.records_out)
        grabbed[0].cancel()

    with anyio.fail_after(90):
        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel_when_running)
            run = await run_bigdata(job, data_dir, executor_hook=grabbed.append)

    assert 0 < seen[0] < 2000
    assert run.status == "CANCELLED"
    assert run.state.attempts[0].status == "CANCELLED"
    assert {run.metrics(n).status for n in ("src", "dst")} == {"CANCELLED"}
    assert listing(data_dir) == []


async def test_append_adds_parts_after_the_existing_ones_and_overwrite_replaces_them(
    run_bigdata: RunBigdata, data_dir: Path
) -> None:
    write_rows(data_dir / "in.csv", 600)
    (data_dir / "out_dir").mkdir()
    (data_dir / "out_dir" / "part-00000.csv").write_text("id,city,qty\n")
    (data_dir / "out_dir" / "_SUCCESS").write_text("")

    appended = await run_bigdata(copy_job("out_dir", mode="append"), data_dir)
    after_append = listing(data_dir / "out_dir")
    overwritten = await run_bigdata(copy_job("out_dir"), data_dir)

    assert appended.status == overwritten.status == "SUCCESS"
    new_parts = [name for name in after_append if name.startswith("part-")]
    assert len(new_parts) > 2
    assert new_parts == [f"part-{i:05d}.csv" for i in range(len(new_parts))]
    assert (data_dir / "out_dir" / "_SUCCESS").exists()  # other files are left alone
    final_parts = [name for name in listing(data_dir / "out_dir") if name.startswith("part-")]
    assert len(final_parts) == len(new_parts) - 1
    rows = [r for part in final_parts for r in csv.DictReader(open(data_dir / "out_dir" / part, encoding="utf-8"))]  # noqa: SIM115
    assert len(rows) == overwritten.metrics("dst").records_in == 480


async def test_an_empty_input_still_publishes_one_valid_empty_part(run_bigdata: RunBigdata, data_dir: Path) -> None:
    write_rows(data_dir / "in.csv", 0)

    run = await run_bigdata(copy_job("out_dir"), data_dir)

    assert run.status == "SUCCESS", run.state.error
    assert listing(data_dir / "out_dir") == ["part-00000.csv"]
    assert (data_dir / "out_dir" / "part-00000.csv").read_text(encoding="utf-8") == "id,city,qty\n"


async def test_a_missing_source_file_fails_the_source_before_anything_runs(
    run_bigdata: RunBigdata, data_dir: Path
) -> None:
    run = await run_bigdata(copy_job("out.csv", source="nowhere.csv"), data_dir)

    attempt = run.state.attempts[0]
    assert (run.status, attempt.failed_component) == ("FAILED", "src")
    assert "does not exist" in (attempt.error or "")
    assert listing(data_dir) == []


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("json", "INFO", buffer)
    yield buffer
    configure_logging()


async def test_lifecycle_events_of_ray_components_carry_the_run_context_and_counters(
    run_bigdata: RunBigdata, data_dir: Path, captured: io.StringIO
) -> None:
    write_rows(data_dir / "in.csv", 600)

    run = await run_bigdata(copy_job("out_dir"), data_dir)

    logged = [json.loads(line) for line in captured.getvalue().splitlines()]
    finished = {e["component"]: e for e in logged if e["event"] == "component_finished"}
    assert set(finished) == {"src", "keep", "dst"}
    assert finished["src"]["comp_type"] == "read_csv"
    assert (finished["src"]["records_out"], finished["keep"]["records_out"], finished["dst"]["records_in"]) == (
        600,
        480,
        480,
    )
    assert finished["keep"]["dismissed"] == 120
    segments = [e for e in logged if e["event"] == "bigdata_segment_finished"]
    assert [s["head"] for s in segments] == ["src"]
    assert segments[0]["partitions"] > 1
    for event in logged:
        assert event["execution_id"] == run.state.execution_id
    assert run.state.totals()["rows_written"] == 480


async def test_an_unrecorded_part_writer_forwards_written_records_to_its_out_port(
    run_bigdata: RunBigdata, data_dir: Path
) -> None:
    write_rows(data_dir / "in.csv", 300)
    job = make_job(
        component("src", "read_csv", filepath="in.csv", out_port_schemas={"out": S}),
        takes(S, "dst", "write_json", filepath="out_dir", out_port_schemas={"out": S}),
        list_sink("seen", schema=S),
        strategy="bigdata",
    )

    run = await run_bigdata(job, data_dir)

    assert run.status == "SUCCESS", run.state.error
    assert sorted(r["id"] for r in run.records("seen")) == list(range(300))
    assert run.metrics("dst").records_out == 300


async def test_a_failing_driver_component_cancels_the_ray_partitions(run_bigdata: RunBigdata, data_dir: Path) -> None:
    write_rows(data_dir / "in.csv", 600)
    job = make_job(
        component("src", "read_csv", filepath="in.csv", out_port_schemas={"out": S}),
        route(takes(S, "split", "split", extra_output_ports=["a", "b"]), "a", "picky"),
        list_sink("picky", schema=S, fail_after=10),
        chain=False,
        strategy="bigdata",
    )
    route(job["components"][0], "out", "split")
    route(job["components"][1], "b", "dst")
    job["components"].append(takes(S, "dst", "write_json", filepath="out_dir"))

    run = await run_bigdata(job, data_dir)

    attempt = run.state.attempts[0]
    assert (run.status, attempt.failed_component) == ("FAILED", "picky")
    assert "failing on purpose" in (attempt.error or "")
    assert run.metrics("picky").status == "FAILED"
    assert {run.metrics(n).status for n in ("src", "split", "dst")} <= {"CANCELLED", "SUCCESS"}
    assert listing(data_dir) == ["in.csv"]


async def test_a_relative_data_directory_means_the_drivers_directory_on_every_worker(
    run_bigdata: RunBigdata, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_rows(data_dir / "in.csv", 600)
    monkeypatch.chdir(data_dir.parent)  # the Ray workers keep the working directory they started in

    run = await run_bigdata(copy_job("out_dir"), Path(data_dir.name))

    assert run.status == "SUCCESS", run.state.error
    assert run.metrics("dst").records_in == 480
    assert len(listing(data_dir / "out_dir")) > 1
