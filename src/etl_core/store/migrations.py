"""Versioned forward migrations, written once in the SQL both SQLite and PostgreSQL accept.

A migration is appended, never edited: version N runs on every database whose recorded version is below N,
in order; the pending ones run in one transaction together with the rows that record them, under a lock that
keeps two processes starting at once from migrating twice. Portable choices: timestamps are
DOUBLE PRECISION POSIX seconds, booleans INTEGER 0/1, JSON documents TEXT.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "jobs, executions, attempts, component metrics, schedules, contexts, credentials",
        (
            """CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                strategy_type TEXT NOT NULL,
                num_of_retries INTEGER NOT NULL,
                max_concurrent_runs INTEGER NOT NULL,
                file_logging INTEGER NOT NULL,
                metadata TEXT NOT NULL,
                config TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )""",
            """CREATE TABLE executions (
                id TEXT PRIMARY KEY,
                job_id TEXT NOT NULL,
                job_name TEXT NOT NULL,
                environment TEXT NOT NULL,
                status TEXT NOT NULL,
                max_attempts INTEGER NOT NULL,
                trigger TEXT NOT NULL,
                error TEXT,
                totals TEXT NOT NULL,
                started_at DOUBLE PRECISION NOT NULL,
                finished_at DOUBLE PRECISION
            )""",
            "CREATE INDEX executions_job ON executions (job_id, started_at)",
            "CREATE INDEX executions_status ON executions (status)",
            "CREATE INDEX executions_started ON executions (started_at)",
            """CREATE TABLE attempts (
                execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
                number INTEGER NOT NULL,
                status TEXT NOT NULL,
                error TEXT,
                failed_component TEXT,
                cancelled_components TEXT NOT NULL,
                started_at DOUBLE PRECISION,
                finished_at DOUBLE PRECISION,
                PRIMARY KEY (execution_id, number)
            )""",
            """CREATE TABLE component_metrics (
                execution_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                position INTEGER NOT NULL,
                component TEXT NOT NULL,
                comp_type TEXT NOT NULL,
                status TEXT NOT NULL,
                metrics TEXT NOT NULL,
                PRIMARY KEY (execution_id, attempt, component),
                FOREIGN KEY (execution_id, attempt) REFERENCES attempts (execution_id, number) ON DELETE CASCADE
            )""",
            """CREATE TABLE schedules (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                job_id TEXT NOT NULL,
                environment TEXT NOT NULL,
                trigger_type TEXT NOT NULL,
                trigger_args TEXT NOT NULL,
                paused INTEGER NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX schedules_job ON schedules (job_id)",
            """CREATE TABLE contexts (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                environment TEXT NOT NULL,
                parameters TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )""",
            """CREATE TABLE credentials (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                db_user TEXT NOT NULL,
                host TEXT NOT NULL,
                port INTEGER,
                db_name TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )""",
            """CREATE TABLE context_credentials (
                context_id TEXT NOT NULL REFERENCES contexts (id) ON DELETE CASCADE,
                environment TEXT NOT NULL,
                credentials_id TEXT NOT NULL REFERENCES credentials (id),
                PRIMARY KEY (context_id, environment)
            )""",
            "CREATE INDEX context_credentials_by_credentials ON context_credentials (credentials_id)",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)"""
