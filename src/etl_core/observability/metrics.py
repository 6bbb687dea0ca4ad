"""Per-component and per-execution counters. Counted per batch, never per record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCESS = "SUCCESS"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
STATUSES = (PENDING, RUNNING, SUCCESS, FAILED, CANCELLED)


@dataclass(slots=True)
class ComponentMetrics:
    """One component's counters in one attempt. Edges update them once per batch."""

    component: str
    comp_type: str
    status: str = PENDING
    received: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    dismissed: int = 0
    errors: int = 0
    batches_in: int = 0
    batches_out: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    blocked_send_s: float = 0.0
    wait_receive_s: float = 0.0
    wait_commit_s: float = 0.0  # a writer waiting at the commit point for the rest of the attempt
    idle_since: float | None = None  # perf_counter() when a wait still in progress began (live busy time)
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None

    def start(self) -> None:
        self.status = RUNNING
        self.started_at = time.time()

    def finish(self, status: str, error: str | None = None) -> None:
        self.status = status
        self.error = error
        self.finished_at = time.time()

    @property
    def records_in(self) -> int:
        return sum(self.received.values())

    @property
    def records_out(self) -> int:
        return sum(self.sent.values())

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.time()
        return max(end - self.started_at, 0.0)

    @property
    def busy_s(self) -> float:
        """Time not spent waiting: to send (backpressure), to receive, or at the commit point (a wait still in
        progress included, so that a live figure is right too)."""
        waiting = self.blocked_send_s + self.wait_receive_s + self.wait_commit_s
        if self.idle_since is not None and self.finished_at is None:
            waiting += time.perf_counter() - self.idle_since
        return max(self.elapsed_s - waiting, 0.0)

    @property
    def rows_per_second(self) -> float:
        rows = max(self.records_in, self.records_out)
        elapsed = self.elapsed_s
        return rows / elapsed if elapsed > 0 else 0.0

    def snapshot(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "comp_type": self.comp_type,
            "status": self.status,
            "records_in": self.records_in,
            "records_out": self.records_out,
            "received": dict(self.received),
            "sent": dict(self.sent),
            "dismissed": self.dismissed,
            "errors": self.errors,
            "batches_in": self.batches_in,
            "batches_out": self.batches_out,
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "busy_s": round(self.busy_s, 6),
            "blocked_send_s": round(self.blocked_send_s, 6),
            "wait_receive_s": round(self.wait_receive_s, 6),
            "wait_commit_s": round(self.wait_commit_s, 6),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "rows_per_second": round(self.rows_per_second, 1),
            "error": self.error,
        }
