"""Reading a job document into `JobConfig`, turning every validation failure into a `ConfigIssue`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from etl_core.config.models import JobConfig
from etl_core.errors import ConfigError, ConfigIssue


def json_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """`("components", 2, "rule", "operator")` -> `components[2].rule.operator`."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def issue_message(error: Any) -> str:
    """A readable message for one pydantic error dict, naming the bad value."""
    kind = error.get("type", "")
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{value!r} is not one of {expected}"
    msg = str(error.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in ("int_parsing", "bool_parsing", "float_parsing", "string_type", "int_type", "dict_type", "list_type"):
        return f"{msg} (got {value!r})"
    return msg


def issues_from_validation(
    exc: ValidationError,
    *,
    prefix: str = "",
    component: str | None = None,
    names_by_index: Sequence[str | None] = (),
) -> list[ConfigIssue]:
    """Every error of `exc` as a ConfigIssue; inside `components[i]` the component's name is attached."""
    issues: list[ConfigIssue] = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        name = component
        if name is None and len(loc) >= 2 and loc[0] == "components" and isinstance(loc[1], int):
            idx = loc[1]
            name = names_by_index[idx] if idx < len(names_by_index) else None
        issues.append(ConfigIssue(json_path(loc, prefix), issue_message(err), name))
    return issues


def _component_names(data: Any) -> list[str | None]:
    comps = data.get("components") if isinstance(data, dict) else None
    if not isinstance(comps, list):
        return []
    return [c.get("name") if isinstance(c, dict) and isinstance(c.get("name"), str) else None for c in comps]


def parse_job(data: Any) -> JobConfig:
    """Validate a decoded job document; raise ConfigError listing every structural issue.

    When only job-level fields are wrong (a bad `strategy_type`, a negative `num_of_retries`), the error carries
    the job with those fields at their defaults as `salvage`, so that a caller can still check the components
    and their wiring and report those issues too (`graph.planner.plan_document`)."""
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue("", f"a job must be a JSON object, got {type(data).__name__}")])
    try:
        return JobConfig.model_validate(data)
    except ValidationError as exc:
        error = ConfigError(issues_from_validation(exc, names_by_index=_component_names(data)))
        error.salvage = _salvage(data, exc)
        raise error from None


def _salvage(data: dict[str, Any], exc: ValidationError) -> JobConfig | None:
    """The job without its faulty job-level fields, or None when a component itself is malformed."""
    bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
    if "components" in bad or not bad:
        return None
    kept = {k: v for k, v in data.items() if k not in bad}
    kept.setdefault("name", "job")  # required: a placeholder lets the components be checked
    try:
        return JobConfig.model_validate(kept)
    except ValidationError:
        return None


def decode_json(text: str | bytes, source: str = "<job>") -> Any:
    """Decode JSON text; a syntax error becomes a ConfigError naming its line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [ConfigIssue("", f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")]
        ) from None


def load_job_text(text: str | bytes, source: str = "<job>") -> JobConfig:
    """Decode JSON text and validate it."""
    return parse_job(decode_json(text, source))


def read_job_file(path: str | Path) -> Any:
    """Read and decode a job file (not yet validated)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue("", f"cannot read job file {str(p)!r}: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [ConfigIssue("", f"job file {str(p)!r} is not valid UTF-8 near byte {exc.start}: {exc.reason}")]
        ) from None
    return decode_json(text, str(p))


def load_job_file(path: str | Path) -> tuple[JobConfig, dict[str, Any]]:
    """Read a job file; returns the validated config and the raw document."""
    data = read_job_file(path)
    return parse_job(data), data
