"""A new app on the same database: jobs and history survive, runs a dead process left are marked interrupted,
and shutdown lets running executions finish within the grace period, then cancels and records the rest."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from apitools import get_token, job_doc, make_app, make_settings
from quart.typing import TestClientProtocol as QuartClient

from etl_core.store import AttemptRecord, ExecutionRecord, Store, open_store


@pytest.fixture
def database(store_url: tuple[str, str | None]) -> tuple[str, str | None]:
    """(url, schema) of the store on each backend (the shared `store_url` fixture)."""
    return store_url


def store_for(database: tuple[str, str | None]) -> Store:
    url, schema = database
    return open_store(url, schema=schema)


async def auth(client: QuartClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {await get_token(client)}"}


async def test_jobs_and_history_survive_and_a_dead_process_run_is_marked_interrupted(
    tmp_path: Path, database: tuple[str, str | None]
) -> None:
    settings = make_settings(tmp_path)
    doc = job_doc(num_of_retries=1, metadata={"team": "data"})
    app = make_app(settings, store=store_for(database))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = await auth(client)
        job_id = (await (await client.post("/jobs/", json=doc, headers=headers)).get_json())["id"]
        started = await (await client.post(f"/execution/{job_id}", headers=headers)).get_json()
        await client.get(f"/execution/executions/{started['execution_id']}/events", headers=headers)
        before = await (
            await client.get(f"/execution/executions/{started['execution_id']}", headers=headers)
        ).get_json()

    # what a process killed mid-run leaves behind: an execution and its attempt still RUNNING
    crashed = store_for(database)
    await crashed.open()
    await crashed.create_execution(
        ExecutionRecord("dead-run", job_id, "numbers", "DEV", "RUNNING", 2, started_at=time.time())
    )
    await crashed.save_attempt(AttemptRecord("dead-run", 1, "RUNNING", started_at=time.time()))
    await crashed.close()

    app = make_app(settings, store=store_for(database))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = await auth(client)
        assert await (await client.get(f"/jobs/{job_id}", headers=headers)).get_json() == {"id": job_id, **doc}
        after = await (await client.get(f"/execution/executions/{started['execution_id']}", headers=headers)).get_json()
        assert after == before
        assert after["attempts"][0]["components"]["sink"]["records_in"] == 3
        dead = await (await client.get("/execution/executions/dead-run", headers=headers)).get_json()
        assert dead["execution"]["status"] == "FAILED"
        assert dead["execution"]["error"].startswith("interrupted")
        assert dead["execution"]["finished_at"] is not None
        assert [(a["attempt_index"], a["status"]) for a in dead["attempts"]] == [(1, "FAILED")]
        # the job is not considered running any more
        again = await client.post(f"/execution/{job_id}", headers=headers)
        assert again.status_code == 202


async def test_shutdown_cancels_what_outlives_the_grace_period_and_records_it(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, shutdown_grace_seconds=0.1)
    app = make_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = await auth(client)
        slow = job_doc(source={"delay_s": 0.05, "batch_size": 1}, records=1000)
        job_id = (await (await client.post("/jobs/", json=slow, headers=headers)).get_json())["id"]
        started: dict[str, Any] = await (await client.post(f"/execution/{job_id}", headers=headers)).get_json()

    app = make_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = await auth(client)
        detail = await (
            await client.get(f"/execution/executions/{started['execution_id']}", headers=headers)
        ).get_json()
        assert detail["execution"]["status"] == "CANCELLED"
        assert detail["execution"]["error"] == "cancelled: the server shut down"
        assert detail["attempts"][0]["status"] == "CANCELLED"


async def test_shutdown_lets_a_run_finish_within_the_grace_period(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, shutdown_grace_seconds=30)
    app = make_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = await auth(client)
        short = job_doc(source={"delay_s": 0.01, "batch_size": 1}, records=20)
        job_id = (await (await client.post("/jobs/", json=short, headers=headers)).get_json())["id"]
        started: dict[str, Any] = await (await client.post(f"/execution/{job_id}", headers=headers)).get_json()

    app = make_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = await auth(client)
        detail = await (
            await client.get(f"/execution/executions/{started['execution_id']}", headers=headers)
        ).get_json()
        assert detail["execution"]["status"] == "SUCCESS"
        assert detail["execution"]["totals"]["rows_written"] == 20
