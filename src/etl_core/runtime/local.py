"""Running a job in this process: settings -> planner options -> executor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl_core.config.loader import read_job_file
from etl_core.config.models import JobConfig
from etl_core.graph.plan import Plan
from etl_core.graph.planner import PlanOptions, plan_document, plan_job
from etl_core.runtime.executor import JobExecutor, Listener, RunOptions
from etl_core.runtime.state import ExecutionState
from etl_core.settings import Settings


def plan_options(settings: Settings) -> PlanOptions:
    return PlanOptions(
        data_dir=settings.data_dir,
        allowed_roots=settings.allowed_roots,
        include_test_components=settings.include_test_components,
    )


def run_options(settings: Settings, **overrides: Any) -> RunOptions:
    options = RunOptions(
        data_dir=settings.data_dir,
        allowed_roots=settings.allowed_roots,
        batch_size=settings.batch_size,
        batch_bytes=settings.batch_bytes,
        edge_capacity=settings.edge_capacity,
        columnar=settings.columnar,
        retry_backoff_s=settings.retry_backoff_seconds,
        retry_backoff_max_s=settings.retry_backoff_max_seconds,
        log_dir=settings.log_dir,
        resources={"spill_dir": settings.spill_dir, "join_memory_bytes": settings.join_memory_mb << 20},
        ray_address=settings.ray_address,
    )
    for key, value in overrides.items():
        setattr(options, key, value)
    return options


def plan(job: JobConfig, settings: Settings) -> Plan:
    """Validate and wire `job` (raises ConfigError listing every issue)."""
    return plan_job(job, plan_options(settings))


def plan_file(path: str | Path, settings: Settings) -> Plan:
    """Read, validate and wire a job file, every issue of reading and wiring reported at once."""
    return plan_document(read_job_file(path), plan_options(settings))


async def execute(
    job: JobConfig,
    settings: Settings,
    *,
    environment: str | None = None,
    listener: Listener | None = None,
    job_id: str | None = None,
) -> ExecutionState:
    """Plan and run `job` to completion in this process."""
    executor = JobExecutor(
        plan(job, settings),
        run_options(settings),
        environment=environment or settings.execution_env,
        listener=listener,
        job_id=job_id,
    )
    return await executor.run()
