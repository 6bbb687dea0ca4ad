"""Request and response bodies of the API: validated at the boundary and published in the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

Environment = Literal["DEV", "TEST", "PROD"]
Scalar = str | int | float | bool | None

MAX_OFFSET = 2**31 - 1
"""The largest `offset` a listing takes: any store skips that many rows (a larger one would overflow its integer)."""


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string the store keeps in a text column, or the secret store keeps: PostgreSQL refuses the NUL character
(U+0000) in text, and secret stores and database drivers take C strings, so it is refused at the boundary."""


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


# -- errors ---------------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. JOB_NOT_FOUND")
    message: str = Field(description="what went wrong, for people")
    context: dict[str, Any] = Field(default_factory=dict, description="ids, issues with their JSON paths, ...")


class ErrorBody(BaseModel):
    detail: ErrorDetail


# -- auth -----------------------------------------------------------------------------------------
class TokenRequest(BaseModel):
    grant_type: Literal["client_credentials"] = Field(description="only client_credentials is supported")
    client_id: str | None = Field(None, description="or use HTTP Basic client authentication")
    client_secret: str | None = Field(None, description="or use HTTP Basic client authentication")
    scope: str | None = Field(None, description="space-separated scopes; all the client may have when absent")


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")
    scope: str = Field(description="space-separated scopes the token carries")


class TokenError(BaseModel):
    error: str = Field(description="RFC 6749 error code: invalid_request, invalid_client, ...")
    error_description: str


# -- jobs -----------------------------------------------------------------------------------------
class JobCreated(BaseModel):
    id: str


class JobSummary(BaseModel):
    id: str
    name: str
    strategy_type: str
    num_of_retries: int
    max_concurrent_runs: int
    file_logging: bool
    metadata: dict[str, Any]
    created_at: str
    updated_at: str


class JobDeleted(BaseModel):
    id: str
    message: str


class ValidationResult(BaseModel):
    valid: bool
    components: int = Field(description="number of components")
    edges: int = Field(description="number of edges")


# -- executions -----------------------------------------------------------------------------------
class StartExecution(Body):
    environment: Environment | None = Field(None, description="DEV, TEST or PROD (default: EXECUTION_ENV)")

    _env = field_validator("environment", mode="before")(_upper)


class ExecutionStarted(BaseModel):
    job_id: str
    execution_id: str
    status: str
    max_attempts: int
    environment: Environment


class ExecutionQuery(BaseModel):
    job_id: str | None = None
    status: Literal["PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"] | None = None
    environment: Environment | None = None
    started_after: datetime | None = Field(None, description="ISO 8601; without a zone it means UTC")
    started_before: datetime | None = Field(None, description="ISO 8601; without a zone it means UTC")
    sort_by: Literal["started_at", "finished_at", "status"] = "started_at"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)

    _upper_fields = field_validator("status", "environment", mode="before")(_upper)
    _lower_order = field_validator("order", mode="before")(lambda v: v.lower() if isinstance(v, str) else v)


def epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class ExecutionOut(BaseModel):
    id: str
    job_id: str
    job_name: str
    environment: str
    status: str
    error: str | None
    max_attempts: int
    trigger: str
    started_at: str
    finished_at: str | None
    duration_s: float | None = Field(description="seconds from start to end; while it runs, the time elapsed so far")
    totals: dict[str, Any] = Field(
        description="rows_read, rows_written, record_errors and rows_per_second; live while it runs"
    )


class AttemptOut(BaseModel):
    id: str
    execution_id: str
    attempt_index: int
    status: str
    error: str | None
    failed_component: str | None
    cancelled_components: list[str]
    started_at: str | None
    finished_at: str | None
    components: dict[str, dict[str, Any]] = Field(description="each component's metrics, by component name")


class ExecutionList(BaseModel):
    data: list[ExecutionOut]
    total: int
    limit: int
    offset: int


class ExecutionDetail(BaseModel):
    execution: ExecutionOut
    attempts: list[AttemptOut]


class LogsQuery(BaseModel):
    offset: int = Field(0, ge=0, description="skip this many lines")
    limit: int = Field(1000, ge=1, le=10_000, description="at most this many lines")


class ExecutionLogs(BaseModel):
    execution_id: str
    file_logging: bool = Field(description="whether the job wrote a log file for this execution")
    total: int
    lines: list[dict[str, Any]]
    error: str | None = Field(None, description="present when a log file should exist but cannot be read: why")


# -- contexts and credentials ---------------------------------------------------------------------
class ParameterIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str | None = Field(None, description="defaults to the parameter's name in `parameters`")
    value: Scalar = Field(description="the value; a secure one goes to the secret store only")
    type: str = Field("string", description="string, integer, float, boolean, ...")
    is_secure: bool = Field(False, description="keep the value in the secret store, never return it")


class ContextIn(Body):
    name: Text = Field(min_length=1)
    environment: Environment
    parameters: dict[str, ParameterIn] = Field(default_factory=dict)

    _env = field_validator("environment", mode="before")(_upper)


class CreateContext(Body):
    context: ContextIn


class CredentialsIn(Body):
    name: Text = Field(min_length=1)
    user: Text = Field(min_length=1)
    host: Text = Field("localhost", min_length=1)
    port: int | None = Field(None, ge=1, le=65535)
    database: Text = Field(min_length=1)
    password: Text | None = Field(None, description="kept in the secret store; never returned")


class CreateCredentials(Body):
    credentials: CredentialsIn


class MappingIn(Body):
    name: Text = Field(min_length=1)
    environment: Environment
    credentials_ids: dict[Environment, Text] = Field(min_length=1, description="environment -> credentials id")

    _env = field_validator("environment", mode="before")(_upper)


class CreateMapping(Body):
    context: MappingIn


class ProviderCreated(BaseModel):
    id: str
    kind: Literal["context", "credentials"]
    name: str
    environment: Environment | None
    parameters_registered: int


class ProviderItem(BaseModel):
    id: str
    kind: Literal["context", "credentials"]
    name: str
    environment: Environment | None
    created_at: str | None


# -- system ---------------------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    version: str
    store: dict[str, Any]
    scheduler: dict[str, Any]
    executions: dict[str, Any]
