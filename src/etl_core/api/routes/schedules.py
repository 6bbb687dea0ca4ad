"""Schedules: start stored jobs on interval, cron or date triggers (the SchedulerService does the work).

Writes need `schedules:write` (`run-now` too: it is an action on the schedule), reads `jobs:read`. A bad trigger
argument or a missing job is a 422 `INVALID_SCHEDULE` listing every issue with its path (`trigger_args.minutes`,
`job_id`); an unknown schedule is a 404 `SCHEDULE_NOT_FOUND`.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from quart import Blueprint, Response
from quart_schema import document_querystring, document_request, document_response, tag

from etl_core.api.errors import ApiError, error_response, parse_body, parse_query
from etl_core.api.models import Body, Environment, ErrorBody, Text
from etl_core.api.security import requires
from etl_core.api.state import state
from etl_core.api.views import schedule_view
from etl_core.auth.scopes import JOBS_READ, SCHEDULES_WRITE
from etl_core.scheduling import InvalidSchedule, SchedulerService, ScheduleView

bp = Blueprint("schedules", __name__, url_prefix="/schedules")

TriggerType = Literal["interval", "cron", "date"]
_TRIGGER_ARGS_HELP = (
    "APScheduler 3 arguments of the trigger: interval `weeks, days, hours, minutes, seconds`; cron `year, month, "
    "day, week, day_of_week, hour, minute, second` (numbers or expressions such as '*/5', 'mon-fri'); date "
    "`run_date`; all but date also `start_date, end_date, jitter`; every type `timezone` (IANA name, default UTC)"
)


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


class ScheduleIn(Body):
    name: Text = Field(min_length=1, max_length=200, description="a name for people")
    job_id: Text = Field(min_length=1, description="the stored job to start")
    environment: Environment | None = Field(None, description="DEV, TEST or PROD (default: EXECUTION_ENV)")
    trigger_type: TriggerType = Field(description="interval, cron or date")
    trigger_args: dict[str, Any] = Field(default_factory=dict, description=_TRIGGER_ARGS_HELP)
    paused: bool = Field(False, description="store it without firing it until resumed")

    _env = field_validator("environment", mode="before")(_upper)


class ScheduleChange(Body):
    name: Text | None = Field(None, min_length=1, max_length=200, description="a name for people")
    job_id: Text | None = Field(None, min_length=1, description="the stored job to start")
    environment: Environment | None = Field(None, description="DEV, TEST or PROD")
    trigger_type: TriggerType | None = Field(None, description="interval, cron or date")
    trigger_args: dict[str, Any] | None = Field(None, description="replaces every argument; " + _TRIGGER_ARGS_HELP)
    paused: bool | None = Field(None, description="pause or resume")

    _env = field_validator("environment", mode="before")(_upper)


class ScheduleOut(BaseModel):
    id: str
    name: str
    job_id: str
    environment: str
    trigger_type: str
    trigger_args: dict[str, Any]
    paused: bool
    created_at: str
    updated_at: str
    next_run_time: str | None = Field(description="ISO 8601 UTC; null when paused, finished or invalid")
    state: Literal["scheduled", "paused", "finished", "invalid", "stopped"]
    error: str | None = Field(description="why a stored schedule cannot be scheduled (state invalid)")


class ScheduleQuery(BaseModel):
    job_id: str | None = Field(None, description="only the schedules of this job")


class ScheduleDeleted(BaseModel):
    id: str
    message: str


class ScheduleRunStarted(BaseModel):
    schedule_id: str
    job_id: str
    execution_id: str
    status: str
    max_attempts: int
    environment: Environment
    trigger: str = Field(description="schedule:<schedule id>, as recorded on the execution")


@bp.errorhandler(InvalidSchedule)
async def _invalid_schedule(exc: InvalidSchedule) -> Response:
    return error_response(422, exc.code, str(exc), {"issues": [i.as_dict() for i in exc.issues]})


def _scheduler() -> SchedulerService:
    scheduler = state().scheduler
    if not isinstance(scheduler, SchedulerService):
        raise ApiError(503, "SCHEDULER_UNAVAILABLE", "this server runs no scheduler")
    return scheduler


def _out(view: ScheduleView) -> dict[str, Any]:
    next_run = view.next_run_time
    return {
        **schedule_view(view.record),
        "next_run_time": None if next_run is None else next_run.astimezone(UTC).isoformat(),
        "state": view.state,
        "error": view.error,
    }


@bp.post("/")
@requires(SCHEDULES_WRITE)
@document_request(ScheduleIn)
@document_response(ScheduleOut, 201)
@document_response(ErrorBody, 422)
@tag(["schedules"])
async def create_schedule() -> tuple[dict[str, Any], int]:
    """Store a schedule and start firing it (unless paused); 422 names every bad argument and a missing job."""
    body: ScheduleIn = await parse_body(ScheduleIn)
    view = await _scheduler().create(
        name=body.name,
        job_id=body.job_id,
        environment=body.environment or state().settings.execution_env.upper(),
        trigger_type=body.trigger_type,
        trigger_args=body.trigger_args,
        paused=body.paused,
    )
    return _out(view), 201


@bp.get("/")
@requires(JOBS_READ)
@document_querystring(ScheduleQuery)
@document_response(list[ScheduleOut], 200)
@tag(["schedules"])
async def list_schedules() -> list[dict[str, Any]]:
    """Every schedule, in creation order, with its next run time."""
    query: ScheduleQuery = parse_query(ScheduleQuery)
    return [_out(v) for v in await _scheduler().list_schedules(query.job_id)]


@bp.get("/<schedule_id>")
@requires(JOBS_READ)
@document_response(ScheduleOut, 200)
@tag(["schedules"])
async def get_schedule(schedule_id: str) -> dict[str, Any]:
    """A schedule with its next run time and state."""
    return _out(await _scheduler().get(schedule_id))


@bp.put("/<schedule_id>")
@requires(SCHEDULES_WRITE)
@document_request(ScheduleChange)
@document_response(ScheduleOut, 200)
@document_response(ErrorBody, 422)
@tag(["schedules"])
async def update_schedule(schedule_id: str) -> dict[str, Any]:
    """Change the fields the body names (others keep their value); a new trigger takes effect at once."""
    body: ScheduleChange = await parse_body(ScheduleChange)
    changes = body.model_dump(exclude_none=True)
    return _out(await _scheduler().update(schedule_id, **changes))


@bp.delete("/<schedule_id>")
@requires(SCHEDULES_WRITE)
@document_response(ScheduleDeleted, 200)
@tag(["schedules"])
async def delete_schedule(schedule_id: str) -> dict[str, Any]:
    """Delete a schedule; it stops firing at once. The executions it started stay in the history."""
    record = await _scheduler().delete(schedule_id)
    return {"id": record.id, "message": f"schedule {record.name!r} ({record.id}) deleted"}


@bp.post("/<schedule_id>/pause")
@requires(SCHEDULES_WRITE)
@document_response(ScheduleOut, 200)
@tag(["schedules"])
async def pause_schedule(schedule_id: str) -> dict[str, Any]:
    """Stop firing until resumed (a running execution is not touched)."""
    return _out(await _scheduler().pause(schedule_id))


@bp.post("/<schedule_id>/resume")
@requires(SCHEDULES_WRITE)
@document_response(ScheduleOut, 200)
@tag(["schedules"])
async def resume_schedule(schedule_id: str) -> dict[str, Any]:
    """Fire again from the next due time on; runs missed while paused are not made up."""
    return _out(await _scheduler().resume(schedule_id))


@bp.post("/<schedule_id>/run-now")
@requires(SCHEDULES_WRITE)
@document_response(ScheduleRunStarted, 202)
@document_response(ErrorBody, 409)
@tag(["schedules"])
async def run_schedule_now(schedule_id: str) -> tuple[dict[str, Any], int]:
    """Start the schedule's job now (even when paused); 202 with the execution id, 409 while the job runs."""
    execution = await _scheduler().run_now(schedule_id)
    return {
        "schedule_id": schedule_id,
        "job_id": execution.job_id,
        "execution_id": execution.id,
        "status": execution.status,
        "max_attempts": execution.max_attempts,
        "environment": execution.environment,
        "trigger": execution.trigger,
    }, 202
