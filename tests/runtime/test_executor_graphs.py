"""How records flow through graphs of components: chains, fan-out, fan-in and diamonds."""

from __future__ import annotations

from pathlib import Path

from etl_core.testing import component, fields, list_sink, list_source, make_job, route, run_job

SCHEMA = fields(n="integer")


def numbers(count: int, start: int = 0) -> list[dict[str, int]]:
    return [{"n": i} for i in range(start, start + count)]


async def test_linear_chain_delivers_every_record_in_order(data_dir: Path) -> None:
    job = make_job(
        list_source("src", numbers(25), schema=SCHEMA),
        component("csv", "write_csv", filepath="chain.csv", schema=SCHEMA),
        list_sink("out", schema=SCHEMA),
    )

    run = await run_job(job, data_dir=data_dir, batch_size=4)

    assert run.status == "SUCCESS"
    assert run.records("out") == numbers(25)
    assert (data_dir / "chain.csv").read_text().splitlines() == ["n", *[str(i) for i in range(25)]]
    assert run.metrics("csv").received == {"in": 25}
    assert run.metrics("csv").sent["out"] == 25


async def test_fan_out_gives_every_record_to_each_edge_of_one_port(data_dir: Path) -> None:
    src = list_source("src", numbers(30), schema=SCHEMA, batch_size=7)
    route(src, "out", "left")
    route(src, "out", "right")
    job = make_job(src, list_sink("left", schema=SCHEMA), list_sink("right", schema=SCHEMA), chain=False)

    run = await run_job(job, data_dir=data_dir, edge_capacity=1)

    assert run.status == "SUCCESS"
    assert run.records("left") == numbers(30)
    assert run.records("right") == numbers(30)
    # a batch broadcast to two edges is counted once as sent
    assert run.metrics("src").sent["out"] == 30
    assert run.metrics("src").batches_out == 5


async def test_fan_in_merges_two_sources_into_one_port(data_dir: Path) -> None:
    a = route(list_source("a", numbers(20), schema=SCHEMA, batch_size=3), "out", "sink")
    b = route(list_source("b", numbers(15, start=100), schema=SCHEMA, batch_size=4), "out", "sink")
    job = make_job(a, b, list_sink("sink", schema=SCHEMA), chain=False)

    run = await run_job(job, data_dir=data_dir, edge_capacity=1)

    assert run.status == "SUCCESS"
    got = run.records("sink")
    assert sorted(r["n"] for r in got) == [*range(20), *range(100, 115)]
    # merging interleaves sources but keeps each source's own order
    assert [r["n"] for r in got if r["n"] < 100] == list(range(20))
    assert [r["n"] for r in got if r["n"] >= 100] == list(range(100, 115))
    assert run.metrics("sink").received == {"in": 35}


async def test_diamond_with_tiny_edges_completes_without_deadlock(data_dir: Path) -> None:
    src = list_source("src", numbers(500), schema=SCHEMA, batch_size=3)
    route(src, "out", "left")
    route(src, "out", "right")
    left = route(component("left", "write_csv", filepath="left.csv", schema=SCHEMA), "out", "join")
    right = route(component("right", "write_csv", filepath="right.csv", schema=SCHEMA), "out", "join")
    job = make_job(src, left, right, list_sink("join", schema=SCHEMA), chain=False)

    run = await run_job(job, data_dir=data_dir, edge_capacity=1, batch_size=2)

    assert run.status == "SUCCESS"
    got = sorted(r["n"] for r in run.records("join"))
    assert got == sorted([*range(500), *range(500)])
    assert run.metrics("join").received == {"in": 1000}
    assert run.metrics("left").received == {"in": 500}
    assert run.metrics("right").received == {"in": 500}
    assert len((data_dir / "left.csv").read_text().splitlines()) == 501


async def test_independent_branches_in_one_job_all_run(data_dir: Path) -> None:
    job = make_job(
        route(list_source("a", numbers(3), schema=SCHEMA), "out", "sink_a"),
        route(list_source("b", numbers(2), schema=SCHEMA), "out", "sink_b"),
        list_sink("sink_a", schema=SCHEMA),
        list_sink("sink_b", schema=SCHEMA),
        chain=False,
    )

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "SUCCESS"
    assert run.records("sink_a") == numbers(3)
    assert run.records("sink_b") == numbers(2)
