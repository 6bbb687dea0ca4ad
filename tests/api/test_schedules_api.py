"""/schedules on both store backends: create (422 naming the bad argument), read with the next run time, change,
pause, resume, delete, run-now, scopes, firing through the executions service, sync and shutdown."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apitools import get_token, job_doc, make_app, make_settings
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient
from structlog.testing import capture_logs

from etl_core.settings import Settings
from etl_core.store import ScheduleRecord, Store, open_store

SLOW = {"source": {"delay_s": 0.02, "batch_size": 1}, "records": 500}
FINAL = ("SUCCESS", "FAILED", "CANCELLED")


@pytest.fixture
def database(store_url: tuple[str, str | None]) -> tuple[str, str | None]:
    """(url, schema) of the store on each backend (the shared `store_url` fixture)."""
    return store_url


def store_for(database: tuple[str, str | None]) -> Store:
    url, schema = database
    return open_store(url, schema=schema)


@pytest.fixture
def app(settings: Settings, database: tuple[str, str | None]) -> Quart:
    return make_app(settings, store=store_for(database))


async def create_job(client: QuartClient, headers: dict[str, str], **job: Any) -> str:
    response = await client.post("/jobs/", json=job_doc(**job), headers=headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    job_id: str = (await response.get_json())["id"]
    return job_id


def schedule_body(job_id: str, trigger_type: str = "interval", **fields: Any) -> dict[str, Any]:
    return {
        "name": fields.pop("name", "numbers every hour"),
        "job_id": job_id,
        "trigger_type": trigger_type,
        "trigger_args": fields.pop("trigger_args", {"hours": 1}),
        **fields,
    }


async def create_schedule(client: QuartClient, headers: dict[str, str], job_id: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/schedules/", json=schedule_body(job_id, **fields), headers=headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    created: dict[str, Any] = await response.get_json()
    return created


async def scheduled_executions(client: QuartClient, headers: dict[str, str], schedule_id: str) -> list[dict[str, Any]]:
    page = await (await client.get("/execution/executions", query_string={"limit": 200}, headers=headers)).get_json()
    return [e for e in page["data"] if e["trigger"] == f"schedule:{schedule_id}"]


async def first_execution(client: QuartClient, headers: dict[str, str], schedule_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while not (found := await scheduled_executions(client, headers, schedule_id)):
        assert time.monotonic() < deadline, "the schedule did not fire"
        await asyncio.sleep(0.05)
    return found[0]


async def test_create_answers_201_with_the_schedule_and_its_next_run_time(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create_job(client, headers)
    before = datetime.now(UTC)
    created = await create_schedule(client, headers, job_id, trigger_args={"minutes": 30}, environment="prod")
    assert set(created) == {
        "id",
        "name",
        "job_id",
        "environment",
        "trigger_type",
        "trigger_args",
        "paused",
        "created_at",
        "updated_at",
        "next_run_time",
        "state",
        "error",
    }
    assert (created["job_id"], created["environment"], created["trigger_type"]) == (job_id, "PROD", "interval")
    assert (created["trigger_args"], created["paused"], created["state"], created["error"]) == (
        {"minutes": 30},
        False,
        "scheduled",
        None,
    )
    next_run = datetime.fromisoformat(created["next_run_time"])
    assert before + timedelta(minutes=30) <= next_run <= datetime.now(UTC) + timedelta(minutes=30)

    got = await (await client.get(f"/schedules/{created['id']}", headers=headers)).get_json()
    assert got == created
    listed = await (await client.get("/schedules", headers=headers)).get_json()
    assert [s["id"] for s in listed] == [created["id"]]
    other = await (await client.get("/schedules/", query_string={"job_id": "other"}, headers=headers)).get_json()
    assert other == []


async def test_environment_defaults_to_the_setting_and_cron_follows_its_time_zone(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create_job(client, headers)
    args = {"hour": 6, "minute": 15, "timezone": "America/New_York"}
    created = await create_schedule(client, headers, job_id, trigger_type="cron", trigger_args=args)
    assert created["environment"] == "DEV"
    local = datetime.fromisoformat(created["next_run_time"]).astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (6, 15)
    assert created["next_run_time"].endswith("+00:00")


@pytest.mark.parametrize(
    ("args", "path"),
    [
        ({"minutes": -1}, "trigger_args.minutes"),
        ({"minutess": 5}, "trigger_args.minutess"),
        ({"seconds": 5, "timezone": "Mars/Olympus"}, "trigger_args.timezone"),
        ({"seconds": 60, "jitter": 1e308}, "trigger_args.jitter"),
        ({"seconds": 60, "jitter": 61}, "trigger_args.jitter"),
        ({"seconds": 1e-7}, "trigger_args.seconds"),
        ({"seconds": 0.5, "minutes": 0.005}, "trigger_args"),
    ],
)
async def test_invalid_trigger_arguments_are_422_naming_the_argument(
    client: QuartClient, headers: dict[str, str], args: dict[str, Any], path: str
) -> None:
    job_id = await create_job(client, headers)
    response = await client.post("/schedules/", json=schedule_body(job_id, trigger_args=args), headers=headers)
    assert response.status_code == 422
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "INVALID_SCHEDULE"
    assert [i["path"] for i in detail["context"]["issues"]] == [path]
    assert path in detail["message"]
    assert await (await client.get("/schedules/", headers=headers)).get_json() == []


async def test_a_bad_body_and_a_missing_job_are_422_with_their_paths(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create_job(client, headers)
    response = await client.post("/schedules/", json=schedule_body(job_id, trigger_type="weekly"), headers=headers)
    assert response.status_code == 422
    detail = (await response.get_json())["detail"]
    assert (detail["code"], [i["path"] for i in detail["context"]["issues"]]) == ("INVALID_BODY", ["trigger_type"])

    response = await client.post("/schedules/", json=schedule_body("no-such-job"), headers=headers)
    assert response.status_code == 422
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "INVALID_SCHEDULE"
    [issue] = detail["context"]["issues"]
    assert (issue["path"], issue["message"]) == ("job_id", "job 'no-such-job' not found")

    past = {"run_date": "2001-01-01T00:00:00Z"}
    response = await client.post("/schedules/", json=schedule_body(job_id, "date", trigger_args=past), headers=headers)
    assert response.status_code == 422
    assert (await response.get_json())["detail"]["context"]["issues"][0]["path"] == "trigger_args.run_date"
    assert (await client.post("/schedules/", data="{", headers=headers)).status_code == 400


async def test_reads_need_jobs_read_and_writes_schedules_write(client: QuartClient, scoped: Any) -> None:
    writer = await scoped("schedules:write jobs:write")
    reader = await scoped("jobs:read")
    job_id = await create_job(client, writer)
    assert (await client.get("/schedules/")).status_code == 401
    assert (await client.post("/schedules/", json=schedule_body(job_id))).status_code == 401
    response = await client.post("/schedules/", json=schedule_body(job_id), headers=reader)
    assert response.status_code == 403
    assert (await response.get_json())["detail"]["context"]["required_scope"] == "schedules:write"
    created = await create_schedule(client, writer, job_id)
    sid = created["id"]
    assert (await client.get(f"/schedules/{sid}", headers=reader)).status_code == 200
    assert (await client.get("/schedules/", headers=reader)).status_code == 200
    for method, path in [
        ("PUT", f"/schedules/{sid}"),
        ("DELETE", f"/schedules/{sid}"),
        ("POST", f"/schedules/{sid}/pause"),
        ("POST", f"/schedules/{sid}/resume"),
        ("POST", f"/schedules/{sid}/run-now"),
    ]:
        response = await client.open(path, method=method, json={"name": "x"}, headers=reader)
        assert response.status_code == 403, (method, path)


async def test_a_schedule_fires_and_the_execution_records_which_schedule_started_it(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create_job(client, headers)
    created = await create_schedule(client, headers, job_id, trigger_args={"seconds": 1}, environment="TEST")
    execution = await first_execution(client, headers, created["id"])
    detail = await (await client.get(f"/execution/executions/{execution['id']}", headers=headers)).get_json()
    assert (detail["execution"]["trigger"], detail["execution"]["job_id"], detail["execution"]["environment"]) == (
        f"schedule:{created['id']}",
        job_id,
        "TEST",
    )
    metrics = await (await client.get("/metrics", headers=headers)).get_data(as_text=True)
    [count] = [line for line in metrics.splitlines() if line.startswith("etl_scheduler_lag_seconds_count")]
    assert float(count.split()[1]) >= 1


async def test_pause_and_resume(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create_job(client, headers)
    created = await create_schedule(client, headers, job_id, trigger_args={"minutes": 5})
    response = await client.post(f"/schedules/{created['id']}/pause", headers=headers)
    assert response.status_code == 200
    paused = await response.get_json()
    assert (paused["paused"], paused["state"], paused["next_run_time"]) == (True, "paused", None)
    assert (await (await client.get(f"/schedules/{created['id']}", headers=headers)).get_json())["paused"] is True
    resumed = await (await client.post(f"/schedules/{created['id']}/resume", headers=headers)).get_json()
    assert (resumed["paused"], resumed["state"], resumed["next_run_time"]) == (
        False,
        "scheduled",
        created["next_run_time"],
    )
    assert (await client.post("/schedules/nope/pause", headers=headers)).status_code == 404


async def test_put_changes_the_given_fields_and_the_cadence(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create_job(client, headers)
    created = await create_schedule(client, headers, job_id)
    before = datetime.now(UTC)
    response = await client.put(
        f"/schedules/{created['id']}", json={"trigger_args": {"seconds": 1}, "name": "often"}, headers=headers
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    changed = await response.get_json()
    assert (changed["name"], changed["trigger_args"], changed["environment"]) == ("often", {"seconds": 1}, "DEV")
    assert datetime.fromisoformat(changed["next_run_time"]) <= before + timedelta(seconds=2)
    assert changed["created_at"] == created["created_at"]
    assert changed["updated_at"] >= created["updated_at"]
    await first_execution(client, headers, created["id"])

    response = await client.put(f"/schedules/{created['id']}", json={"trigger_args": {"seconds": "x"}}, headers=headers)
    assert response.status_code == 422
    assert (await response.get_json())["detail"]["context"]["issues"][0]["path"] == "trigger_args.seconds"
    assert (await client.put("/schedules/nope", json={"name": "x"}, headers=headers)).status_code == 404


async def test_delete_stops_the_schedule_and_frees_the_job(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create_job(client, headers)
    created = await create_schedule(client, headers, job_id, trigger_args={"seconds": 1})
    assert (await client.delete(f"/jobs/{job_id}", headers=headers)).status_code == 409
    response = await client.delete(f"/schedules/{created['id']}", headers=headers)
    assert response.status_code == 200
    assert (await response.get_json())["id"] == created["id"]
    response = await client.get(f"/schedules/{created['id']}", headers=headers)
    assert response.status_code == 404
    assert (await response.get_json())["detail"]["code"] == "SCHEDULE_NOT_FOUND"
    assert (await client.delete(f"/schedules/{created['id']}", headers=headers)).status_code == 404
    await asyncio.sleep(1.2)
    assert await scheduled_executions(client, headers, created["id"]) == []
    assert (await client.delete(f"/jobs/{job_id}", headers=headers)).status_code == 200


async def test_run_now_answers_202_with_the_execution_and_409_while_the_job_runs(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create_job(client, headers, **SLOW)
    created = await create_schedule(client, headers, job_id, paused=True, environment="TEST")
    response = await client.post(f"/schedules/{created['id']}/run-now", headers=headers)
    assert response.status_code == 202
    started = await response.get_json()
    assert (started["schedule_id"], started["job_id"], started["status"], started["environment"]) == (
        created["id"],
        job_id,
        "RUNNING",
        "TEST",
    )
    assert started["trigger"] == f"schedule:{created['id']}"
    detail = await (await client.get(f"/execution/executions/{started['execution_id']}", headers=headers)).get_json()
    assert detail["execution"]["trigger"] == f"schedule:{created['id']}"

    response = await client.post(f"/schedules/{created['id']}/run-now", headers=headers)
    assert response.status_code == 409
    assert (await response.get_json())["detail"]["code"] == "JOB_ALREADY_RUNNING"
    response = await client.post("/schedules/nope/run-now", headers=headers)
    assert response.status_code == 404
    assert (await response.get_json())["detail"]["code"] == "SCHEDULE_NOT_FOUND"
    await client.post(f"/execution/executions/{started['execution_id']}/cancel", headers=headers)


async def test_a_schedule_written_straight_into_the_database_fires_after_the_periodic_sync(
    tmp_path: Path, database: tuple[str, str | None]
) -> None:
    settings = make_settings(tmp_path, schedules_sync_seconds="0.2")
    app = make_app(settings, store=store_for(database))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        job_id = await create_job(client, headers)
        other = store_for(database)
        await other.open()
        try:
            now = time.time()
            record = ScheduleRecord(
                uuid.uuid4().hex, "by hand", job_id, "DEV", "interval", {"seconds": 1}, False, now, now
            )
            await other.create_schedule(record)
        finally:
            await other.close()
        # only the executions are read: the periodic sync alone must pick the schedule up
        execution = await first_execution(client, headers, record.id)
        assert execution["job_id"] == job_id
        listed = await (await client.get("/schedules/", headers=headers)).get_json()
        assert [(s["id"], s["name"], s["state"]) for s in listed] == [(record.id, "by hand", "scheduled")]


async def test_health_shows_the_scheduler_running(client: QuartClient, headers: dict[str, str]) -> None:
    body = await (await client.get("/health", headers=headers)).get_json()
    assert body["scheduler"] == {"configured": True, "running": True}
    paths = (await (await client.get("/openapi.json")).get_json())["paths"]
    assert {"/schedules/", "/schedules/{schedule_id}", "/schedules/{schedule_id}/run-now"} <= set(paths)


async def test_shutdown_stops_firing_first_then_the_running_execution_ends_recorded(
    tmp_path: Path, database: tuple[str, str | None]
) -> None:
    settings = make_settings(tmp_path, shutdown_grace_seconds=0.1)
    app = make_app(settings, store=store_for(database))
    with capture_logs() as logs:
        async with app.test_app() as test_app:
            client = test_app.test_client()
            headers = {"Authorization": f"Bearer {await get_token(client)}"}
            job_id = await create_job(client, headers, **SLOW)
            created = await create_schedule(client, headers, job_id, trigger_args={"seconds": 1})
            execution = await first_execution(client, headers, created["id"])
    order = [e["event"] for e in logs if e["event"] in ("scheduler_stopped", "executions_draining", "server_stopped")]
    assert order == ["scheduler_stopped", "executions_draining", "server_stopped"]

    app = make_app(settings, store=store_for(database))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        detail = await (await client.get(f"/execution/executions/{execution['id']}", headers=headers)).get_json()
        assert (detail["execution"]["status"], detail["execution"]["error"], detail["execution"]["trigger"]) == (
            "CANCELLED",
            "cancelled: the server shut down",
            f"schedule:{created['id']}",
        )
        assert detail["attempts"][0]["status"] == "CANCELLED"
        # the schedule survives the restart and is scheduled again
        again = await (await client.get(f"/schedules/{created['id']}", headers=headers)).get_json()
        assert again["state"] == "scheduled"
