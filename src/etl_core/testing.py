"""Small helpers that keep component and job tests to a few lines.

job = make_job(list_source("src", [{"n": 1}], schema=fields(n="integer")),
               component("keep", "filter", rule={...}, schema=fields(n="integer")),
               list_sink("out", schema=fields(n="integer")))
run = await run_job(job, data_dir=tmp_path)
assert run.records("out") == [{"n": 1}]
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from etl_core.config.loader import parse_job
from etl_core.config.models import JobConfig
from etl_core.graph.planner import PlanOptions, plan_job
from etl_core.observability.metrics import ComponentMetrics
from etl_core.runtime.executor import JobExecutor, RunOptions
from etl_core.runtime.state import ExecutionState

Json = dict[str, Any]


def fields(**types: str) -> Json:
    """`fields(id="integer", name="string")` -> a schema object with nullable fields."""
    return {"fields": [{"name": n, "data_type": t, "nullable": True} for n, t in types.items()]}


def component(name: str, comp_type: str, *, schema: Json | None = None, **options: Any) -> Json:
    """A component config; `schema` is used for every in and out port the type has by default."""
    comp: Json = {"name": name, "comp_type": comp_type, **options}
    if schema is not None:
        comp.setdefault("in_port_schemas", {"in": schema})
        comp.setdefault("out_port_schemas", {"out": schema})
    return comp


def list_source(name: str, records: list[Json], *, schema: Json | None = None, **options: Any) -> Json:
    comp: Json = {"name": name, "comp_type": "test_source", "records": records, **options}
    if schema is not None:
        comp["out_port_schemas"] = {"out": schema}
    return comp


def list_sink(name: str, *, schema: Json | None = None, **options: Any) -> Json:
    comp: Json = {"name": name, "comp_type": "test_sink", **options}
    if schema is not None:
        comp["in_port_schemas"] = {"in": schema}
    return comp


def route(src: Json, port: str, dst: str, in_port: str | None = None) -> Json:
    """Add an edge `src.port -> dst(.in_port)` and return `src`."""
    edge: Json = {"to": dst} if in_port is None else {"to": dst, "in_port": in_port}
    src.setdefault("routes", {}).setdefault(port, []).append(edge)
    return src


def make_job(*components: Json, chain: bool = True, strategy: str = "bulk", **job: Any) -> Json:
    """A job document; with `chain`, each component's `out` (or first port) feeds the next one."""
    comps = [dict(c) for c in components]
    if chain:
        for a, b in itertools.pairwise(comps):
            if "routes" not in a:
                port = "pass" if a["comp_type"] == "filter" else "out"
                route(a, port, b["name"])
    return {"name": job.pop("name", "test job"), "strategy_type": strategy, "components": comps, **job}


@dataclass(slots=True)
class JobRun:
    """What a test run gives back: the execution state and what every `test_sink` collected."""

    state: ExecutionState
    collected: dict[str, list[Json]]

    @property
    def status(self) -> str:
        return self.state.status

    def records(self, sink: str) -> list[Json]:
        return self.collected.get(sink, [])

    def metrics(self, component: str) -> Any:
        attempt = self.state.current
        assert attempt is not None
        return attempt.components[component]


async def run_job(
    job: Json | JobConfig,
    *,
    data_dir: Path | str = ".",
    allowed_roots: tuple[Path, ...] = (),
    batch_size: int = 10_000,
    batch_bytes: int = 4 << 20,
    edge_capacity: int = 2,
    columnar: bool = True,
    retry_backoff_s: float = 0.0,
    log_dir: Path | None = None,
    executor_hook: Any = None,
) -> JobRun:
    """Plan and run a job in this process (test components allowed, no backoff between attempts)."""
    config = job if isinstance(job, JobConfig) else parse_job(job)
    root = Path(data_dir)
    plan = plan_job(config, PlanOptions(data_dir=root, allowed_roots=allowed_roots))
    resources: dict[str, Any] = {}
    options = RunOptions(
        data_dir=root,
        allowed_roots=allowed_roots,
        batch_size=batch_size,
        batch_bytes=batch_bytes,
        edge_capacity=edge_capacity,
        columnar=columnar,
        retry_backoff_s=retry_backoff_s,
        retry_backoff_max_s=retry_backoff_s,
        log_dir=log_dir,
        resources=resources,
    )
    executor = JobExecutor(plan, options)
    if executor_hook is not None:
        executor_hook(executor)
    state = await executor.run()
    return JobRun(state, resources.get("collected", {}))


async def wait_until(predicate: Callable[[], bool], *, within_s: float = 10.0) -> None:
    """Poll `predicate` until it holds; a run that never gets there fails with TimeoutError instead of hanging."""
    with anyio.fail_after(within_s):
        while not predicate():  # noqa: ASYNC110 - live metrics are plain state that no event signals
            await anyio.sleep(0.002)


async def live_metrics(executor: JobExecutor, name: str) -> ComponentMetrics:
    """The named component's metrics in the attempt running now (waits until an attempt has started)."""
    await wait_until(lambda: executor.state.current is not None)
    attempt = executor.state.current
    assert attempt is not None
    return attempt.components[name]


async def run_watched(job: Json | JobConfig, watch: Callable[[JobExecutor], Awaitable[None]], **kw: Any) -> JobRun:
    """`run_job` with `watch(executor)` running beside it (to look at live metrics, or to cancel the run)."""
    grabbed: list[JobExecutor] = []
    result: list[JobRun] = []

    async def runner() -> None:
        result.append(await run_job(job, executor_hook=grabbed.append, **kw))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner)
            await wait_until(lambda: bool(grabbed))
            await watch(grabbed[0])
    return result[0]
