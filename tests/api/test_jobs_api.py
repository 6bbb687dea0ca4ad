"""Jobs: stored exactly as submitted, validated with every issue listed, protected while they run."""

from __future__ import annotations

import json
from pathlib import Path

from apitools import job_doc, make_app, make_settings
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.api.state import state
from etl_core.store.models import ScheduleRecord


async def create(client: QuartClient, headers: dict[str, str], doc: dict[str, object] | None = None) -> str:
    response = await client.post("/jobs/", json=doc or job_doc(), headers=headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    job_id: str = (await response.get_json())["id"]
    return job_id


async def test_created_job_comes_back_exactly_as_submitted_with_its_id(
    client: QuartClient, headers: dict[str, str]
) -> None:
    doc = job_doc(num_of_retries=1, metadata_={"owner": "ana"}, file_logging=False)
    doc["components"][0]["layout"] = {"x": 10, "y": 2.5}
    doc["components"][0]["description"] = "numbers"
    text = json.dumps(doc)
    response = await client.post("/jobs/", data=text, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 201
    job_id = (await response.get_json())["id"]

    response = await client.get(f"/jobs/{job_id}", headers=headers)
    assert response.status_code == 200
    raw = await response.get_data(as_text=True)
    got = json.loads(raw)
    assert got == {"id": job_id, **doc}
    assert list(got) == ["id", *doc]
    assert list(got["components"][0]) == list(doc["components"][0])


async def test_job_list_shows_summaries_without_components(client: QuartClient, headers: dict[str, str]) -> None:
    first = await create(client, headers, job_doc("first", metadata={"team": "a"}))
    second = await create(client, headers, job_doc("second", num_of_retries=2, strategy_type="row"))
    response = await client.get("/jobs/", headers=headers)
    rows = await response.get_json()
    assert [r["id"] for r in rows] == [first, second]
    assert rows[0]["metadata"] == {"team": "a"}
    assert (rows[1]["name"], rows[1]["strategy_type"], rows[1]["num_of_retries"]) == ("second", "row", 2)
    assert set(rows[0]) == {
        "id",
        "name",
        "strategy_type",
        "num_of_retries",
        "max_concurrent_runs",
        "file_logging",
        "metadata",
        "created_at",
        "updated_at",
    }
    assert "components" not in rows[0]


async def test_invalid_job_is_422_listing_every_issue_with_path_and_component(
    client: QuartClient, headers: dict[str, str]
) -> None:
    doc = job_doc(num_of_retries=-1)
    doc["components"][0]["routes"] = {"out": [{"to": "nowhere"}]}
    doc["components"][1]["comp_type"] = "no_such_type"
    response = await client.post("/jobs/", json=doc, headers=headers)
    assert response.status_code == 422
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "INVALID_CONFIG"
    # a bad job-level field does not hide the components' and the wiring's issues
    paths = [(i["path"], i["component"]) for i in detail["context"]["issues"]]
    assert paths[0] == ("num_of_retries", None)
    assert detail["context"]["issues"][0]["message"] == "Input should be greater than or equal to 0"
    assert ("components[1].comp_type", "sink") in paths
    assert ("components[0].routes.out[0].to", "src") in paths
    assert (await client.get("/jobs/", headers=headers)).status_code == 200
    assert await (await client.get("/jobs/", headers=headers)).get_json() == []


async def test_malformed_and_empty_bodies_are_400(client: QuartClient, headers: dict[str, str]) -> None:
    json_headers = {**headers, "Content-Type": "application/json"}
    response = await client.post("/jobs/", data="{not json", headers=json_headers)
    assert response.status_code == 400
    assert (await response.get_json())["detail"]["code"] == "MALFORMED_JSON"
    response = await client.post("/jobs/", data="", headers=json_headers)
    assert response.status_code == 400
    response = await client.post("/jobs/", json=[1, 2], headers=headers)
    assert response.status_code == 422


def nested(depth: int) -> str:
    """`depth` levels of objects: `{"a":{"a":...1...}}`."""
    return '{"a":' * depth + "1" + "}" * depth


async def test_a_body_nested_deeper_than_100_levels_is_400_on_every_json_route(
    client: QuartClient, headers: dict[str, str]
) -> None:
    json_headers = {**headers, "Content-Type": "application/json"}
    expected = {
        "code": "MALFORMED_JSON",
        "message": "the request body nests objects and arrays deeper than 100 levels",
        "context": {"max_depth": 100},
    }
    # 1100 levels is past what json.loads itself can decode; 101 decodes but is over the limit
    for body in (nested(1100), nested(101)):
        for path in ("/jobs/", "/jobs/validate", "/schedules/", "/contexts/context"):
            response = await client.post(path, data=body, headers=json_headers)
            assert (response.status_code, (await response.get_json())["detail"]) == (400, expected), path
        # the token endpoint answers in RFC 6749's shape
        response = await client.post("/auth/token", data=body, headers={"Content-Type": "application/json"})
        assert (response.status_code, (await response.get_json())["error"]) == (400, "invalid_request")
    assert await (await client.get("/jobs/", headers=headers)).get_json() == []


async def test_a_job_nested_exactly_100_levels_deep_is_stored_and_read_back(
    client: QuartClient, headers: dict[str, str]
) -> None:
    # the document is level 1 and `metadata` level 2: 98 more levels reach the limit
    text = json.dumps(job_doc(metadata="@")).replace('"@"', nested(98))
    response = await client.post("/jobs/", data=text, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 201, await response.get_data(as_text=True)
    job_id = (await response.get_json())["id"]
    got = await (await client.get(f"/jobs/{job_id}", headers=headers)).get_json()
    assert got == {"id": job_id, **json.loads(text)}


async def test_validate_checks_without_storing(client: QuartClient, headers: dict[str, str]) -> None:
    response = await client.post("/jobs/validate", json=job_doc(), headers=headers)
    assert response.status_code == 200
    assert await response.get_json() == {"valid": True, "components": 2, "edges": 1}
    bad = job_doc()
    bad["components"][0]["records"] = "not a list"
    response = await client.post("/jobs/validate", json=bad, headers=headers)
    assert response.status_code == 422
    [issue] = (await response.get_json())["detail"]["context"]["issues"]
    assert (issue["path"], issue["component"]) == ("components[0].records", "src")
    assert await (await client.get("/jobs/", headers=headers)).get_json() == []


async def test_put_replaces_the_config_and_keeps_the_creation_time(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create(client, headers)
    before = (await (await client.get("/jobs/", headers=headers)).get_json())[0]
    replacement = job_doc("renamed", records=1)
    response = await client.put(f"/jobs/{job_id}", json=replacement, headers=headers)
    assert response.status_code == 200
    assert await response.get_json() == {"id": job_id}
    assert await (await client.get(f"/jobs/{job_id}", headers=headers)).get_json() == {"id": job_id, **replacement}
    after = (await (await client.get("/jobs/", headers=headers)).get_json())[0]
    assert after["created_at"] == before["created_at"]
    assert after["name"] == "renamed"


async def test_put_with_an_invalid_config_is_422_and_changes_nothing(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create(client, headers)
    response = await client.put(f"/jobs/{job_id}", json={"name": "x", "components": []}, headers=headers)
    assert response.status_code == 422
    assert (await (await client.get(f"/jobs/{job_id}", headers=headers)).get_json())["name"] == "numbers"


async def test_unknown_job_is_404_for_get_put_and_delete(client: QuartClient, headers: dict[str, str]) -> None:
    for response in (
        await client.get("/jobs/nope", headers=headers),
        await client.put("/jobs/nope", json=job_doc(), headers=headers),
        await client.delete("/jobs/nope", headers=headers),
    ):
        assert response.status_code == 404
        assert await response.get_json() == {
            "detail": {"code": "JOB_NOT_FOUND", "message": "job 'nope' not found", "context": {"job_id": "nope"}}
        }


async def test_delete_removes_the_job(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers)
    response = await client.delete(f"/jobs/{job_id}", headers=headers)
    assert response.status_code == 200
    assert (await response.get_json())["id"] == job_id
    assert (await client.get(f"/jobs/{job_id}", headers=headers)).status_code == 404


async def test_put_and_delete_are_409_while_the_job_runs(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = await create(client, headers, job_doc(source={"delay_s": 0.05, "batch_size": 1}, records=200))
    started = await client.post(f"/execution/{job_id}", headers=headers)
    execution_id = (await started.get_json())["execution_id"]
    for response in (
        await client.put(f"/jobs/{job_id}", json=job_doc(), headers=headers),
        await client.delete(f"/jobs/{job_id}", headers=headers),
    ):
        assert response.status_code == 409
        detail = (await response.get_json())["detail"]
        assert detail["code"] == "JOB_RUNNING"
        assert detail["context"]["running_execution_ids"] == [execution_id]
    await client.post(f"/execution/executions/{execution_id}/cancel", headers=headers)
    assert (await client.delete(f"/jobs/{job_id}", headers=headers)).status_code == 200


async def test_delete_is_409_while_a_schedule_starts_the_job(
    app: Quart, client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = await create(client, headers)
    async with app.app_context():
        await state().store.create_schedule(ScheduleRecord("s1", "nightly", job_id, "DEV", "cron", {"hour": 1}))
    response = await client.delete(f"/jobs/{job_id}", headers=headers)
    assert response.status_code == 409
    assert (await response.get_json())["detail"]["context"]["schedule_ids"] == ["s1"]


async def test_production_mode_refuses_test_only_component_types(tmp_path: Path) -> None:
    from apitools import get_token

    app = make_app(make_settings(tmp_path, component_mode="production"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        response = await client.post("/jobs/", json=job_doc(), headers=headers)
        assert response.status_code == 422
        issues = (await response.get_json())["detail"]["context"]["issues"]
        assert {i["component"] for i in issues} == {"src", "sink"}
        assert all("test-only" in i["message"] for i in issues)


async def test_routes_answer_with_or_without_the_trailing_slash(client: QuartClient, headers: dict[str, str]) -> None:
    await create(client, headers)
    response = await client.get("/jobs", headers=headers)
    assert response.status_code == 200
    assert len(await response.get_json()) == 1
