"""`etl schedules ...` against a real Hypercorn server on a free port."""

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
from schedtools import job_doc
from typer.testing import CliRunner

from etl_core.api import create_app
from etl_core.cli.client import hypercorn_config, register_client_commands, serve_app
from etl_core.settings import load_settings

cli = typer.Typer()
register_client_commands(cli)
runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A server running in a thread until the test ends; yields its URL."""
    port = free_port()
    values = {
        "ETL_ENV_FILE": str(tmp_path / "no.env"),
        "ETL_DB_URL": f"sqlite:///{tmp_path / 'etl.db'}",
        "ETL_DATA_DIR": str(tmp_path),
        "ETL_LOG_DIR": str(tmp_path / "logs"),
        "ETL_COMPONENT_MODE": "test",
        "ETL_AUTH_CLIENT_SECRET": "Client-Secret-For-Schedule-Cli-0123456789!",
        "ETL_AUTH_SIGNING_KEY": "Signing-Key-For-Schedule-Cli-9876543210#xyz",
        "ETL_HOST": "127.0.0.1",
        "ETL_PORT": str(port),
        "ETL_API_URL": f"http://127.0.0.1:{port}",
        "ETL_SHUTDOWN_GRACE_SECONDS": "0.2",
        "ETL_LOG_LEVEL": "WARNING",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
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
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    yield values["ETL_API_URL"]
    stop.set()
    thread.join(15)
    assert not thread.is_alive()


def run(*args: str) -> Any:
    return runner.invoke(cli, list(args))


def create_job(tmp_path: Path, **job: Any) -> str:
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job_doc(name="cli job", **job)))
    created = run("jobs", "create", str(path))
    assert created.exit_code == 0, created.output
    job_id: str = created.stdout.strip()
    return job_id


def test_schedules_round_trip_through_a_running_server(server: str, tmp_path: Path) -> None:
    job_id = create_job(tmp_path)
    created = run(
        "schedules", "create", "--name", "nightly", "--job-id", job_id, "--type", "cron",
        "--arg", "hour=3", "--arg", "minute=0", "--arg", "timezone=Europe/Berlin", "--env", "prod",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    schedule_id = created.stdout.strip()
    assert "next run: " in created.output

    shown = json.loads(run("schedules", "get", schedule_id, "--json").stdout)
    assert (shown["name"], shown["environment"], shown["trigger_type"], shown["state"]) == (
        "nightly",
        "PROD",
        "cron",
        "scheduled",
    )
    assert shown["trigger_args"] == {"hour": 3, "minute": 0, "timezone": "Europe/Berlin"}
    assert "nightly" in run("schedules", "list").stdout
    assert [s["id"] for s in json.loads(run("schedules", "list", "--json", "--job-id", job_id).stdout)] == [schedule_id]

    updated = run("schedules", "update", schedule_id, "--type", "interval", "--arg", "minutes=15", "--json")
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.stdout)["trigger_args"] == {"minutes": 15}

    paused = json.loads(run("schedules", "pause", schedule_id, "--json").stdout)
    assert (paused["state"], paused["next_run_time"]) == ("paused", None)
    assert json.loads(run("schedules", "resume", schedule_id, "--json").stdout)["state"] == "scheduled"

    started = run("schedules", "run-now", schedule_id, "--follow")
    assert started.exit_code == 0, started.output
    assert "execution_finished: SUCCESS, 3 rows read, 3 written" in started.output
    page = json.loads(run("executions", "list", "--json", "--job-id", job_id).stdout)
    assert [(e["trigger"], e["environment"]) for e in page["data"]] == [(f"schedule:{schedule_id}", "PROD")]

    assert run("schedules", "delete", schedule_id).exit_code == 0
    gone = run("schedules", "get", schedule_id)
    assert gone.exit_code == 1
    assert "SCHEDULE_NOT_FOUND" in gone.output


def test_a_bad_trigger_argument_is_printed_with_its_path_and_exits_2(server: str, tmp_path: Path) -> None:
    job_id = create_job(tmp_path)
    result = run("schedules", "create", "--name", "x", "--job-id", job_id, "--type", "interval", "--arg", "minutes=-5")
    assert result.exit_code == 2
    assert "422 INVALID_SCHEDULE" in result.output
    assert "trigger_args.minutes: must be a number of minutes of at least 0, got -5" in result.output
    assert run("schedules", "create", "--name", "x", "--arg", "minutes").exit_code == 2


def test_a_schedule_file_gives_the_body_and_options_override_it(server: str, tmp_path: Path) -> None:
    job_id = create_job(tmp_path)
    body = {"name": "from file", "job_id": job_id, "trigger_type": "interval", "trigger_args": {"hours": 6}}
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(body))
    created = run("schedules", "create", "--file", str(path), "--name", "renamed", "--paused", "--json")
    assert created.exit_code == 0, created.output
    schedule = json.loads(created.stdout)
    assert (schedule["name"], schedule["trigger_args"], schedule["state"]) == ("renamed", {"hours": 6}, "paused")
    assert run("schedules", "update", schedule["id"]).exit_code == 2
