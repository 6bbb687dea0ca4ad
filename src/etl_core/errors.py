"""The one error tree of etl-core.

    EtlError
    ├── ConfigError                 a job config that cannot run; carries every ConfigIssue found
    ├── SettingsError               a bad server/CLI setting (names the setting, never its secret value)
    ├── ComponentError              a component failed while running; carries component name and stage
    │   ├── RecordError             one record could not be processed and no `error` port is wired
    │   └── TransientError          network, deadlock, serialization: worth retrying
    ├── ExecutionError              an attempt or execution failed; wraps the ComponentError that caused it
    ├── NotFoundError               a stored thing (job, execution, schedule, context) does not exist
    └── ConflictError               a request clashes with the current state (already running, in use)

Messages name the step and the bad value. Secrets never appear in any message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class EtlError(Exception):
    """Root of every error etl-core raises on purpose."""

    code = "ETL_ERROR"


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a job config: where it is (JSON path, component) and what is wrong."""

    path: str
    message: str
    component: str | None = None

    def __str__(self) -> str:
        where = self.path or "<job>"
        if self.component is not None:
            head, _, rest = where.partition(".")
            where = f"{head} (name {self.component!r})" + (f": {rest}" if rest else "")
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message, "component": self.component}


class ConfigError(EtlError):
    """A job config is invalid. `issues` lists every problem found, not only the first."""

    code = "INVALID_CONFIG"

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = list(issues)
        # the job as far as it could be read (config.loader.parse_job), for checks that can still run
        self.salvage: Any = None
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"invalid job config ({len(self.issues)} issue(s)):\n{lines}")


class SettingsError(EtlError):
    """A setting has a bad value; the message names the setting and every unmet rule."""

    code = "INVALID_SETTINGS"


class ComponentError(EtlError):
    """A component failed. `component` is its name, `stage` what it was doing (open, read, write, commit...)."""

    code = "COMPONENT_FAILED"
    retryable = True

    def __init__(self, message: str, *, component: str = "", stage: str = "run") -> None:
        self.message = message
        self.component = component
        self.stage = stage
        super().__init__(message)

    def __str__(self) -> str:
        if self.component:
            return f"component {self.component!r} ({self.stage}): {self.message}"
        return self.message


class RecordError(ComponentError):
    """One record could not be processed (bad value, unparseable line, rejected row)."""

    code = "RECORD_ERROR"
    # the same input fails the same way on every attempt: retrying a bad record only repeats the failure
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        record: Any = None,
        line: int | None = None,
        component: str = "",
        stage: str = "run",
    ) -> None:
        self.record = record
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(where + message, component=component, stage=stage)
        self.reason = message


class TransientError(ComponentError):
    """A failure that may succeed when tried again (connection lost, deadlock, serialization)."""

    code = "TRANSIENT_ERROR"


class PermanentComponentError(ComponentError):
    """A failure that no retry can fix (refused path, unresolvable reference)."""

    code = "COMPONENT_FAILED"
    retryable = False


class ExecutionError(EtlError):
    """An execution ended without success."""

    code = "EXECUTION_FAILED"


class ExecutionCancelled(ExecutionError):
    """An execution was cancelled on request."""

    code = "EXECUTION_CANCELLED"


class NotFoundError(EtlError):
    """A stored thing does not exist. `code` names what (JOB_NOT_FOUND...), `context` carries the id."""

    def __init__(self, code: str, message: str, **context: Any) -> None:
        self.code = code
        self.message = message
        self.context = context
        super().__init__(message)


class ConflictError(EtlError):
    """A request clashes with the current state: a job already running, a thing still in use."""

    def __init__(self, code: str, message: str, **context: Any) -> None:
        self.code = code
        self.message = message
        self.context = context
        super().__init__(message)
