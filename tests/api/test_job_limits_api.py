"""What a store can keep bounds what a job may ask for, on both backends: retries and concurrency beyond a 32-bit
integer are a 422 naming the field (not a 500 when stored or started), a listing's offset likewise; and planning a
large job runs beside the event loop, so other requests are answered meanwhile."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from apitools import job_doc, make_app
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.api.state import state
from etl_core.settings import Settings
from etl_core.store import open_store
from etl_core.store.models import JobRecord

LARGEST = 2**31 - 1


@pytest.fixture
def app(settings: Settings, store_url: tuple[str, str | None]) -> Quart:
    url, schema = store_url
    return make_app(settings, store=open_store(url, schema=schema))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("num_of_retries", LARGEST, f"must be at most {LARGEST - 1}"),
        ("num_of_retries", 2**63, f"must be at most {LARGEST - 1}"),
        ("max_concurrent_runs", LARGEST + 1, f"must be at most {LARGEST}"),
        ("max_concurrent_runs", 10**30, f"must be at most {LARGEST}"),
    ],
)
async def test_retries_and_concurrency_beyond_what_the_store_keeps_are_refused_naming_the_field(
    client: QuartClient, headers: dict[str, str], field: str, value: int, message: str
) -> None:
    doc = job_doc(**{field: value})

    for path in ("/jobs/validate", "/jobs/"):
        response = await client.post(path, json=doc, headers=headers)
        assert response.status_code == 422, path
        assert (await response.get_json())["detail"]["context"]["issues"] == [
            {"path": field, "message": message, "component": None}
        ]
    assert await (await client.get("/jobs/", headers=headers)).get_json() == []


async def test_the_largest_retries_and_concurrency_the_store_keeps_are_accepted_and_run(
    client: QuartClient, headers: dict[str, str]
) -> None:
    doc = job_doc(num_of_retries=LARGEST - 1, max_concurrent_runs=LARGEST)
    job_id = (await (await client.post("/jobs/", json=doc, headers=headers)).get_json())["id"]

    response = await client.post(f"/execution/{job_id}", headers=headers)

    assert response.status_code == 202
    assert (await response.get_json())["max_attempts"] == LARGEST


async def test_replacing_a_job_with_too_many_retries_keeps_the_stored_one(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = (await (await client.post("/jobs/", json=job_doc(num_of_retries=2), headers=headers)).get_json())["id"]

    response = await client.put(f"/jobs/{job_id}", json=job_doc(num_of_retries=LARGEST), headers=headers)

    assert response.status_code == 422
    stored = await (await client.get(f"/jobs/{job_id}", headers=headers)).get_json()
    assert stored["num_of_retries"] == 2


async def test_a_stored_job_beyond_the_limits_is_refused_at_start_and_records_nothing(
    app: Quart, client: QuartClient, headers: dict[str, str]
) -> None:
    # written before the limits existed (or by hand): the store holds it, but its max_attempts would not fit
    doc = job_doc(num_of_retries=LARGEST)
    job_id, now = uuid.uuid4().hex, time.time()
    async with app.app_context():
        await state().store.create_job(
            JobRecord(job_id, "numbers", json.dumps(doc), num_of_retries=LARGEST, created_at=now, updated_at=now)
        )

    response = await client.post(f"/execution/{job_id}", headers=headers)

    assert response.status_code == 422
    assert (await response.get_json())["detail"]["context"]["issues"] == [
        {"path": "num_of_retries", "message": f"must be at most {LARGEST - 1}", "component": None}
    ]
    executions = await (await client.get("/execution/executions", headers=headers)).get_json()
    assert executions["total"] == 0


@pytest.mark.parametrize("offset", [str(LARGEST + 1), "100000000000000000000"])
async def test_an_offset_beyond_what_a_store_can_skip_is_a_422_naming_it(
    client: QuartClient, headers: dict[str, str], offset: str
) -> None:
    response = await client.get(f"/execution/executions?offset={offset}", headers=headers)

    assert response.status_code == 422
    issues = (await response.get_json())["detail"]["context"]["issues"]
    assert [(i["path"], i["message"]) for i in issues] == [
        ("offset", f"Input should be less than or equal to {LARGEST}")
    ]


async def test_the_largest_offset_lists_nothing(client: QuartClient, headers: dict[str, str]) -> None:
    response = await client.get(f"/execution/executions?offset={LARGEST}", headers=headers)

    assert response.status_code == 200
    assert await response.get_json() == {"data": [], "total": 0, "limit": 50, "offset": LARGEST}


def wide_job(pairs: int) -> dict[str, object]:
    components: list[dict[str, object]] = []
    for i in range(pairs):
        components.append({"name": f"s{i}", "comp_type": "test_source", "routes": {"out": [{"to": f"k{i}"}]}})
        components.append({"name": f"k{i}", "comp_type": "test_sink"})
    return {"name": "wide", "strategy_type": "bulk", "components": components}


async def test_other_requests_are_answered_while_a_large_job_is_planned(
    client: QuartClient, headers: dict[str, str]
) -> None:
    finished: list[str] = []

    async def validate() -> None:
        response = await client.post("/jobs/validate", json=wide_job(3000), headers=headers)
        assert response.status_code == 200
        finished.append("validate")

    async def health() -> None:
        await asyncio.sleep(0.05)  # the validation has started planning by now
        response = await client.get("/health", headers=headers)
        assert response.status_code == 200
        finished.append("health")

    await asyncio.gather(validate(), health())

    assert finished == ["health", "validate"]
