"""structlog set-up: one event per line, context bound through context variables, secrets masked.

JSON when stdout is not a terminal (or `ETL_LOG_FORMAT=json`), a console renderer on a terminal. An execution
with `file_logging` also gets its events in `<log dir>/<job name>/<execution id>.jsonl`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from pathlib import Path
from typing import IO, Any

import structlog
from structlog.typing import EventDict, WrappedLogger

SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[_-]?key|signing[_-]?key|authorization|credential", re.I)
MASK = "***"

_exec_files: dict[str, IO[str]] = {}
_exec_lock = threading.Lock()


def mask_secrets(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Replace the value of any key that names a secret."""
    for key in list(event):
        if key != "event" and SECRET_KEYS.search(key) and event[key] is not None:
            event[key] = MASK
    return event


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "job"


def execution_log_path(log_dir: Path, job_name: str, execution_id: str) -> Path:
    return log_dir / _safe_name(job_name) / f"{_safe_name(execution_id)}.jsonl"


def open_execution_log(log_dir: Path, job_name: str, execution_id: str) -> Path:
    """Start copying this execution's events to its own JSON-lines file."""
    path = execution_log_path(log_dir, job_name, execution_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exec_lock:
        _exec_files[execution_id] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed below
    return path


def close_execution_log(execution_id: str) -> None:
    with _exec_lock:
        fh = _exec_files.pop(execution_id, None)
    if fh is not None:
        fh.close()


def copy_to_execution_file(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Write the event to its execution's file when that execution logs to a file."""
    if not _exec_files:
        return event
    execution_id = event.get("execution_id")
    fh = _exec_files.get(execution_id) if isinstance(execution_id, str) else None
    if fh is not None:
        fh.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
        fh.flush()
    return event


_configured: dict[str, Any] = {}


def configure_logging(fmt: str = "auto", level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Configure structlog once per process (calling again with other values reconfigures)."""
    out = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    key = {"fmt": fmt, "level": level, "stream": id(out)}
    if _configured == key:
        return
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=lambda obj, **kw: json.dumps(obj, default=str, ensure_ascii=False))
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_secrets,
            structlog.processors.format_exc_info,
            copy_to_execution_file,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping().get(level.upper(), 20)),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    _configured.clear()
    _configured.update(key)


def ensure_configured() -> None:
    """Configure with the defaults when nothing configured logging yet (library use, tests)."""
    if not _configured:
        configure_logging()
