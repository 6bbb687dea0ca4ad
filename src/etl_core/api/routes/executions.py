"""Executions: start, list, inspect, cancel, follow live (server-sent events) and read their logs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
import structlog
from quart import Blueprint, Response, make_response
from quart_schema import document_querystring, document_request, document_response, tag

from etl_core.api.errors import parse_body, parse_query
from etl_core.api.models import (
    ErrorBody,
    ExecutionDetail,
    ExecutionList,
    ExecutionLogs,
    ExecutionQuery,
    ExecutionStarted,
    LogsQuery,
    StartExecution,
    epoch,
)
from etl_core.api.security import requires
from etl_core.api.state import state
from etl_core.api.views import attempt_view, execution_detail, execution_view
from etl_core.auth.scopes import EXECUTIONS_RUN, JOBS_READ
from etl_core.observability.logging import execution_log_path
from etl_core.observability.metrics import PENDING, RUNNING
from etl_core.store import models as store_models

bp = Blueprint("executions", __name__, url_prefix="/execution")
log = structlog.get_logger("etl_core.api")


@bp.post("/<job_id>")
@requires(EXECUTIONS_RUN)
@document_request(StartExecution)
@document_response(ExecutionStarted, 202)
@document_response(ErrorBody, 409)
@tag(["executions"])
async def start_execution(job_id: str) -> tuple[dict[str, Any], int]:
    """Start a job; answers 202 at once while the job runs in the background (409 when it already runs)."""
    body: StartExecution = await parse_body(StartExecution, optional=True)
    record = await state().executions.start(job_id, body.environment)
    return {
        "job_id": job_id,
        "execution_id": record.id,
        "status": record.status,
        "max_attempts": record.max_attempts,
        "environment": record.environment,
    }, 202


@bp.get("/executions")
@requires(JOBS_READ)
@document_querystring(ExecutionQuery)
@document_response(ExecutionList, 200)
@tag(["executions"])
async def list_executions() -> dict[str, Any]:
    """Executions, filtered, sorted and paged."""
    q: ExecutionQuery = parse_query(ExecutionQuery)
    query = store_models.ExecutionQuery(
        job_id=q.job_id,
        status=q.status,
        environment=q.environment,
        started_after=epoch(q.started_after),
        started_before=epoch(q.started_before),
        sort_by=q.sort_by,
        order=q.order,
        limit=q.limit,
        offset=q.offset,
    )
    executions = state().executions
    rows, total = await state().store.list_executions(query)
    data = []
    for row in rows:
        if row.status in (PENDING, RUNNING) and row.id in executions.running():
            row, _ = await executions.get(row.id)
        data.append(execution_view(row))
    return {"data": data, "total": total, "limit": q.limit, "offset": q.offset}


@bp.get("/executions/<execution_id>")
@requires(JOBS_READ)
@document_response(ExecutionDetail, 200)
@tag(["executions"])
async def get_execution(execution_id: str) -> dict[str, Any]:
    """An execution with its attempts and each attempt's component metrics (live while it runs)."""
    record, attempts = await state().executions.get(execution_id)
    return execution_detail(record, attempts)


@bp.get("/executions/<execution_id>/attempts")
@requires(JOBS_READ)
@tag(["executions"])
async def list_attempts(execution_id: str) -> list[dict[str, Any]]:
    """An execution's attempts, in order."""
    _, attempts = await state().executions.get(execution_id)
    return [attempt_view(a) for a in attempts]


@bp.post("/executions/<execution_id>/cancel")
@requires(EXECUTIONS_RUN)
@document_response(ExecutionDetail, 200)
@document_response(ErrorBody, 409)
@tag(["executions"])
async def cancel_execution(execution_id: str) -> tuple[dict[str, Any], int]:
    """Cancel a running execution: 200 once it has stopped, 202 if it is still stopping; 409 when not running."""
    executions = state().executions
    await executions.cancel(execution_id)
    record, attempts = await executions.get(execution_id)
    return execution_detail(record, attempts), 202 if record.status in (PENDING, RUNNING) else 200


def _sse(event: str, seq: int, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {seq}\nevent: {event}\ndata: {payload}\n\n".encode()


@bp.get("/executions/<execution_id>/events")
@requires(JOBS_READ)
@tag(["executions"])
async def execution_events(execution_id: str) -> Response:
    """Server-sent events: a `snapshot`, lifecycle events and periodic `metrics` until `execution_finished`."""
    s = state()
    stream = s.executions.events(execution_id, interval=s.events_interval)
    # the first event is read here, so an unknown id is a plain 404 rather than a broken stream
    first = await anext(stream)

    async def body() -> AsyncIterator[bytes]:
        seq = 1
        event, record, attempts = first
        try:
            yield _sse(event, seq, {"event": event, **execution_detail(record, attempts)})
            async for event, record, attempts in stream:
                seq += 1
                yield _sse(event, seq, {"event": event, **execution_detail(record, attempts)})
        finally:
            await stream.aclose()

    response = cast(Response, await make_response(body()))
    response.mimetype = "text/event-stream"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response


@bp.get("/executions/<execution_id>/logs")
@requires(JOBS_READ)
@document_querystring(LogsQuery)
@document_response(ExecutionLogs, 200)
@tag(["executions"])
async def execution_logs(execution_id: str) -> dict[str, Any]:
    """The execution's structured log lines (written when the job has `file_logging: true`)."""
    q: LogsQuery = parse_query(LogsQuery)
    s = state()
    record, _ = await s.executions.get(execution_id)
    path = execution_log_path(s.settings.log_dir, record.job_name, record.id)

    def read() -> tuple[bool, int, list[dict[str, Any]], str | None]:
        try:
            with open(path, "rb") as fh:
                lines = fh.readlines()
        except FileNotFoundError:
            return False, 0, [], None
        except OSError as exc:
            # the executor could not open it either (a job name too long for a file name, ...) and ran without
            # it; the server's path stays out of the answer
            log.warning("execution_log_unreadable", execution_id=record.id, path=str(path), error=str(exc))
            return False, 0, [], f"the log file cannot be read: {exc.strerror or type(exc).__name__}"
        entries = [_log_entry(line) for line in lines[q.offset : q.offset + q.limit]]
        return True, len(lines), [e for e in entries if e is not None], None

    exists, total, lines, problem = await anyio.to_thread.run_sync(read)
    answer: dict[str, Any] = {"execution_id": record.id, "file_logging": exists, "total": total, "lines": lines}
    if problem is not None:
        answer["error"] = problem
    return answer


def _log_entry(line: bytes) -> dict[str, Any] | None:
    """A log line as the object it holds; None for what the logger never writes (the last line, half written,
    bytes that are not UTF-8, anything but a JSON object, NaN), so one bad line cannot break the answer."""
    try:
        entry = json.loads(line.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError is a ValueError
        return None
    return entry if isinstance(entry, dict) else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
