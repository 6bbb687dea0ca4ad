"""Executions: started at once in the background, one at a time per job, recorded with their attempts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from apitools import get_token, job_doc, make_app, make_settings
from quart.typing import TestClientProtocol as QuartClient

SLOW = {"source": {"delay_s": 0.02, "batch_size": 1}, "records": 500}
FINAL = ("SUCCESS", "FAILED", "CANCELLED")


async def create(client: QuartClient, headers: dict[str, str], **job: Any) -> str:
    response = await client.post("/jobs/", json=job_doc(**job), headers=headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    job_id: str = (await response.get_json())["id"]
    return job_id


async def start(client: QuartClient, headers: dict[str, str], job_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/execution/{job_id}", json=body or None, headers=headers)
    assert response.status_code == 202, await response.get_data(as_text=True)
    started: dict[str, Any] = await response.get_json()
    return started


async def finished(client: QuartClient, headers: dict[str, str], execution_id: str) -> dict[str, Any]:
    """The execution once it has ended (following its event stream, which closes at the end)."""
    response = await client.get(f"/execution/executions/{execution_id}/events", headers=headers)
    assert response.status_code == 200
    detail: dict[str, Any] = await (
        await client.get(f"/execution/executions/{execution_id}", headers=headers)
    ).get_json()
    assert detail["execution"]["status"] in FINAL
    return detail


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_start_answers_202_at_once_and_the_run_is_recorded(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers)
    started = await start(client, headers, job_id)
    assert set(started) == {"job_id", "execution_id", "status", "max_attempts", "environment"}
    assert (started["job_id"], started["status"], started["max_attempts"], started["environment"]) == (
        job_id,
        "RUNNING",
        1,
        "DEV",
    )
    detail = await finished(client, headers, started["execution_id"])
    execution = detail["execution"]
    assert (execution["id"], execution["status"], execution["error"]) == (started["execution_id"], "SUCCESS", None)
    assert execution["totals"]["rows_read"] == 3
    assert execution["totals"]["rows_written"] == 3
    assert execution["finished_at"] >= execution["started_at"]
    [attempt] = detail["attempts"]
    assert (attempt["attempt_index"], attempt["status"]) == (1, "SUCCESS")
    assert attempt["components"]["src"]["records_out"] == 3
    assert attempt["components"]["sink"]["records_in"] == 3
    assert attempt["components"]["sink"]["status"] == "SUCCESS"


async def test_environment_comes_from_the_body_or_the_setting(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers, records=1)
    prod = await start(client, headers, job_id, environment="prod")
    assert prod["environment"] == "PROD"
    await finished(client, headers, prod["execution_id"])
    response = await client.post(f"/execution/{job_id}", json={"environment": "STAGING"}, headers=headers)
    assert response.status_code == 422
    [issue] = (await response.get_json())["detail"]["context"]["issues"]
    assert issue["path"] == "environment"


async def test_unknown_job_is_404(client: QuartClient, headers: dict[str, str]) -> None:
    response = await client.post("/execution/nope", headers=headers)
    assert response.status_code == 404
    assert (await response.get_json())["detail"]["code"] == "JOB_NOT_FOUND"


async def test_a_second_start_while_running_is_409(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers, **SLOW)
    first = await start(client, headers, job_id)
    response = await client.post(f"/execution/{job_id}", headers=headers)
    assert response.status_code == 409
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "JOB_ALREADY_RUNNING"
    assert detail["context"]["running_execution_ids"] == [first["execution_id"]]
    await client.post(f"/execution/executions/{first['execution_id']}/cancel", headers=headers)


async def test_max_concurrent_runs_allows_more_at_once(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers, max_concurrent_runs=2, **SLOW)
    a = await start(client, headers, job_id)
    b = await start(client, headers, job_id)
    assert (await client.post(f"/execution/{job_id}", headers=headers)).status_code == 409
    for e in (a, b):
        await client.post(f"/execution/executions/{e['execution_id']}/cancel", headers=headers)


async def test_cancel_stops_a_running_execution_and_records_cancelled(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create(client, headers, **SLOW)
    started = await start(client, headers, job_id)
    response = await client.post(f"/execution/executions/{started['execution_id']}/cancel", headers=headers)
    assert response.status_code == 200
    detail = await response.get_json()
    assert detail["execution"]["status"] == "CANCELLED"
    assert detail["execution"]["error"] == "cancelled on request"
    stored = await (await client.get(f"/execution/executions/{started['execution_id']}", headers=headers)).get_json()
    assert stored["execution"]["status"] == "CANCELLED"
    assert stored["attempts"][0]["status"] == "CANCELLED"
    response = await client.post(f"/execution/executions/{started['execution_id']}/cancel", headers=headers)
    assert response.status_code == 409
    assert (await response.get_json())["detail"]["code"] == "EXECUTION_NOT_RUNNING"
    assert (await client.post("/execution/executions/nope/cancel", headers=headers)).status_code == 404
    # the job may start again
    await start(client, headers, job_id)


async def test_failed_attempts_are_retried_and_each_is_recorded(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers, num_of_retries=1, source={"fail_after": 1, "fail_attempts": 1})
    started = await start(client, headers, job_id)
    assert started["max_attempts"] == 2
    detail = await finished(client, headers, started["execution_id"])
    assert detail["execution"]["status"] == "SUCCESS"
    first, second = detail["attempts"]
    assert (first["status"], first["failed_component"]) == ("FAILED", "src")
    assert "failing on purpose" in first["error"]
    assert first["components"]["src"]["status"] == "FAILED"
    assert second["status"] == "SUCCESS"
    response = await client.get(f"/execution/executions/{started['execution_id']}/attempts", headers=headers)
    assert [a["attempt_index"] for a in await response.get_json()] == [1, 2]


async def test_a_failing_job_ends_failed_with_its_error(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers, sink={"fail_after": 1})
    started = await start(client, headers, job_id)
    detail = await finished(client, headers, started["execution_id"])
    assert detail["execution"]["status"] == "FAILED"
    assert "component 'sink'" in detail["execution"]["error"]


async def test_unknown_execution_is_404_everywhere(client: QuartClient, headers: dict[str, str]) -> None:
    for path in ("", "/attempts", "/events", "/logs"):
        response = await client.get(f"/execution/executions/nope{path}", headers=headers)
        assert response.status_code == 404
        assert (await response.get_json())["detail"]["code"] == "EXECUTION_NOT_FOUND"


async def test_listing_filters_sorts_and_pages(client: QuartClient, headers: dict[str, str]) -> None:
    a = await create(client, headers, name="a", records=1)
    b = await create(client, headers, name="b", records=1, sink={"fail_after": 1})
    ids = []
    for job_id, env in ((a, "DEV"), (b, "PROD"), (a, "TEST")):
        started = await start(client, headers, job_id, environment=env)
        await finished(client, headers, started["execution_id"])
        ids.append(started["execution_id"])

    async def listing(**query: Any) -> dict[str, Any]:
        response = await client.get("/execution/executions", query_string=query, headers=headers)
        assert response.status_code == 200
        page: dict[str, Any] = await response.get_json()
        return page

    page = await listing()
    assert ([e["id"] for e in page["data"]], page["total"]) == (ids[::-1], 3)
    assert (page["limit"], page["offset"]) == (50, 0)
    assert [e["id"] for e in (await listing(job_id=a))["data"]] == [ids[2], ids[0]]
    assert [e["id"] for e in (await listing(status="FAILED"))["data"]] == [ids[1]]
    assert [e["id"] for e in (await listing(environment="test"))["data"]] == [ids[2]]
    page = await listing(order="asc", limit=1, offset=1)
    assert ([e["id"] for e in page["data"]], page["total"]) == ([ids[1]], 3)
    first = (await listing(order="asc"))["data"][0]
    later = await listing(started_after=first["started_at"], order="asc")
    assert [e["id"] for e in later["data"]] == ids
    assert (await listing(started_before="2000-01-01T00:00:00"))["total"] == 0
    assert [e["status"] for e in (await listing(sort_by="status", order="asc"))["data"]] == [
        "FAILED",
        "SUCCESS",
        "SUCCESS",
    ]


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"sort_by": "name"}, "sort_by"),
        ({"order": "up"}, "order"),
        ({"status": "DONE"}, "status"),
        ({"started_after": "yesterday"}, "started_after"),
    ],
)
async def test_bad_listing_parameters_are_422(
    client: QuartClient, headers: dict[str, str], query: dict[str, Any], path: str
) -> None:
    response = await client.get("/execution/executions", query_string=query, headers=headers)
    assert response.status_code == 422
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "INVALID_QUERY"
    assert [i["path"] for i in detail["context"]["issues"]] == [path]


async def test_events_stream_lifecycle_and_metrics_until_the_end(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers, source={"delay_s": 0.01, "batch_size": 1}, records=20)
    started = await start(client, headers, job_id)
    response = await client.get(f"/execution/executions/{started['execution_id']}/events", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events = sse(await response.get_data(as_text=True))
    names = [name for name, _ in events]
    assert names[0] == "snapshot"
    assert names[-1] == "execution_finished"
    assert "attempt_finished" in names
    assert "metrics" in names
    _, last = events[-1]
    assert last["event"] == "execution_finished"
    assert last["execution"]["status"] == "SUCCESS"
    assert last["attempts"][0]["components"]["sink"]["records_in"] == 20
    live = [data for name, data in events if name == "metrics" and data["attempts"]]
    assert live
    assert all(d["execution"]["status"] == "RUNNING" for d in live)


async def test_events_of_an_ended_execution_give_its_final_state(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers)
    started = await start(client, headers, job_id)
    await finished(client, headers, started["execution_id"])
    response = await client.get(f"/execution/executions/{started['execution_id']}/events", headers=headers)
    events = sse(await response.get_data(as_text=True))
    assert [name for name, _ in events] == ["snapshot", "execution_finished"]
    assert events[1][1]["execution"]["status"] == "SUCCESS"


async def test_live_detail_shows_running_metrics(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers, **SLOW)
    started = await start(client, headers, job_id)
    execution_id = started["execution_id"]
    for _ in range(200):
        detail = await (await client.get(f"/execution/executions/{execution_id}", headers=headers)).get_json()
        if detail["attempts"] and detail["attempts"][0]["components"]["sink"]["records_in"] > 0:
            break
        await asyncio.sleep(0.01)
    assert detail["execution"]["status"] == "RUNNING"
    assert detail["attempts"][0]["status"] == "RUNNING"
    assert detail["attempts"][0]["components"]["sink"]["records_in"] > 0
    page = await (await client.get("/execution/executions", headers=headers)).get_json()
    assert page["data"][0]["totals"]["rows_read"] > 0
    await client.post(f"/execution/executions/{execution_id}/cancel", headers=headers)


async def test_a_running_execution_shows_its_duration_and_throughput_so_far(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create(client, headers, **SLOW)
    execution_id = (await start(client, headers, job_id))["execution_id"]
    for _ in range(200):
        execution = (await (await client.get(f"/execution/executions/{execution_id}", headers=headers)).get_json())[
            "execution"
        ]
        if execution["totals"].get("rows_read", 0) > 0:
            break
        await asyncio.sleep(0.01)
    assert (execution["status"], execution["finished_at"]) == ("RUNNING", None)
    assert execution["duration_s"] > 0
    assert execution["totals"]["rows_per_second"] > 0
    # the same execution a moment later: the clock has moved on, the figures with it
    await asyncio.sleep(0.05)
    again = (await (await client.get("/execution/executions", headers=headers)).get_json())["data"][0]
    assert again["id"] == execution_id
    assert again["duration_s"] > execution["duration_s"]
    assert again["totals"]["rows_read"] >= execution["totals"]["rows_read"]
    await client.post(f"/execution/executions/{execution_id}/cancel", headers=headers)
    ended = await finished(client, headers, execution_id)
    assert ended["execution"]["status"] == "CANCELLED"
    assert ended["execution"]["duration_s"] >= again["duration_s"]


async def test_logs_of_a_job_with_file_logging(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers, file_logging=True)
    started = await start(client, headers, job_id)
    await finished(client, headers, started["execution_id"])
    response = await client.get(f"/execution/executions/{started['execution_id']}/logs", headers=headers)
    assert response.status_code == 200
    logs = await response.get_json()
    assert logs["file_logging"] is True
    events = [line["event"] for line in logs["lines"]]
    assert events[0] == "execution_started"
    assert events[-1] == "execution_finished"
    assert "component_finished" in events
    assert all(line["execution_id"] == started["execution_id"] for line in logs["lines"])
    assert logs["total"] == len(logs["lines"])
    response = await client.get(
        f"/execution/executions/{started['execution_id']}/logs", query_string={"offset": 1, "limit": 1}, headers=headers
    )
    assert [line["event"] for line in (await response.get_json())["lines"]] == [events[1]]


async def test_logs_without_file_logging_are_empty(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers)
    started = await start(client, headers, job_id)
    await finished(client, headers, started["execution_id"])
    logs = await (await client.get(f"/execution/executions/{started['execution_id']}/logs", headers=headers)).get_json()
    assert logs == {"execution_id": started["execution_id"], "file_logging": False, "total": 0, "lines": []}


async def test_a_config_that_no_longer_plans_is_422_at_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    app = make_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        job_id = await create(client, headers)
    app = make_app(make_settings(tmp_path, component_mode="production"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        response = await client.post(f"/execution/{job_id}", headers=headers)
        assert response.status_code == 422
        assert (await response.get_json())["detail"]["code"] == "INVALID_CONFIG"


async def test_references_resolve_from_the_jobs_context_for_the_environment(
    client: QuartClient, headers: dict[str, str]
) -> None:
    body = {
        "context": {
            "name": "greetings",
            "environment": "DEV",
            "parameters": {
                "word": {"value": "hello", "type": "string", "is_secure": False},
                "token": {"value": "Sekr1t-Value", "type": "string", "is_secure": True},
            },
        }
    }
    context_id = (await (await client.post("/contexts/context", json=body, headers=headers)).get_json())["id"]
    schema = {"fields": [{"name": "s", "data_type": "string", "nullable": True}]}
    job_id = await create(
        client,
        headers,
        context_id=context_id,
        source={"records": [{"s": "${word}"}, {"s": "${token}"}], "out_port_schemas": {"out": schema}},
        sink={"in_port_schemas": {"in": schema}},
    )
    started = await start(client, headers, job_id, environment="DEV")
    assert (await finished(client, headers, started["execution_id"]))["execution"]["status"] == "SUCCESS"

    response = await client.post(f"/execution/{job_id}", json={"environment": "PROD"}, headers=headers)
    assert response.status_code == 422
    text = await response.get_data(as_text=True)
    assert "belongs to environment DEV, not to PROD" in text
    assert "Sekr1t-Value" not in text


async def test_an_unresolvable_reference_is_422_naming_component_and_option(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create(client, headers, source={"records": [{"n": "${nowhere}"}]})
    response = await client.post(f"/execution/{job_id}", headers=headers)
    assert response.status_code == 422
    [issue] = (await response.get_json())["detail"]["context"]["issues"]
    assert issue["component"] == "src"
    assert issue["path"].startswith("components[0].records")
    assert (await client.get("/execution/executions", headers=headers)).status_code == 200
    assert (await (await client.get("/execution/executions", headers=headers)).get_json())["total"] == 0
