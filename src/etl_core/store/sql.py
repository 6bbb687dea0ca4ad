"""The store's queries, written once for both backends.

A backend supplies connections (`_tx`) that run `?`-placeholder SQL and hand rows back as dicts; everything
else (records <-> rows, filters, migrations) lives here so SQLite and PostgreSQL cannot drift apart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from etl_core.errors import EtlError
from etl_core.params.context import ContextParameter
from etl_core.store.migrations import LATEST_VERSION, MIGRATIONS, VERSION_TABLE
from etl_core.store.models import (
    AttemptRecord,
    ContextRecord,
    CredentialsRecord,
    ExecutionQuery,
    ExecutionRecord,
    JobRecord,
    ScheduleRecord,
)

Row = dict[str, Any]

_UNFINISHED = ("PENDING", "RUNNING")
_SORT_COLUMNS = {"started_at": "started_at", "finished_at": "finished_at", "status": "status"}


class StoreError(EtlError):
    """The database cannot be used (unreachable, or its schema is newer than this etl-core)."""

    code = "STORE_ERROR"


class Connection(Protocol):
    """One connection inside one transaction; SQL uses `?` placeholders."""

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...
    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; returns the number of rows it changed."""
        ...


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str | None, default: Any) -> Any:
    return default if text is None else json.loads(text)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _ts(value: float) -> float:
    """A timestamp as stored: microseconds, so it survives the API's ISO 8601 round trip exactly."""
    return round(float(value), 6)


def _ts_or_none(value: float | None) -> float | None:
    return None if value is None else _ts(value)


