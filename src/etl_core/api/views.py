"""Records as the API shows them. Timestamps are ISO 8601 in UTC; the same shapes go out over REST and SSE."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from etl_core.observability.metrics import PENDING, RUNNING
from etl_core.store.models import (
    AttemptRecord,
    ContextRecord,
    CredentialsRecord,
    ExecutionRecord,
    JobRecord,
    ScheduleRecord,
)


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def job_document(job: JobRecord) -> dict[str, Any]:
    """The config exactly as stored, every field in its order, with `id` first."""
    doc = json.loads(job.config_text)
    doc.pop("id", None)
    return {"id": job.id, **doc}


def job_summary(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "strategy_type": job.strategy_type,
        "num_of_retries": job.num_of_retries,
        "max_concurrent_runs": job.max_concurrent_runs,
        "file_logging": job.file_logging,
        "metadata": job.metadata,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
    }


def execution_view(e: ExecutionRecord, *, now: float | None = None) -> dict[str, Any]:
    """An execution; `duration_s` is live while it runs: the time elapsed until `now` (default: the clock).

    Its `totals` (rows, errors, `rows_per_second`) are as live as the record given: the execution service merges
    the running executor's figures into the records of the executions this process runs.
    """
    end = e.finished_at
    if end is None and e.status in (PENDING, RUNNING):
        end = time.time() if now is None else now
    duration = None
    if end is not None:
        # from microsecond timestamps, as stored, so a live answer and a stored one agree
        duration = round(max(round(end, 6) - round(e.started_at, 6), 0.0), 6)
    return {
        "id": e.id,
        "job_id": e.job_id,
        "job_name": e.job_name,
        "environment": e.environment,
        "status": e.status,
        "error": e.error,
        "max_attempts": e.max_attempts,
        "trigger": e.trigger,
        "started_at": iso(e.started_at),
        "finished_at": iso(e.finished_at),
        "duration_s": duration,
        "totals": e.totals,
    }


def attempt_view(a: AttemptRecord) -> dict[str, Any]:
    return {
        "id": f"{a.execution_id}-{a.number}",
        "execution_id": a.execution_id,
        "attempt_index": a.number,
        "status": a.status,
        "error": a.error,
        "failed_component": a.failed_component,
        "cancelled_components": a.cancelled_components,
        "started_at": iso(a.started_at),
        "finished_at": iso(a.finished_at),
        "components": {name: _component_view(m) for name, m in a.components.items()},
    }


def _component_view(metrics: dict[str, Any]) -> dict[str, Any]:
    out = dict(metrics)
    for key in ("started_at", "finished_at"):
        value = out.get(key)
        if isinstance(value, (int, float)):
            out[key] = iso(float(value))
    return out


def execution_detail(e: ExecutionRecord, attempts: list[AttemptRecord]) -> dict[str, Any]:
    return {"execution": execution_view(e), "attempts": [attempt_view(a) for a in attempts]}


def schedule_view(s: ScheduleRecord) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "job_id": s.job_id,
        "environment": s.environment,
        "trigger_type": s.trigger_type,
        "trigger_args": s.trigger_args,
        "paused": s.paused,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
    }


def context_view(c: ContextRecord) -> dict[str, Any]:
    """A context; secure parameters show no value. Mapping contexts are kind `context` as in the original."""
    out: dict[str, Any] = {
        "id": c.id,
        "kind": "context",
        "name": c.name,
        "environment": c.environment,
        "created_at": iso(c.created_at),
    }
    if c.kind == "credentials_mapping":
        out["credentials_ids"] = dict(c.credentials_ids)
    else:
        out["parameters"] = {
            k: {"key": p.key, "value": None if p.is_secure else p.value, "type": p.type, "is_secure": p.is_secure}
            for k, p in c.parameters.items()
        }
    return out


def credentials_view(c: CredentialsRecord) -> dict[str, Any]:
    """Credentials without their password (it lives only in the secret store)."""
    return {
        "id": c.id,
        "kind": "credentials",
        "name": c.name,
        "user": c.user,
        "host": c.host,
        "port": c.port,
        "database": c.database,
        "environment": None,
        "created_at": iso(c.created_at),
    }
