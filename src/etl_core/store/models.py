"""Plain records the store reads and writes. Timestamps are POSIX seconds (float, UTC) on both backends.

Context parameters are `etl_core.params.ContextParameter`, the shape the `${...}` resolver reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from etl_core.params.context import ContextParameter
from etl_core.params.secrets import password_secret_name

SortKey = Literal["started_at", "finished_at", "status"]
SortOrder = Literal["asc", "desc"]
ContextKind = Literal["context", "credentials_mapping"]


@dataclass(slots=True)
class JobRecord:
    """A stored job: the config document exactly as submitted (`config_text`) and the fields lists show."""

    id: str
    name: str
    config_text: str
    strategy_type: str = "row"
    num_of_retries: int = 0
    max_concurrent_runs: int = 1
    file_logging: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(slots=True)
class ExecutionRecord:
    """One execution of a job. `totals` holds rows read/written, record errors and throughput when it ends."""

    id: str
    job_id: str
    job_name: str
    environment: str
    status: str
    max_attempts: int
    started_at: float
    finished_at: float | None = None
    error: str | None = None
    trigger: str = "api"
    totals: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class AttemptRecord:
    """One attempt of an execution, with each component's final metrics snapshot (by component name)."""

    execution_id: str
    number: int
    status: str
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    failed_component: str | None = None
    cancelled_components: list[str] = field(default_factory=list)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class ExecutionQuery:
    """Filters, order and page of an execution listing."""

    job_id: str | None = None
    status: str | None = None
    environment: str | None = None
    started_after: float | None = None
    started_before: float | None = None
    sort_by: SortKey = "started_at"
    order: SortOrder = "desc"
    limit: int = 50
    offset: int = 0


@dataclass(slots=True)
class ScheduleRecord:
    """A schedule: which job to start, in which environment, on which trigger."""

    id: str
    name: str
    job_id: str
    environment: str
    trigger_type: str
    trigger_args: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(slots=True)
class ContextRecord:
    """A context: parameters for one environment, or (kind `credentials_mapping`) environment -> credentials."""

    id: str
    name: str
    environment: str
    kind: ContextKind = "context"
    parameters: dict[str, ContextParameter] = field(default_factory=dict)
    credentials_ids: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0


@dataclass(slots=True)
class CredentialsRecord:
    """Database credentials without the password (that is in the secret store under `password_key`)."""

    id: str
    name: str
    user: str
    host: str
    port: int | None
    database: str
    created_at: float = 0.0

    @property
    def password_key(self) -> str:
        return password_secret_name(self.id)
