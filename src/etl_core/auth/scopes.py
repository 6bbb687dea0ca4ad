"""Scopes a token can carry. `admin` stands for every other scope."""

from __future__ import annotations

from collections.abc import Iterable

from etl_core.errors import SettingsError

JOBS_READ = "jobs:read"
JOBS_WRITE = "jobs:write"
EXECUTIONS_RUN = "executions:run"
SCHEDULES_WRITE = "schedules:write"
CONTEXTS_WRITE = "contexts:write"
ADMIN = "admin"

ALL_SCOPES: tuple[str, ...] = (JOBS_READ, JOBS_WRITE, EXECUTIONS_RUN, SCHEDULES_WRITE, CONTEXTS_WRITE, ADMIN)


def split_scopes(text: str | None) -> list[str]:
    """`"jobs:read jobs:write"` (spaces or commas) -> `["jobs:read", "jobs:write"]`, order kept, no duplicates."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for part in text.replace(",", " ").split():
        seen.setdefault(part, None)
    return list(seen)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return [s for s in scopes if s not in ALL_SCOPES]


def client_scopes(setting: str | None) -> tuple[str, ...]:
    """The configured client's scopes: every scope unless `ETL_AUTH_CLIENT_SCOPES` narrows them."""
    if setting is None or not setting.strip():
        return ALL_SCOPES
    scopes = split_scopes(setting)
    bad = unknown_scopes(scopes)
    if bad:
        raise SettingsError(
            f"ETL_AUTH_CLIENT_SCOPES: unknown scope(s) {', '.join(bad)}; known: {', '.join(ALL_SCOPES)}"
        )
    return tuple(scopes)


def allows(granted: Iterable[str], needed: str) -> bool:
    """Whether a token with `granted` scopes may do what `needed` guards."""
    held = set(granted)
    return needed in held or ADMIN in held
