"""Building a component's backend from its options, and turning driver failures into component errors.

Every message is masked with the backend's secrets (the DSN password, resolved secure values) before it
leaves: it may end up in logs, metrics, the error port and API answers.
"""

from __future__ import annotations

from typing import Any

from etl_core.components.base import ComponentContext
from etl_core.connectors.base import Backend
from etl_core.errors import ComponentError, PermanentComponentError, TransientError
from etl_core.params.redaction import redact


def component_error(ctx: ComponentContext[Any], backend: Backend, exc: BaseException, *, stage: str) -> ComponentError:
    """A driver exception as the component error its kind calls for (transient ones are retried)."""
    kind = backend.classify(exc)
    message = f"{backend.target}: {backend.describe(exc)}"
    if kind == "transient":
        return TransientError(message, component=ctx.name, stage=stage)
    if kind == "permanent":
        return PermanentComponentError(message, component=ctx.name, stage=stage)
    return ComponentError(message, component=ctx.name, stage=stage)


def config_error(ctx: ComponentContext[Any], backend: Backend | None, message: str, *, stage: str) -> ComponentError:
    """A problem no retry can fix (a bad option, a missing table), masked."""
    if backend is not None:
        text = backend.redact(f"{backend.target}: {message}")
    else:
        text = redact(message, getattr(ctx.options, "secret_values", ()))
    return PermanentComponentError(text, component=ctx.name, stage=stage)


def server_backend(ctx: ComponentContext[Any], family: str) -> Backend:
    """The PostgreSQL or MariaDB backend named by the component's (resolved) `dsn` option."""
    from etl_core.connectors.dsn import DsnError
    from etl_core.connectors.pools import pools_for

    opts = ctx.options
    secrets: frozenset[str] = getattr(opts, "secret_values", frozenset())
    if not opts.dsn:
        raise config_error(
            ctx,
            None,
            "no connection: give a dsn option, or a context_id naming a credentials mapping (resolved when the "
            "job runs through the server, or the CLI with a context source)",
            stage="open",
        )
    try:
        if family == "postgresql":
            from etl_core.connectors.postgres import PostgresBackend

            return PostgresBackend(opts.dsn, pools=pools_for(ctx.resources), secrets=secrets)
        from etl_core.connectors.mariadb import MariaBackend

        return MariaBackend(opts.dsn, pools=pools_for(ctx.resources), secrets=secrets)
    except DsnError as exc:
        raise config_error(ctx, None, str(exc), stage="open") from None


def sqlite_backend(ctx: ComponentContext[Any]) -> Backend:
    """The SQLite backend for the component's `database` file (resolved and checked like any file path)."""
    from etl_core.connectors.sqlite import SqliteBackend

    opts = ctx.options
    return SqliteBackend(ctx.path(opts.database), secrets=getattr(opts, "secret_values", frozenset()))
