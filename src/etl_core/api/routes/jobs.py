"""Jobs: the config documents, validated by the planner and stored exactly as submitted.

Decoding and planning run in a worker thread (`services.executions.planning`): a config of thousands of
components takes seconds to plan, and no other request waits for it. Deleting a job holds off schedule changes
and starts of the job, so no schedule or execution can take hold of a job that is going away; a job deleted or
replaced concurrently by another request answers 404 to the one that lost.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint
from quart_schema import document_request, document_response, tag

from etl_core.api.errors import ApiError, decode_json_body, request_text
from etl_core.api.models import ErrorBody, JobCreated, JobDeleted, JobSummary, ValidationResult
from etl_core.api.security import requires
from etl_core.api.state import state
from etl_core.api.views import job_document, job_summary
from etl_core.auth.scopes import JOBS_READ, JOBS_WRITE
from etl_core.config.models import JobConfig
from etl_core.errors import ConfigError, NotFoundError
from etl_core.graph.plan import Plan
from etl_core.graph.planner import plan_document
from etl_core.runtime.local import plan_options
from etl_core.scheduling import SchedulerService
from etl_core.services.executions import planning, recordable_issues
from etl_core.store.models import JobRecord

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


async def _validated() -> tuple[str, JobConfig, Plan]:
    """The request's job document: its text, its config and its plan (ConfigError -> 422 with every issue)."""
    text = await request_text()
    if not text.strip():
        raise ApiError(400, "MALFORMED_REQUEST", "the request needs a job config as its JSON body")
    options = plan_options(state().settings)
    plan = await planning(lambda: plan_document(decode_json_body(text), options))
    unrecordable = recordable_issues(plan.job)
    if unrecordable:
        raise ConfigError(unrecordable)
    return text, plan.job, plan


@contextlib.asynccontextmanager
async def _schedules_held() -> AsyncIterator[None]:
    """No schedule is created, retargeted or deleted while the body runs (when this server has a scheduler)."""
    scheduler = state().scheduler
    if isinstance(scheduler, SchedulerService):
        async with scheduler.changes_held():
            yield
    else:
        yield


def _not_found(job_id: str) -> NotFoundError:
    return NotFoundError("JOB_NOT_FOUND", f"job {job_id!r} not found", job_id=job_id)


def _record(job_id: str, text: str, config: JobConfig, created: float, updated: float) -> JobRecord:
    return JobRecord(
        id=job_id,
        name=config.name,
        config_text=text,
        strategy_type=config.strategy_type,
        num_of_retries=config.num_of_retries,
        max_concurrent_runs=config.max_concurrent_runs,
        file_logging=config.file_logging,
        metadata=config.metadata,
        created_at=created,
        updated_at=updated,
    )


async def _job(job_id: str) -> JobRecord:
    job = await state().store.get_job(job_id)
    if job is None:
        raise _not_found(job_id)
    return job


@bp.post("/")
@requires(JOBS_WRITE)
@document_request(JobConfig)
@document_response(JobCreated, 201)
@document_response(ErrorBody, 422)
@tag(["jobs"])
async def create_job() -> tuple[dict[str, Any], int]:
    """Validate a job config and store it exactly as submitted; 422 lists every issue."""
    text, config, _ = await _validated()
    now = time.time()
    job_id = uuid.uuid4().hex
    await state().store.create_job(_record(job_id, text, config, now, now))
    return {"id": job_id}, 201


@bp.get("/")
@requires(JOBS_READ)
@document_response(list[JobSummary], 200)
@tag(["jobs"])
async def list_jobs() -> list[dict[str, Any]]:
    """Every job without its components."""
    return [job_summary(j) for j in await state().store.list_jobs()]


@bp.post("/validate")
@requires(JOBS_READ)
@document_request(JobConfig)
@document_response(ValidationResult, 200)
@document_response(ErrorBody, 422)
@tag(["jobs"])
async def validate_job() -> dict[str, Any]:
    """Validate a job config without storing it."""
    _, _, plan = await _validated()
    return {"valid": True, "components": len(plan.nodes), "edges": len(plan.edges)}


@bp.get("/<job_id>")
@requires(JOBS_READ)
@tag(["jobs"])
async def get_job(job_id: str) -> dict[str, Any]:
    """The job's config exactly as stored (every field, in order), with its `id`."""
    return job_document(await _job(job_id))


@bp.put("/<job_id>")
@requires(JOBS_WRITE)
@document_request(JobConfig)
@document_response(JobCreated, 200)
@document_response(ErrorBody, 409)
@tag(["jobs"])
async def replace_job(job_id: str) -> dict[str, Any]:
    """Replace a job's config (409 while the job runs)."""
    text, config, _ = await _validated()
    existing = await _job(job_id)
    async with state().executions.job_idle(job_id):
        # deleted by another request since it was read: nothing was replaced
        if not await state().store.update_job(_record(job_id, text, config, existing.created_at, time.time())):
            raise _not_found(job_id)
    return {"id": job_id}


@bp.delete("/<job_id>")
@requires(JOBS_WRITE)
@document_response(JobDeleted, 200)
@document_response(ErrorBody, 409)
@tag(["jobs"])
async def delete_job(job_id: str) -> dict[str, Any]:
    """Delete a job (409 while it runs or while schedules start it); its execution history stays."""
    s = state()
    # the check that no schedule starts the job and the deletion are one step for the scheduler and the starts
    async with _schedules_held(), s.executions.job_idle(job_id):
        job = await _job(job_id)
        schedules = await s.store.list_schedules(job_id=job_id)
        if schedules:
            raise ApiError(
                409,
                "JOB_IN_USE",
                f"job {job_id!r} is started by {len(schedules)} schedule(s); delete them first",
                {"job_id": job_id, "schedule_ids": [x.id for x in schedules]},
            )
        if not await s.store.delete_job(job_id):
            raise _not_found(job_id)
    return {"id": job_id, "message": f"job {job.name!r} ({job_id}) deleted"}
