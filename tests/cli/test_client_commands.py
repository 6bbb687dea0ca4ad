"""`etl serve` and the client commands, against a real Hypercorn server on a free port."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from etl_core.api import create_app
from etl_core.cli.client import hypercorn_config, register_client_commands, serve_app
from etl_core.settings import load_settings

SECRET = "Client-Secret-For-Cli-Tests-0123456789!"
SIGNING_KEY = "Signing-Key-For-Cli-Tests-9876543210#xyz"

cli = typer.Typer()
register_client_commands(cli)
runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    port = free_port()
    values = {
        "ETL_ENV_FILE": str(tmp_path / "no.env"),
        "ETL_DB_URL": f"sqlite:///{tmp_path / 'etl.db'}",
        "ETL_DATA_DIR": str(tmp_path),
        "ETL_LOG_DIR": str(tmp_path / "logs"),
        "ETL_COMPONENT_MODE": "test",
        "ETL_AUTH_CLIENT_SECRET": SECRET,
        "ETL_AUTH_SIGNING_KEY": SIGNING_KEY,
        "ETL_HOST": "127.0.0.1",
        "ETL_PORT": str(port),
        "ETL_API_URL": f"http://127.0.0.1:{port}",
        "ETL_SHUTDOWN_GRACE_SECONDS": "0.2",
        "ETL_LOG_LEVEL": "WARNING",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[str]:
    """A server running in a thread until the test ends; yields its URL."""
    stop = threading.Event()
    settings = load_settings()
    app = create_app(settings)

    async def until_stopped() -> None:
        await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=lambda: asyncio.run(serve_app(app, hypercorn_config(settings), until_stopped)))
    thread.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", settings.port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    yield env["ETL_API_URL"]
    stop.set()
    thread.join(15)
    assert not thread.is_alive()


def job_file(tmp_path: Path, **job: Any) -> Path:
    doc = {
        "name": "cli job",
        "strategy_type": "bulk",
        "components": [
            {
                "name": "src",
                "comp_type": "test_source",
                "records": [{"n": 1}, {"n": 2}],
                "out_port_schemas": {"out": {"fields": [{"name": "n", "data_type": "integer"}]}},
                "routes": {"out": ["sink"]},
            },
            {
                "name": "sink",
                "comp_type": "test_sink",
                "in_port_schemas": {"in": {"fields": [{"name": "n", "data_type": "integer"}]}},
            },
        ],
        **job,
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(doc))
    return path


def run(*args: str) -> Any:
    return runner.invoke(cli, list(args))


def test_jobs_and_executions_round_trip_through_a_running_server(server: str, tmp_path: Path) -> None:
    created = run("jobs", "create", str(job_file(tmp_path)))
    assert created.exit_code == 0, created.output
    job_id = created.stdout.strip()

    listing = run("jobs", "list", "--json")
    assert [j["id"] for j in json.loads(listing.stdout)] == [job_id]
    assert "cli job" in run("jobs", "list").stdout
    assert json.loads(run("jobs", "get", job_id).stdout)["name"] == "cli job"

    started = run("executions", "start", job_id, "--env", "test", "--follow")
    assert started.exit_code == 0, started.output
    assert "execution_finished: SUCCESS, 2 rows read, 2 written" in started.output

    page = json.loads(run("executions", "list", "--json", "--job-id", job_id).stdout)
    assert page["total"] == 1
    execution = page["data"][0]
    assert (execution["status"], execution["environment"]) == ("SUCCESS", "TEST")
    shown = run("executions", "get", execution["id"])
    assert shown.exit_code == 0
    assert "attempt 1: SUCCESS" in shown.stdout
    assert "test_sink" in shown.stdout

    assert run("jobs", "delete", job_id).exit_code == 0
    assert run("jobs", "get", job_id).exit_code == 1


def test_invalid_job_prints_every_issue_and_exits_2(server: str, tmp_path: Path) -> None:
    result = run("jobs", "validate", str(job_file(tmp_path, num_of_retries=-1, strategy_type="fast")))
    assert result.exit_code == 2
    assert "422 INVALID_CONFIG" in result.output
    assert "num_of_retries" in result.output
    assert "strategy_type" in result.output


def test_contexts_commands_store_credentials_without_echoing_the_password(server: str) -> None:
    created = run(
        "contexts", "credentials", "--name", "dev", "--user", "etl", "--database", "dwh", "--password", "Pass-word-123!"
    )
    assert created.exit_code == 0, created.output
    cred_id = created.stdout.strip()
    mapped = run("contexts", "map", "--name", "db", "--env", "dev", f"DEV={cred_id}")
    assert mapped.exit_code == 0, mapped.output
    listing = run("contexts", "list")
    assert "dev" in listing.stdout
    assert "credentials" in listing.stdout
    shown = run("contexts", "get", cred_id)
    assert "Pass-word-123!" not in shown.stdout
    assert json.loads(shown.stdout)["user"] == "etl"
    in_use = run("contexts", "delete", cred_id)
    assert in_use.exit_code == 1
    assert "CREDENTIALS_IN_USE" in in_use.output


def test_wrong_client_secret_is_reported(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_AUTH_CLIENT_SECRET", "Wrong-Secret-For-Cli-Tests-0123456789!")
    result = run("jobs", "list")
    assert result.exit_code == 1
    assert "401 invalid_client" in result.output


def test_an_unreachable_server_exits_3(env: dict[str, str]) -> None:
    result = run("jobs", "--url", f"http://127.0.0.1:{free_port()}", "list")
    assert result.exit_code == 3
    assert "cannot reach the etl-core server" in result.output


def test_serve_refuses_weak_secrets_naming_every_rule(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_AUTH_CLIENT_SECRET", "Wk#9")
    result = run("serve")
    assert result.exit_code == 2
    assert "ETL_AUTH_CLIENT_SECRET needs at least 32 characters (has 4)" in result.output
    assert "Wk#9" not in result.output
