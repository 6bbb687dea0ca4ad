"""structlog set-up: one event per line, context bound through context variables, secrets masked.

JSON when stdout is not a terminal (or `ETL_LOG_FORMAT=json`), a console renderer on a terminal. An execution
with `file_logging` also gets its events in `<log dir>/<job name>/<execution id>.jsonl`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from etl_core.params.redaction import mask_dsn

# a key names a secret when one of its words (split at `_`, `-` or `.`) is one of these; whole words only, so
# that counters like `passed` or `tokens_issued` stay readable (and bare `pass` is the filter's port, not a secret)
SECRET_KEYS = re.compile(
    r"(?:^|[_.\-])(?:pass(?:word|wd|phrase)|pwd|secret|token|api[_-]?key|signing[_-]?key|private[_-]?key"
    r"|authorization|credentials?|cookie)(?:$|[_.\-])",
    re.I,
)
MASK = "***"

_exec_files: dict[str, IO[str]] = {}
_exec_lock = threading.Lock()


# values resolved from secret sources (secure context parameters, credentials, secret-named environment
# variables): whatever text they end up in (a file path in an error message, say) shows them masked
_known_secrets: tuple[str, ...] = ()  # longest first, so that a secret containing another is masked whole
_secrets_lock = threading.Lock()
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary text


def remember_secrets(values: Iterable[str]) -> None:
    """Mask these values wherever they appear in log events and error texts, from now on (process-wide)."""
    global _known_secrets
    fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH} - set(_known_secrets)
    if fresh:
        with _secrets_lock:
            _known_secrets = tuple(sorted({*_known_secrets, *fresh}, key=len, reverse=True))


def scrub(text: str) -> str:
    """`text` with every remembered secret value replaced by the mask."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _masked(key: str, value: Any) -> Any:
    if value is None:
        return None
    if SECRET_KEYS.search(key):
        return MASK
    if isinstance(value, str):
        if _known_secrets:
            value = scrub(value)
        return mask_dsn(value) if "@" in value or "=" in value or ":" in value else value
    if isinstance(value, dict):
        return {k: _masked(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked("", v) for v in value]
    return value


def mask_secrets(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Mask the value of any key that names a secret (nested ones too) and passwords inside URLs and DSNs."""
    for key in list(event):
        event[key] = _masked("" if key == "event" else key, event[key])
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
_LEVELS = logging.getLevelNamesMapping()


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # sys.stderr as it is now, not as it was at configuration time: a test runner or a CLI harness may have
    # swapped (and since closed) the stream that was current when logging was configured
    return structlog.PrintLogger(sys.stderr)


def _console_filter(minimum: int) -> structlog.typing.Processor:
    """Drop events below `minimum` from the console only (after they went to the execution's file)."""

    def drop_below(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
        if _LEVELS.get(str(event.get("level", "")).upper(), 0) < minimum:
            raise structlog.DropEvent
        return event

    return drop_below


def configure_logging(
    fmt: str = "auto", level: str = "INFO", stream: TextIO | None = None, *, console_level: str | None = None
) -> None:
    """Configure structlog for the process (calling again with other values reconfigures).

    `level` filters every event; `console_level`, when higher, hides more from the console while execution log
    files still get every event at `level` (the CLI shows a live table instead of info events). Without a
    `stream` events go to whatever `sys.stderr` is when they are logged.
    """
    out = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    key = {"fmt": fmt, "level": level, "stream": id(stream) if stream is not None else None, "console": console_level}
    if _configured == key:
        return
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=lambda obj, **kw: json.dumps(obj, default=str, ensure_ascii=False))
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    minimum = _LEVELS.get(level.upper(), logging.INFO)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # exception text may quote a DSN: render it before masking
        structlog.processors.format_exc_info,
        mask_secrets,
        copy_to_execution_file,
    ]
    console_minimum = _LEVELS.get(console_level.upper(), minimum) if console_level else minimum
    if console_minimum > minimum:
        processors.append(_console_filter(console_minimum))
    processors.append(renderer)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(minimum),
        logger_factory=structlog.PrintLoggerFactory(stream) if stream is not None else _stderr_logger,
        cache_logger_on_first_use=False,
    )
    _configured.clear()
    _configured.update(key)


def ensure_configured() -> None:
    """Configure when nothing configured logging yet (library use, tests): `ETL_LOG_FORMAT` and `ETL_LOG_LEVEL`
    from the environment when set and valid, else the defaults (the CLI and the server read them as settings)."""
    if not _configured:
        fmt = os.environ.get("ETL_LOG_FORMAT", "auto").strip().lower()
        level = os.environ.get("ETL_LOG_LEVEL", "INFO").strip().upper()
        configure_logging(
            fmt if fmt in ("auto", "json", "console") else "auto",
            level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO",
        )
