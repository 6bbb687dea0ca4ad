"""${...} references and credentials resolved per environment, as the executor's `resolve_options` hook."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from etl_core.config.loader import parse_job
from etl_core.connectors.pools import POOLS
from etl_core.errors import ConfigError
from etl_core.graph.plan import Plan
from etl_core.graph.planner import PlanOptions, plan_job
from etl_core.params.context import ContextParameter, Credentials, MemoryContextSource
from etl_core.params.resolver import ParameterResolver
from etl_core.params.secrets import MemorySecretStore
from etl_core.runtime.executor import JobExecutor, RunOptions
from etl_core.testing import JobRun, list_sink, make_job

SECRET = "S3cure-Value-Never-Shown"
SCHEMA = {"fields": [{"name": "id", "data_type": "integer"}]}


def plan_of(job: dict[str, Any], data_dir: Path = Path(".")) -> Plan:
    return plan_job(parse_job(job), PlanOptions(data_dir=data_dir))


async def run_resolved(
    job: dict[str, Any],
    source: Any,
    *,
    environment: str = "DEV",
    environ: dict[str, str] | None = None,
    data_dir: Path = Path("."),
) -> JobRun:
    plan = plan_of(job, data_dir)
    resolver = ParameterResolver(source, environ=environ or {})
    await resolver.prepare(plan, environment)
    resources: dict[str, Any] = {}
    options = RunOptions(data_dir=data_dir, resolve_options=resolver, resources=resources, retry_backoff_s=0)
    state = await JobExecutor(plan, options, environment=environment).run()
    await POOLS.close_all()
    return JobRun(state, resources.get("collected", {}))


async def contexts() -> MemoryContextSource:
    source = MemoryContextSource(MemorySecretStore())
    await source.add_context(
        "ctx-dev",
        name="dev settings",
        environment="DEV",
        parameters={
            "table": {"key": "table", "value": "orders", "type": "string", "is_secure": False},
            "min_id": {"key": "min_id", "value": 10, "type": "integer", "is_secure": False},
            "token": {"key": "token", "value": SECRET, "type": "string", "is_secure": True},
        },
    )
    await source.add_context(
        "ctx-job",
        name="job defaults",
        environment="DEV",
        parameters={"table": {"value": "from_job"}, "db": {"value": "job.db"}},
    )
    await source.add_context("ctx-prod", name="prod settings", environment="PROD", parameters={"table": {"value": "p"}})
    return source


def _reader(**options: Any) -> dict[str, Any]:
    return {"name": "read", "comp_type": "read_sqlite", "database": "x.db", **options}


async def test_a_component_context_resolves_references_in_nested_options() -> None:
    source = await contexts()
    job = make_job(
        _reader(context_id="ctx-dev", query="SELECT id FROM ${table} WHERE id > :min", params={"min": "${min_id}"}),
        list_sink("s"),
    )
    plan = plan_of(job)
    resolver = ParameterResolver(source, environ={})
    await resolver.prepare(plan, "DEV")
    opts = resolver(plan.nodes["read"], "DEV")
    assert opts.query == "SELECT id FROM orders WHERE id > :min"
    assert opts.params == {"min": "10"}
    assert plan.nodes["read"].options.query == "SELECT id FROM ${table} WHERE id > :min"  # the plan is untouched
    assert resolver(plan.nodes["s"], "DEV") is plan.nodes["s"].options  # nothing to resolve: the same object


async def test_the_job_context_and_the_environment_fill_in_behind_the_component() -> None:
    source = await contexts()
    job = make_job(
        _reader(database="${db}", entity_name="${table}_${env:SUFFIX}"), list_sink("s"), context_id="ctx-job"
    )
    plan = plan_of(job)
    resolver = ParameterResolver(source, environ={"SUFFIX": "2024"})
    await resolver.prepare(plan, "DEV")
    opts = resolver(plan.nodes["read"], "DEV")
    assert (opts.database, opts.entity_name) == ("job.db", "from_job_2024")


async def test_every_unresolved_reference_is_reported_with_component_and_option_path() -> None:
    source = await contexts()
    job = make_job(
        _reader(context_id="ctx-dev", query="SELECT * FROM ${missing} WHERE a = :a", params={"a": "${env:NOPE}"}),
        {
            "name": "other",
            "comp_type": "read_sqlite",
            "database": "${nothing}",
            "entity_name": "t",
            "routes": {"out": ["s"]},
        },
        list_sink("s"),
        chain=False,
    )
    job["components"][0]["routes"] = {"out": ["s"]}
    with pytest.raises(ConfigError) as caught:
        await ParameterResolver(source, environ={}).prepare(plan_of(job), "DEV")
    issues = [(i.path, i.component, i.message) for i in caught.value.issues]
    assert issues == [
        (
            "components[0].query",
            "read",
            "unresolved reference ${missing}: no parameter 'missing' in context 'ctx-dev' for DEV",
        ),
        ("components[0].params.a", "read", "unresolved reference ${env:NOPE}: environment variable NOPE is not set"),
        (
            "components[1].database",
            "other",
            "unresolved reference ${nothing}: neither the component nor the job names a context_id",
        ),
    ]
    assert "components[0] (name 'read'): query: unresolved reference ${missing}" in str(caught.value)


async def test_a_context_of_another_environment_is_refused() -> None:
    source = await contexts()
    job = make_job(_reader(context_id="ctx-prod", entity_name="${table}"), list_sink("s"))
    with pytest.raises(
        ConfigError, match="context 'ctx-prod' \\(prod settings\\) belongs to environment PROD, not to DEV"
    ):
        await ParameterResolver(source).prepare(plan_of(job), "DEV")
    resolver = ParameterResolver(source)
    plan = plan_of(job)
    await resolver.prepare(plan, "PROD")
    assert resolver(plan.nodes["read"], "PROD").entity_name == "p"
    with pytest.raises(ConfigError, match="not resolved for environment DEV"):
        resolver(plan.nodes["read"], "DEV")


async def test_an_unknown_context_and_a_missing_store_are_named() -> None:
    job = make_job(_reader(context_id="ghost", entity_name="${t}"), list_sink("s"))
    with pytest.raises(ConfigError, match="the component's context 'ghost' does not exist"):
        await ParameterResolver(await contexts()).prepare(plan_of(job), "DEV")
    with pytest.raises(ConfigError, match="context 'ghost' cannot be resolved: no context store is configured"):
        await ParameterResolver(None).prepare(plan_of(job), "DEV")


async def test_the_servers_own_secrets_cannot_be_referenced() -> None:
    job = make_job(_reader(entity_name="${env:ETL_AUTH_SIGNING_KEY}"), list_sink("s"))
    with pytest.raises(ConfigError) as caught:
        await ParameterResolver(None, environ={"ETL_AUTH_SIGNING_KEY": SECRET}).prepare(plan_of(job), "DEV")
    assert "may not be referenced" in str(caught.value)
    assert SECRET not in str(caught.value)


async def test_a_value_that_breaks_an_option_after_resolution_is_reported_without_the_value() -> None:
    source = await contexts()
    job = make_job(_reader(context_id="ctx-dev", query="DELETE FROM t WHERE x = '${token}'"), list_sink("s"))
    with pytest.raises(ConfigError) as caught:
        await ParameterResolver(source).prepare(plan_of(job), "DEV")
    [issue] = caught.value.issues
    assert issue.component == "read"
    assert "a read query must be one SELECT" in issue.message
    assert SECRET not in str(caught.value)


async def test_secure_values_are_handed_to_the_options_for_masking() -> None:
    source = await contexts()
    job = make_job(_reader(context_id="ctx-dev", query="SELECT '${token}' AS t"), list_sink("s"))
    plan = plan_of(job)
    resolver = ParameterResolver(source)
    await resolver.prepare(plan, "DEV")
    opts = resolver(plan.nodes["read"], "DEV")
    assert opts.secret_values == frozenset({SECRET})
    assert plan.nodes["read"].options.secret_values == frozenset()


async def test_a_credentials_mapping_gives_the_dsn_for_the_environment() -> None:
    source = MemoryContextSource()
    await source.add_credentials(
        "c-dev", name="dev", user="etl user", host="dev-db", port=5433, database="sales", password="p@ss:/word"
    )
    await source.add_credentials("c-prod", name="prod", user="etl", host="::1", database="sales", password="x")
    await source.add_mapping(
        "db", name="sales db", environment="DEV", credentials_ids={"DEV": "c-dev", "PROD": "c-prod"}
    )
    job = make_job(
        {"name": "r", "comp_type": "read_postgresql", "context_id": "db", "entity_name": "t"}, list_sink("s")
    )
    plan = plan_of(job)
    resolver = ParameterResolver(source)
    await resolver.prepare(plan, "DEV")
    await resolver.prepare(plan, "PROD")
    assert resolver(plan.nodes["r"], "DEV").dsn == "postgresql://etl%20user:p%40ss%3A%2Fword@dev-db:5433/sales"
    assert resolver(plan.nodes["r"], "PROD").dsn == "postgresql://etl:x@[::1]/sales"
    with pytest.raises(
        ConfigError, match=r"credentials mapping 'db' \(sales db\) has no credentials for TEST \(it has: DEV, PROD\)"
    ):
        await resolver.prepare(plan, "TEST")


async def test_a_database_component_without_dsn_or_mapping_is_reported() -> None:
    source = await contexts()
    for comp, message in (
        (
            {"name": "r", "comp_type": "read_mariadb", "entity_name": "t"},
            "read_mariadb needs a dsn option or a context_id naming a credentials mapping",
        ),
        (
            {"name": "r", "comp_type": "read_mariadb", "entity_name": "t", "context_id": "ctx-dev"},
            "context 'ctx-dev' is not a credentials mapping",
        ),
    ):
        with pytest.raises(ConfigError, match=message):
            await ParameterResolver(source).prepare(plan_of(make_job(comp, list_sink("s"))), "DEV")


def test_a_secure_parameter_and_credentials_never_show_their_secret() -> None:
    assert SECRET not in repr(ContextParameter("token", SECRET, "string", True))
    assert SECRET not in repr(Credentials("u", "h", 1, "d", SECRET))


async def test_a_resolved_sqlite_job_runs_against_the_resolved_file(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "resolved.db") as conn:
        conn.execute("CREATE TABLE orders (id INTEGER)")
        conn.executemany("INSERT INTO orders VALUES (?)", [(5,), (15,), (25,)])
    conn.close()
    source = await contexts()
    job = make_job(
        _reader(
            context_id="ctx-dev",
            database="${env:DB_FILE}",
            query="SELECT id FROM ${table} WHERE id > :m",
            params={"m": "${min_id}"},
            out_port_schemas={"out": SCHEMA},
        ),
        list_sink("s", schema=SCHEMA),
    )
    run = await run_resolved(job, source, environ={"DB_FILE": "resolved.db"}, data_dir=data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("s") == [{"id": 15}, {"id": 25}]


async def test_a_mapping_connects_postgresql_for_the_executions_environment(postgres_dsn: str) -> None:
    from urllib.parse import urlparse

    u = urlparse(postgres_dsn)
    source = MemoryContextSource()
    await source.add_credentials(
        "pg-test",
        name="pg",
        user=u.username,
        host=u.hostname,
        port=u.port,
        database=u.path.lstrip("/"),
        password=SECRET,
    )
    await source.add_credentials(
        "pg-bad",
        name="pg",
        user=u.username,
        host=u.hostname,
        port=u.port,
        database="no_such_database_here",
        password=SECRET,
    )
    await source.add_mapping(
        "pg-map", name="pg", environment="TEST", credentials_ids={"TEST": "pg-test", "PROD": "pg-bad"}
    )
    job = make_job(
        {"name": "r", "comp_type": "read_postgresql", "context_id": "pg-map", "query": "SELECT 41 + 1 AS id"},
        list_sink("s"),
    )
    run = await run_resolved(job, source, environment="TEST")
    assert run.status == "SUCCESS", run.state.error
    assert run.records("s") == [{"id": 42}]
    run = await run_resolved(job, source, environment="PROD")
    assert run.status == "FAILED"
    assert 'database "no_such_database_here" does not exist' in (run.state.error or "")
    assert SECRET not in (run.state.error or "")


async def test_a_secure_value_echoed_by_the_database_is_masked(mariadb_dsn: str) -> None:
    source = await contexts()
    job = make_job(
        {
            "name": "r",
            "comp_type": "read_mariadb",
            "dsn": mariadb_dsn,
            "context_id": "ctx-dev",
            "query": "SELECT '${token}' AS t FROM no_such_table_anywhere",
        },
        list_sink("s"),
    )
    run = await run_resolved(job, source)
    assert run.status == "FAILED"
    assert "no_such_table_anywhere" in (run.state.error or "")
    job["components"][0]["query"] = "SELECT 1 AS t FROM DUAL WHERE WHERE '${token}' = 1"
    run = await run_resolved(job, source)
    assert run.status == "FAILED"
    assert "near" in (run.state.error or "")
    assert "***" in (run.state.error or "")
    assert SECRET not in (run.state.error or "")
    assert all(SECRET not in str(m.snapshot()) for m in run.state.attempts[0].components.values())


async def test_a_secret_quoted_by_a_file_components_error_is_masked_in_the_error_and_the_logs(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = make_job(
        {
            "name": "read",
            "comp_type": "read_csv",
            "filepath": "in_${env:MY_SECRET}.csv",
            "out_port_schemas": {"out": SCHEMA},
        },
        list_sink("s", schema=SCHEMA),
    )

    run = await run_resolved(job, await contexts(), environ={"MY_SECRET": "Hunter2SuperSecret"}, data_dir=data_dir)

    assert run.status == "FAILED"
    assert run.state.error is not None
    assert "in_***.csv" in run.state.error
    logged = capsys.readouterr().err
    assert "does not exist" in logged
    assert "Hunter2SuperSecret" not in logged + str(run.state.error)