class SqlStore:
    """Every `Store` method over `?`-placeholder SQL; subclasses provide `_connect`, `_disconnect` and `_tx`."""

    backend = "sql"

    # -- backend hooks ---------------------------------------------------------------------------
    async def _connect(self) -> None:
        raise NotImplementedError

    async def _disconnect(self) -> None:
        raise NotImplementedError

    def _tx(self, *, exclusive: bool = False) -> AbstractAsyncContextManager[Connection]:
        """A transaction; `exclusive` also serialises it against other processes (used to migrate)."""
        raise NotImplementedError

    # -- life cycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        await self._connect()
        try:
            await self._migrate()
        except BaseException:
            await self._disconnect()
            raise

    async def close(self) -> None:
        await self._disconnect()

    async def ping(self) -> None:
        async with self._tx() as c:
            await c.fetchone("SELECT 1 AS ok")

    async def schema_version(self) -> int:
        async with self._tx() as c:
            row = await c.fetchone("SELECT MAX(version) AS v FROM schema_migrations")
        return int(row["v"] or 0) if row else 0

    async def _migrate(self) -> None:
        async with self._tx(exclusive=True) as c:
            await c.execute(VERSION_TABLE)
            row = await c.fetchone("SELECT MAX(version) AS v FROM schema_migrations")
            current = int(row["v"] or 0) if row else 0
            if current > LATEST_VERSION:
                raise StoreError(
                    f"the database schema is at version {current}, newer than this etl-core knows "
                    f"({LATEST_VERSION}); upgrade etl-core"
                )
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                for statement in migration.statements:
                    await c.execute(statement)
                await c.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                    migration.version,
                    migration.description,
                    time.time(),
                )

    # -- jobs ------------------------------------------------------------------------------------
    _JOB_COLUMNS = (
        "id, name, strategy_type, num_of_retries, max_concurrent_runs, file_logging, metadata, config, "
        "created_at, updated_at"
    )

    @staticmethod
    def _job(row: Row) -> JobRecord:
        return JobRecord(
            id=row["id"],
            name=row["name"],
            config_text=row["config"],
            strategy_type=row["strategy_type"],
            num_of_retries=int(row["num_of_retries"]),
            max_concurrent_runs=int(row["max_concurrent_runs"]),
            file_logging=bool(row["file_logging"]),
            metadata=_loads(row["metadata"], {}),
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
        )

    async def create_job(self, job: JobRecord) -> None:
        async with self._tx() as c:
            await c.execute(
                f"INSERT INTO jobs ({self._JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                job.id,
                job.name,
                job.strategy_type,
                job.num_of_retries,
                job.max_concurrent_runs,
                int(job.file_logging),
                _dumps(job.metadata),
                job.config_text,
                _ts(job.created_at),
                _ts(job.updated_at),
            )

    async def get_job(self, job_id: str) -> JobRecord | None:
        async with self._tx() as c:
            row = await c.fetchone(f"SELECT {self._JOB_COLUMNS} FROM jobs WHERE id = ?", job_id)
        return None if row is None else self._job(row)

    async def list_jobs(self) -> list[JobRecord]:
        async with self._tx() as c:
            rows = await c.fetch(f"SELECT {self._JOB_COLUMNS} FROM jobs ORDER BY created_at, id")
        return [self._job(r) for r in rows]

    async def update_job(self, job: JobRecord) -> bool:
        async with self._tx() as c:
            changed = await c.execute(
                "UPDATE jobs SET name = ?, strategy_type = ?, num_of_retries = ?, max_concurrent_runs = ?, "
                "file_logging = ?, metadata = ?, config = ?, updated_at = ? WHERE id = ?",
                job.name,
                job.strategy_type,
                job.num_of_retries,
                job.max_concurrent_runs,
                int(job.file_logging),
                _dumps(job.metadata),
                job.config_text,
                _ts(job.updated_at),
                job.id,
            )
        return changed > 0

    async def delete_job(self, job_id: str) -> bool:
        async with self._tx() as c:
            return await c.execute("DELETE FROM jobs WHERE id = ?", job_id) > 0

    # -- executions ------------------------------------------------------------------------------
    _EXEC_COLUMNS = (
        "id, job_id, job_name, environment, status, max_attempts, trigger, error, totals, started_at, finished_at"
    )

    @staticmethod
    def _execution(row: Row) -> ExecutionRecord:
        return ExecutionRecord(
            id=row["id"],
            job_id=row["job_id"],
            job_name=row["job_name"],
            environment=row["environment"],
            status=row["status"],
            max_attempts=int(row["max_attempts"]),
            trigger=row["trigger"],
            error=row["error"],
            totals=_loads(row["totals"], {}),
            started_at=float(row["started_at"]),
            finished_at=_float(row["finished_at"]),
        )

    async def create_execution(self, execution: ExecutionRecord) -> None:
        e = execution
        async with self._tx() as c:
            await c.execute(
                f"INSERT INTO executions ({self._EXEC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                e.id,
                e.job_id,
                e.job_name,
                e.environment,
                e.status,
                e.max_attempts,
                e.trigger,
                e.error,
                _dumps(e.totals),
                _ts(e.started_at),
                _ts_or_none(e.finished_at),
            )

    async def update_execution(self, execution: ExecutionRecord) -> bool:
        e = execution
        async with self._tx() as c:
            changed = await c.execute(
                "UPDATE executions SET status = ?, error = ?, totals = ?, started_at = ?, finished_at = ? WHERE id = ?",
                e.status,
                e.error,
                _dumps(e.totals),
                _ts(e.started_at),
                _ts_or_none(e.finished_at),
                e.id,
            )
        return changed > 0

    async def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        async with self._tx() as c:
            row = await c.fetchone(f"SELECT {self._EXEC_COLUMNS} FROM executions WHERE id = ?", execution_id)
        return None if row is None else self._execution(row)

    async def list_executions(self, query: ExecutionQuery) -> tuple[list[ExecutionRecord], int]:
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("job_id", query.job_id), ("status", query.status), ("environment", query.environment)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.started_after is not None:
            where.append("started_at >= ?")
            args.append(float(query.started_after))
        if query.started_before is not None:
            where.append("started_at <= ?")
            args.append(float(query.started_before))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        column = _SORT_COLUMNS[query.sort_by]
        direction = "ASC" if query.order == "asc" else "DESC"
        order = f" ORDER BY {column} {direction} NULLS LAST, started_at {direction}, id {direction}"
        async with self._tx() as c:
            total_row = await c.fetchone(f"SELECT COUNT(*) AS n FROM executions{clause}", *args)
            rows = await c.fetch(
                f"SELECT {self._EXEC_COLUMNS} FROM executions{clause}{order} LIMIT ? OFFSET ?",
                *args,
                int(query.limit),
                int(query.offset),
            )
        total = int(total_row["n"]) if total_row else 0
        return [self._execution(r) for r in rows], total

    async def save_attempt(self, attempt: AttemptRecord) -> None:
        a = attempt
        async with self._tx() as c:
            await c.execute(
                "INSERT INTO attempts (execution_id, number, status, error, failed_component, cancelled_components, "
                "started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (execution_id, number) DO UPDATE SET status = excluded.status, "
                "error = excluded.error, failed_component = excluded.failed_component, "
                "cancelled_components = excluded.cancelled_components, started_at = excluded.started_at, "
                "finished_at = excluded.finished_at",
                a.execution_id,
                a.number,
                a.status,
                a.error,
                a.failed_component,
                _dumps(a.cancelled_components),
                _ts_or_none(a.started_at),
                _ts_or_none(a.finished_at),
            )
            await c.execute(
                "DELETE FROM component_metrics WHERE execution_id = ? AND attempt = ?", a.execution_id, a.number
            )
            for position, (name, metrics) in enumerate(a.components.items()):
                await c.execute(
                    "INSERT INTO component_metrics (execution_id, attempt, position, component, comp_type, status, "
                    "metrics) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    a.execution_id,
                    a.number,
                    position,
                    name,
                    str(metrics.get("comp_type", "")),
                    str(metrics.get("status", "")),
                    _dumps(metrics),
                )

    async def list_attempts(self, execution_id: str) -> list[AttemptRecord]:
        async with self._tx() as c:
            rows = await c.fetch(
                "SELECT execution_id, number, status, error, failed_component, cancelled_components, started_at, "
                "finished_at FROM attempts WHERE execution_id = ? ORDER BY number",
                execution_id,
            )
            metric_rows = await c.fetch(
                "SELECT attempt, component, metrics FROM component_metrics WHERE execution_id = ? "
                "ORDER BY attempt, position",
                execution_id,
            )
        by_attempt: dict[int, dict[str, dict[str, Any]]] = {}
        for m in metric_rows:
            by_attempt.setdefault(int(m["attempt"]), {})[m["component"]] = _loads(m["metrics"], {})
        return [
            AttemptRecord(
                execution_id=r["execution_id"],
                number=int(r["number"]),
                status=r["status"],
                error=r["error"],
                failed_component=r["failed_component"],
                cancelled_components=_loads(r["cancelled_components"], []),
                started_at=_float(r["started_at"]),
                finished_at=_float(r["finished_at"]),
                components=by_attempt.get(int(r["number"]), {}),
            )
            for r in rows
        ]

    async def mark_interrupted(self, message: str) -> list[str]:
        now = _ts(time.time())
        marks = ", ".join("?" for _ in _UNFINISHED)
        async with self._tx() as c:
            rows = await c.fetch(f"SELECT id FROM executions WHERE status IN ({marks}) ORDER BY id", *_UNFINISHED)
            ids = [r["id"] for r in rows]
            if ids:
                # the components' last saved state is stale (saved when the attempt started, say): they end with it
                stale = await c.fetch(
                    "SELECT execution_id, attempt, component, metrics FROM component_metrics "
                    f"WHERE status IN ({marks}) "
                    f"AND execution_id IN (SELECT id FROM executions WHERE status IN ({marks}))",
                    *_UNFINISHED,
                    *_UNFINISHED,
                )
                for m in stale:
                    metrics = _loads(m["metrics"], {})
                    metrics.update(status="FAILED", error=message)
                    await c.execute(
                        "UPDATE component_metrics SET status = 'FAILED', metrics = ? "
                        "WHERE execution_id = ? AND attempt = ? AND component = ?",
                        _dumps(metrics),
                        m["execution_id"],
                        m["attempt"],
                        m["component"],
                    )
                await c.execute(
                    f"UPDATE attempts SET status = 'FAILED', error = ?, finished_at = ? WHERE status IN ({marks}) "
                    f"AND execution_id IN (SELECT id FROM executions WHERE status IN ({marks}))",
                    message,
                    now,
                    *_UNFINISHED,
                    *_UNFINISHED,
                )
                await c.execute(
                    f"UPDATE executions SET status = 'FAILED', error = ?, finished_at = ? WHERE status IN ({marks})",
                    message,
                    now,
                    *_UNFINISHED,
                )
        return ids

    # -- schedules -------------------------------------------------------------------------------
    _SCHEDULE_COLUMNS = "id, name, job_id, environment, trigger_type, trigger_args, paused, created_at, updated_at"

    @staticmethod
    def _schedule(row: Row) -> ScheduleRecord:
        return ScheduleRecord(
            id=row["id"],
            name=row["name"],
            job_id=row["job_id"],
            environment=row["environment"],
            trigger_type=row["trigger_type"],
            trigger_args=_loads(row["trigger_args"], {}),
            paused=bool(row["paused"]),
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
        )

    async def create_schedule(self, schedule: ScheduleRecord) -> None:
        s = schedule
        async with self._tx() as c:
            await c.execute(
                f"INSERT INTO schedules ({self._SCHEDULE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                s.id,
                s.name,
                s.job_id,
                s.environment,
                s.trigger_type,
                _dumps(s.trigger_args),
                int(s.paused),
                _ts(s.created_at),
                _ts(s.updated_at),
            )

    async def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        async with self._tx() as c:
            row = await c.fetchone(f"SELECT {self._SCHEDULE_COLUMNS} FROM schedules WHERE id = ?", schedule_id)
        return None if row is None else self._schedule(row)

    async def list_schedules(self, job_id: str | None = None) -> list[ScheduleRecord]:
        sql = f"SELECT {self._SCHEDULE_COLUMNS} FROM schedules"
        args: Sequence[Any] = ()
        if job_id is not None:
            sql += " WHERE job_id = ?"
            args = (job_id,)
        async with self._tx() as c:
            rows = await c.fetch(sql + " ORDER BY created_at, id", *args)
        return [self._schedule(r) for r in rows]

    async def update_schedule(self, schedule: ScheduleRecord) -> bool:
        s = schedule
        async with self._tx() as c:
            changed = await c.execute(
                "UPDATE schedules SET name = ?, job_id = ?, environment = ?, trigger_type = ?, trigger_args = ?, "
                "paused = ?, updated_at = ? WHERE id = ?",
                s.name,
                s.job_id,
                s.environment,
                s.trigger_type,
                _dumps(s.trigger_args),
                int(s.paused),
                _ts(s.updated_at),
                s.id,
            )
        return changed > 0

    async def delete_schedule(self, schedule_id: str) -> bool:
        async with self._tx() as c:
            return await c.execute("DELETE FROM schedules WHERE id = ?", schedule_id) > 0

    # -- contexts and credentials ----------------------------------------------------------------
    async def create_context(self, context: ContextRecord) -> None:
        x = context
        params = {
            k: {"key": p.key, "value": None if p.is_secure else p.value, "type": p.type, "is_secure": p.is_secure}
            for k, p in x.parameters.items()
        }
        async with self._tx() as c:
            await c.execute(
                "INSERT INTO contexts (id, kind, name, environment, parameters, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                x.id,
                x.kind,
                x.name,
                x.environment,
                _dumps(params),
                _ts(x.created_at),
            )
            for env, cred_id in x.credentials_ids.items():
                await c.execute(
                    "INSERT INTO context_credentials (context_id, environment, credentials_id) VALUES (?, ?, ?)",
                    x.id,
                    env,
                    cred_id,
                )

    @staticmethod
    def _context(row: Row, mapping: dict[str, str]) -> ContextRecord:
        params = {
            k: ContextParameter(
                key=p.get("key", k),
                value=p.get("value"),
                type=p.get("type", "string"),
                is_secure=bool(p.get("is_secure", False)),
            )
            for k, p in _loads(row["parameters"], {}).items()
        }
        return ContextRecord(
            id=row["id"],
            name=row["name"],
            environment=row["environment"],
            kind=row["kind"],
            parameters=params,
            credentials_ids=mapping,
            created_at=float(row["created_at"]),
        )

    async def get_context(self, context_id: str) -> ContextRecord | None:
        async with self._tx() as c:
            row = await c.fetchone(
                "SELECT id, kind, name, environment, parameters, created_at FROM contexts WHERE id = ?", context_id
            )
            if row is None:
                return None
            links = await c.fetch(
                "SELECT environment, credentials_id FROM context_credentials WHERE context_id = ? ORDER BY environment",
                context_id,
            )
        return self._context(row, {r["environment"]: r["credentials_id"] for r in links})

    async def list_contexts(self) -> list[ContextRecord]:
        async with self._tx() as c:
            rows = await c.fetch(
                "SELECT id, kind, name, environment, parameters, created_at FROM contexts ORDER BY created_at, id"
            )
            links = await c.fetch(
                "SELECT context_id, environment, credentials_id FROM context_credentials ORDER BY environment"
            )
        mappings: dict[str, dict[str, str]] = {}
        for link in links:
            mappings.setdefault(link["context_id"], {})[link["environment"]] = link["credentials_id"]
        return [self._context(r, mappings.get(r["id"], {})) for r in rows]

    async def delete_context(self, context_id: str) -> bool:
        async with self._tx() as c:
            await c.execute("DELETE FROM context_credentials WHERE context_id = ?", context_id)
            return await c.execute("DELETE FROM contexts WHERE id = ?", context_id) > 0

    _CRED_COLUMNS = "id, name, db_user, host, port, db_name, created_at"

    @staticmethod
    def _credentials(row: Row) -> CredentialsRecord:
        return CredentialsRecord(
            id=row["id"],
            name=row["name"],
            user=row["db_user"],
            host=row["host"],
            port=None if row["port"] is None else int(row["port"]),
            database=row["db_name"],
            created_at=float(row["created_at"]),
        )

    async def create_credentials(self, credentials: CredentialsRecord) -> None:
        x = credentials
        async with self._tx() as c:
            await c.execute(
                f"INSERT INTO credentials ({self._CRED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                x.id,
                x.name,
                x.user,
                x.host,
                x.port,
                x.database,
                _ts(x.created_at),
            )

    async def get_credentials(self, credentials_id: str) -> CredentialsRecord | None:
        async with self._tx() as c:
            row = await c.fetchone(f"SELECT {self._CRED_COLUMNS} FROM credentials WHERE id = ?", credentials_id)
        return None if row is None else self._credentials(row)

    async def list_credentials(self) -> list[CredentialsRecord]:
        async with self._tx() as c:
            rows = await c.fetch(f"SELECT {self._CRED_COLUMNS} FROM credentials ORDER BY created_at, id")
        return [self._credentials(r) for r in rows]

    async def delete_credentials(self, credentials_id: str) -> bool:
        async with self._tx() as c:
            return await c.execute("DELETE FROM credentials WHERE id = ?", credentials_id) > 0

    async def credentials_in_use(self, credentials_id: str) -> list[str]:
        async with self._tx() as c:
            rows = await c.fetch(
                "SELECT DISTINCT context_id FROM context_credentials WHERE credentials_id = ? ORDER BY context_id",
                credentials_id,
            )
        return [r["context_id"] for r in rows]
