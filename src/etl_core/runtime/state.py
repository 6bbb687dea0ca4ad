"""Plain runtime state of executions and attempts (live while running, persisted when done)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from etl_core.observability.metrics import PENDING, ComponentMetrics


@dataclass(slots=True)
class AttemptState:
    """One attempt: its components' metrics and, when it failed, which component failed with what."""

    number: int
    status: str = PENDING
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    failed_component: str | None = None
    cancelled_components: list[str] = field(default_factory=list)
    components: dict[str, ComponentMetrics] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        return {
            "attempt": self.number,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "failed_component": self.failed_component,
            "cancelled_components": list(self.cancelled_components),
            "components": {name: m.snapshot() for name, m in self.components.items()},
        }


@dataclass(slots=True)
class ExecutionState:
    """One execution of a job: every attempt, the final status and totals."""

    execution_id: str
    job_id: str | None
    job_name: str
    environment: str
    max_attempts: int
    status: str = PENDING
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    attempts: list[AttemptState] = field(default_factory=list)
    source_names: tuple[str, ...] = ()
    sink_names: tuple[str, ...] = ()
    created_at: float = field(default_factory=time.time)

    @property
    def current(self) -> AttemptState | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def duration_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.time()
        return max(end - self.started_at, 0.0)

    def totals(self) -> dict[str, Any]:
        """Rows read by the sources and written by the sinks of the last attempt, and throughput."""
        attempt = self.current
        if attempt is None:
            return {"rows_read": 0, "rows_written": 0, "record_errors": 0, "rows_per_second": 0.0}
        comps = attempt.components
        read = sum(comps[n].records_out for n in self.source_names if n in comps)
        written = sum(comps[n].records_in for n in self.sink_names if n in comps)
        errors = sum(m.errors for m in comps.values())
        duration = (attempt.finished_at or time.time()) - (attempt.started_at or time.time())
        return {
            "rows_read": read,
            "rows_written": written,
            "record_errors": errors,
            "rows_per_second": round(read / duration, 1) if duration > 0 else 0.0,
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "job_id": self.job_id,
            "job_name": self.job_name,
            "environment": self.environment,
            "status": self.status,
            "max_attempts": self.max_attempts,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_s, 6),
            "error": self.error,
            "totals": self.totals(),
            "attempts": [a.snapshot() for a in self.attempts],
        }
