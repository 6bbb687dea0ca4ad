"""Failures, retries, cancellation and the commit point: no partial output is ever presented as success."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import Field

from etl_core.components.base import ComponentContext, ComponentOptions
from etl_core.components.registry import REGISTRY, Registry, register
from etl_core.config.loader import parse_job
from etl_core.errors import ComponentError
from etl_core.graph.planner import PlanOptions, plan_job
from etl_core.runtime.executor import JobExecutor, RunOptions, _describe
from etl_core.testing import (
    component,
    fields,
    list_sink,
    list_source,
    live_metrics,
    make_job,
    route,
    run_job,
    run_watched,
    wait_until,
)

SCHEMA = fields(n="integer")


def numbers(count: int) -> list[dict[str, int]]:
    return [{"n": i} for i in range(count)]


def slow_source(name: str, count: int = 1000) -> dict[str, Any]:
    """A source that would need many seconds to finish: it is still running when anything else happens."""
    return list_source(name, numbers(count), schema=SCHEMA, batch_size=1, delay_s=0.02)


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_failing_component_cancels_the_rest_and_the_attempt_names_it(data_dir: Path) -> None:
    job = make_job(
        route(list_source("src", numbers(50), schema=SCHEMA, batch_size=1), "out", "picky"),
        list_sink("picky", schema=SCHEMA, fail_after=5),
        route(slow_source("slow"), "out", "slow_sink"),
        list_sink("slow_sink", schema=SCHEMA),
        chain=False,
    )

    run = await run_job(job, data_dir=data_dir)

    attempt = run.state.attempts[0]
    assert run.status == "FAILED"
    assert attempt.status == "FAILED"
    assert attempt.failed_component == "picky"
    assert attempt.error == "component 'picky' (write): failing on purpose after 5 records"
    assert run.state.error == attempt.error
    assert run.metrics("picky").status == "FAILED"
    assert run.metrics("slow").status == "CANCELLED"
    assert run.metrics("slow_sink").status == "CANCELLED"
    assert {"slow", "slow_sink"} <= set(attempt.cancelled_components)
    assert "picky" not in attempt.cancelled_components
    assert all(run.metrics(n).status in ("CANCELLED", "SUCCESS") for n in ("src", "slow", "slow_sink"))


async def test_a_writer_whose_target_cannot_be_created_names_the_component_and_the_path(data_dir: Path) -> None:
    job = make_job(
        list_source("src", numbers(3), schema=SCHEMA),
        component("csv", "write_csv", filepath="missing_dir_is_a_file/out.csv", schema=SCHEMA),
    )
    (data_dir / "missing_dir_is_a_file").write_text("not a directory")

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "FAILED"
    assert run.state.attempts[0].failed_component == "csv"
    assert run.state.error is not None
    assert run.state.error.startswith("component 'csv' (open): cannot write")
    assert "missing_dir_is_a_file' is a file, not a directory" in run.state.error


def test_a_plain_exception_in_a_component_is_described_by_its_type_and_text() -> None:
    assert _describe("csv", ValueError("boom")) == "component 'csv': ValueError: boom"
    assert _describe("csv", KeyError()) == "component 'csv': KeyError: KeyError"


async def test_retries_run_fresh_attempts_until_one_succeeds(data_dir: Path) -> None:
    src = list_source("src", numbers(10), schema=SCHEMA, batch_size=2, fail_after=3, fail_attempts=1)
    route(src, "out", "sink")
    route(src, "out", "csv")
    job = make_job(
        src,
        list_sink("sink", schema=SCHEMA),
        component("csv", "write_csv", filepath="out.csv", schema=SCHEMA),
        chain=False,
        num_of_retries=2,
    )

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "SUCCESS"
    assert [a.status for a in run.state.attempts] == ["FAILED", "SUCCESS"]
    assert run.state.attempts[0].failed_component == "src"
    assert run.state.error is None
    # the second attempt starts from scratch: nothing of the first one is kept or repeated
    assert run.records("sink") == numbers(10)
    assert (data_dir / "out.csv").read_text().splitlines() == ["n", *[str(i) for i in range(10)]]
    assert run.metrics("sink").received == {"in": 10}
    assert run.state.attempts[0].components["sink"].received["in"] < 10
    assert files_in(data_dir) == ["out.csv"]


async def test_retries_stop_after_the_last_attempt_fails(data_dir: Path) -> None:
    job = make_job(
        list_source("src", numbers(4), schema=SCHEMA, fail_after=2),
        list_sink("sink", schema=SCHEMA),
        num_of_retries=2,
    )

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "FAILED"
    assert [a.number for a in run.state.attempts] == [1, 2, 3]
    assert all(a.status == "FAILED" and a.failed_component == "src" for a in run.state.attempts)
    assert run.state.max_attempts == 3


async def test_a_refused_path_is_not_retried(data_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "in.csv").write_text("n\n1\n")
    job = parse_job(
        make_job(
            {
                "name": "read",
                "comp_type": "read_csv",
                "filepath": str(outside / "in.csv"),
                "out_port_schemas": {"out": SCHEMA},
            },
            list_sink("sink", schema=SCHEMA),
            num_of_retries=3,
        )
    )
    # planned while `elsewhere` was allowed; by the time it runs the allowed roots no longer include it
    plan = plan_job(job, PlanOptions(data_dir=data_dir, allowed_roots=(outside,)))
    executor = JobExecutor(plan, RunOptions(data_dir=data_dir, retry_backoff_s=0, retry_backoff_max_s=0))

    state = await executor.run()

    assert state.status == "FAILED"
    assert len(state.attempts) == 1
    assert state.attempts[0].failed_component == "read"
    assert state.error is not None
    assert "outside the allowed roots" in state.error
    assert "(open)" in state.error


async def test_cancelling_a_run_stops_every_component_and_leaves_no_output(data_dir: Path) -> None:
    src = slow_source("src")
    route(src, "out", "csv")
    route(src, "out", "sink")
    job = make_job(
        src,
        component("csv", "write_csv", filepath="out/result.csv", schema=SCHEMA),
        list_sink("sink", schema=SCHEMA),
        chain=False,
        num_of_retries=2,
    )

    async def cancel_midway(executor: JobExecutor) -> None:
        writer = await live_metrics(executor, "csv")
        await wait_until(lambda: writer.received.get("in", 0) >= 3)
        assert executor.state.status == "RUNNING"
        executor.cancel()

    run = await run_watched(job, cancel_midway, data_dir=data_dir)

    assert run.status == "CANCELLED"
    assert len(run.state.attempts) == 1
    assert run.state.attempts[0].status == "CANCELLED"
    assert {n: run.metrics(n).status for n in ("src", "csv", "sink")} == {
        "src": "CANCELLED",
        "csv": "CANCELLED",
        "sink": "CANCELLED",
    }
    assert 3 <= run.metrics("csv").received["in"] < 1000
    assert not (data_dir / "out" / "result.csv").exists()
    assert files_in(data_dir / "out") == []


async def test_cancelling_keeps_the_previous_output_untouched(data_dir: Path) -> None:
    (data_dir / "result.csv").write_text("n\nold\n")
    job = make_job(slow_source("src"), component("csv", "write_csv", filepath="result.csv", schema=SCHEMA))

    async def cancel_midway(executor: JobExecutor) -> None:
        writer = await live_metrics(executor, "csv")
        await wait_until(lambda: writer.received.get("in", 0) >= 2)
        executor.cancel()

    run = await run_watched(job, cancel_midway, data_dir=data_dir)

    assert run.status == "CANCELLED"
    assert (data_dir / "result.csv").read_text() == "n\nold\n"
    assert files_in(data_dir) == ["result.csv"]


async def test_a_cancel_before_the_run_starts_runs_nothing(data_dir: Path) -> None:
    job = make_job(list_source("src", numbers(3), schema=SCHEMA), list_sink("sink", schema=SCHEMA))
    run = await run_job(job, data_dir=data_dir, executor_hook=lambda ex: ex.cancel())

    assert run.status == "CANCELLED"
    assert run.records("sink") == []


async def test_a_failed_run_leaves_an_existing_output_untouched(data_dir: Path) -> None:
    (data_dir / "result.csv").write_text("n\nold\n")
    job = make_job(
        list_source("src", numbers(20), schema=SCHEMA, batch_size=2, fail_after=11),
        component("csv", "write_csv", filepath="result.csv", schema=SCHEMA),
    )

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "FAILED"
    assert run.metrics("csv").received["in"] < 20
    assert run.metrics("csv").status == "CANCELLED"
    assert (data_dir / "result.csv").read_text() == "n\nold\n"
    assert files_in(data_dir) == ["result.csv"]


async def test_a_failed_append_leaves_the_file_as_it_was(data_dir: Path) -> None:
    (data_dir / "log.csv").write_text("n\n1\n2\n")
    job = make_job(
        list_source("src", numbers(20), schema=SCHEMA, batch_size=2, fail_after=7),
        component("csv", "write_csv", filepath="log.csv", mode="append", schema=SCHEMA),
    )

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "FAILED"
    assert (data_dir / "log.csv").read_text() == "n\n1\n2\n"


# -- the commit point --------------------------------------------------------------------------------------------


class GateOptions(ComponentOptions):
    """Options of the test-local `fail_when_written` type."""

    writer: str = Field(description="the writer whose input must be complete before this fails")
    expected: int = Field(description="records the writer must have received")


async def fail_when_written(ctx: ComponentContext[GateOptions]) -> None:
    """Fails once the named writer has received all its input (so it is waiting at its commit point)."""
    executor: JobExecutor = ctx.resources["executor"]
    writer = await live_metrics(executor, ctx.options.writer)
    async with ctx.output("out"):
        await wait_until(lambda: writer.received.get("in", 0) >= ctx.options.expected)
        raise ComponentError("the other branch failed late", stage="run")


@pytest.fixture
def registry() -> Registry:
    """The built-in types plus a type that fails on cue; kept out of the global registry."""
    local = Registry()
    for ctype in REGISTRY.types():
        local.add(ctype)
    register(
        "fail_when_written",
        options=GateOptions,
        inputs=(),
        outputs=("out",),
        summary="fails once a writer has all its input",
        example={},
        infers_output=True,
        registry=local,
    )(fail_when_written)  # type: ignore[arg-type]
    return local


async def test_a_writer_publishes_nothing_when_another_branch_fails_after_it_finished(
    data_dir: Path, registry: Registry
) -> None:
    job = parse_job(
        make_job(
            route(list_source("src", numbers(10), schema=SCHEMA, batch_size=3), "out", "csv"),
            component("csv", "write_csv", filepath="result.csv", schema=SCHEMA),
            {"name": "gate", "comp_type": "fail_when_written", "writer": "csv", "expected": 10},
            chain=False,
        )
    )
    resources: dict[str, Any] = {}
    executor = JobExecutor(
        plan_job(job, PlanOptions(data_dir=data_dir), registry=registry),
        RunOptions(data_dir=data_dir, resources=resources),
    )
    resources["executor"] = executor

    state = await executor.run()

    attempt = state.attempts[0]
    assert state.status == "FAILED"
    assert attempt.failed_component == "gate"
    assert attempt.components["csv"].received == {"in": 10}
    assert attempt.components["csv"].status == "CANCELLED"
    assert not (data_dir / "result.csv").exists()
    assert files_in(data_dir) == []


async def test_a_writer_publishes_only_after_every_component_finished(data_dir: Path) -> None:
    job = make_job(
        route(list_source("src", numbers(10), schema=SCHEMA), "out", "csv"),
        component("csv", "write_csv", filepath="result.csv", schema=SCHEMA),
        route(list_source("slow", numbers(8), schema=SCHEMA, batch_size=1, delay_s=0.03), "out", "sink"),
        list_sink("sink", schema=SCHEMA),
        chain=False,
    )
    seen_hidden: list[bool] = []

    async def look(executor: JobExecutor) -> None:
        writer = await live_metrics(executor, "csv")
        slow = await live_metrics(executor, "slow")
        await wait_until(lambda: writer.received.get("in", 0) == 10)
        # a staged file exists, but the target only appears when the slow branch is done too
        await anyio.sleep(0.01)
        seen_hidden.append(slow.status == "RUNNING" and not (data_dir / "result.csv").exists())
        await wait_until(lambda: executor.state.status != "RUNNING")

    run = await run_watched(job, look, data_dir=data_dir)

    assert run.status == "SUCCESS"
    assert seen_hidden == [True]
    assert (data_dir / "result.csv").read_text().splitlines() == ["n", *[str(i) for i in range(10)]]


async def test_cancelling_during_the_backoff_before_a_retry_ends_the_execution(data_dir: Path) -> None:
    job = make_job(
        list_source("src", numbers(4), schema=SCHEMA, fail_after=1),
        list_sink("sink", schema=SCHEMA),
        num_of_retries=3,
    )

    async def cancel_in_backoff(executor: JobExecutor) -> None:
        first = await live_metrics(executor, "src")
        await wait_until(lambda: first.status == "FAILED" and executor.state.current is not None)
        await wait_until(lambda: executor.state.current is not None and executor.state.current.finished_at is not None)
        executor.cancel()

    # a backoff of a minute: only the cancellation can end this run quickly
    run = await run_watched(job, cancel_in_backoff, data_dir=data_dir, retry_backoff_s=60.0)

    assert run.status == "CANCELLED"
    assert [a.status for a in run.state.attempts] == ["FAILED"]
    assert run.state.error == "cancelled on request"


async def test_a_retried_append_adds_the_rows_exactly_once(data_dir: Path) -> None:
    (data_dir / "log.csv").write_text("n\n100\n")
    job = make_job(
        list_source("src", numbers(6), schema=SCHEMA, batch_size=2, fail_after=4, fail_attempts=1),
        component("csv", "write_csv", filepath="log.csv", mode="append", schema=SCHEMA),
        num_of_retries=1,
    )

    run = await run_job(job, data_dir=data_dir)

    assert [a.status for a in run.state.attempts] == ["FAILED", "SUCCESS"]
    assert (data_dir / "log.csv").read_text() == "n\n100\n" + "".join(f"{i}\n" for i in range(6))
