"""One local Ray instance for the whole test session, and helpers that run a job as bulk and as bigdata.

Tests that need Ray ask for `ray_cluster` (or use `run_bigdata`); without Ray installed they are skipped with
the reason. Small partition and shuffle sizes make every test file split into several partitions.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from etl_core.runtime.executor import JobExecutor
from etl_core.testing import JobRun, run_job

RunBigdata = Callable[..., Awaitable[JobRun]]

SMALL = {"bigdata_partition_bytes": 4096, "bigdata_shuffle_partitions": 3, "bigdata_max_inflight": 3}


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A local Ray instance (2 CPUs, no dashboard) shared by every test of the session."""
    ray = pytest.importorskip("ray", reason="strategy bigdata runs on Ray, which is not installed (etl-core[ray])")
    started = False
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        started = True
    yield
    if started:
        ray.shutdown()


@pytest.fixture
def run_bigdata(ray_cluster: None) -> RunBigdata:
    """`run_job` for bigdata jobs, with small partitions (`resources` may override them)."""

    async def run(job: dict[str, Any], data_dir: Path, resources: dict[str, Any] | None = None, **kw: Any) -> JobRun:
        hook = kw.pop("executor_hook", None)

        def configure(executor: JobExecutor) -> None:
            executor.options.resources.update({**SMALL, **(resources or {})})
            if hook is not None:
                hook(executor)

        return await run_job(job, data_dir=data_dir, executor_hook=configure, **kw)

    return run
