"""Requests racing over the same job, context or credentials, on both backends: exactly one deletion succeeds and
the others find the thing gone (404), a replace of a job deleted meanwhile stores nothing, and neither a schedule
nor a mapping can end up pointing at something deleted beside it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from apitools import job_doc, make_app
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.api.state import state
from etl_core.settings import Settings
from etl_core.store import open_store
from etl_core.store.models import JobRecord

ROUNDS = 5


@pytest.fixture
def app(settings: Settings, store_url: tuple[str, str | None]) -> Quart:
    url, schema = store_url
    return make_app(settings, store=open_store(url, schema=schema))


async def created(client: QuartClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> str:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    new_id: str = (await response.get_json())["id"]
    return new_id


async def test_of_concurrent_deletes_of_one_job_one_succeeds_and_the_others_find_it_gone(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await created(client, "/jobs/", job_doc(), headers)

    responses = await asyncio.gather(*(client.delete(f"/jobs/{job_id}", headers=headers) for _ in range(6)))

    assert sorted(r.status_code for r in responses) == [200, 404, 404, 404, 404, 404]
    gone = [await r.get_json() for r in responses if r.status_code == 404]
    assert {body["detail"]["code"] for body in gone} == {"JOB_NOT_FOUND"}


async def test_replacing_a_job_deleted_after_it_was_read_answers_404_and_stores_nothing(
    app: Quart, client: QuartClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = await created(client, "/jobs/", job_doc("before"), headers)
    async with app.app_context():
        store = state().store
        read_before_delete: JobRecord | None = await store.get_job(job_id)
    assert read_before_delete is not None

    async def get_job_then_lose_it(wanted: str) -> JobRecord | None:
        # the replace reads the job, then another request deletes it before the replace writes
        await store.delete_job(wanted)
        return read_before_delete

    monkeypatch.setattr(store, "get_job", get_job_then_lose_it)
    response = await client.put(f"/jobs/{job_id}", json=job_doc("after"), headers=headers)
    monkeypatch.undo()

    assert response.status_code == 404
    assert (await response.get_json())["detail"]["code"] == "JOB_NOT_FOUND"
    assert await (await client.get("/jobs/", headers=headers)).get_json() == []


async def test_a_schedule_created_while_its_job_is_deleted_never_outlives_the_job(
    client: QuartClient, headers: dict[str, str]
) -> None:
    for _ in range(ROUNDS):
        job_id = await created(client, "/jobs/", job_doc(), headers)
        schedule = {"name": "hourly", "job_id": job_id, "trigger_type": "interval", "trigger_args": {"hours": 1}}

        made, deleted = await asyncio.gather(
            client.post("/schedules/", json=schedule, headers=headers),
            client.delete(f"/jobs/{job_id}", headers=headers),
        )

        outcome = (made.status_code, deleted.status_code)
        assert outcome in ((201, 409), (422, 200)), outcome
        job = await client.get(f"/jobs/{job_id}", headers=headers)
        schedules = await (await client.get(f"/schedules/?job_id={job_id}", headers=headers)).get_json()
        assert (job.status_code == 200) == (len(schedules) == 1)


async def test_of_concurrent_deletes_of_one_context_or_credentials_one_succeeds(
    client: QuartClient, headers: dict[str, str]
) -> None:
    context_id = await created(
        client,
        "/contexts/context",
        {"context": {"name": "c", "environment": "DEV", "parameters": {"p": {"value": "s", "is_secure": True}}}},
        headers,
    )
    credentials_id = await created(
        client, "/contexts/credentials", {"credentials": {"name": "n", "user": "u", "database": "d"}}, headers
    )

    for provider_id in (context_id, credentials_id):
        responses = await asyncio.gather(
            *(client.delete(f"/contexts/{provider_id}", headers=headers) for _ in range(4))
        )
        assert sorted(r.status_code for r in responses) == [204, 404, 404, 404]

    assert await (await client.get("/contexts/", headers=headers)).get_json() == []


async def test_a_mapping_stored_while_its_credentials_are_deleted_never_points_at_missing_credentials(
    client: QuartClient, headers: dict[str, str]
) -> None:
    for _ in range(ROUNDS):
        credentials_id = await created(
            client, "/contexts/credentials", {"credentials": {"name": "n", "user": "u", "database": "d"}}, headers
        )
        mapping = {"context": {"name": "m", "environment": "DEV", "credentials_ids": {"DEV": credentials_id}}}

        deleted, mapped = await asyncio.gather(
            client.delete(f"/contexts/{credentials_id}", headers=headers),
            client.post("/contexts/credentials-mapping-context", json=mapping, headers=headers),
        )

        outcome = (deleted.status_code, mapped.status_code)
        assert outcome in ((204, 404), (409, 201)), outcome
        credentials = await client.get(f"/contexts/{credentials_id}", headers=headers)
        assert (credentials.status_code == 200) == (mapped.status_code == 201)
