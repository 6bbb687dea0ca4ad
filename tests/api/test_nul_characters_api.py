"""The NUL character (U+0000), which PostgreSQL text cannot hold, is refused wherever it would reach a text column
or a lookup, naming where it is, on both store backends alike: path ids, query parameters, names and ids in
bodies, job and component names. Inside a job's component options (stored as JSON) it stays allowed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from apitools import job_doc, make_app
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.settings import Settings
from etl_core.store import open_store

NUL = "\x00"


@pytest.fixture
def app(settings: Settings, store_url: tuple[str, str | None]) -> Quart:
    url, schema = store_url
    return make_app(settings, store=open_store(url, schema=schema))


@pytest.mark.parametrize(
    ("method", "path", "parameter"),
    [
        ("GET", "/jobs/a%00b", "job_id"),
        ("PUT", "/jobs/%00", "job_id"),
        ("DELETE", "/jobs/%00", "job_id"),
        ("POST", "/execution/%00", "job_id"),
        ("GET", "/execution/executions/%00", "execution_id"),
        ("GET", "/execution/executions/%00/attempts", "execution_id"),
        ("GET", "/execution/executions/%00/events", "execution_id"),
        ("GET", "/execution/executions/%00/logs", "execution_id"),
        ("POST", "/execution/executions/%00/cancel", "execution_id"),
        ("GET", "/contexts/%00", "provider_id"),
        ("DELETE", "/contexts/%00", "provider_id"),
        ("GET", "/schedules/%00", "schedule_id"),
        ("DELETE", "/schedules/%00", "schedule_id"),
        ("POST", "/schedules/%00/run-now", "schedule_id"),
        ("GET", "/configs/%00/form", "comp_type"),
    ],
)
async def test_a_nul_in_a_path_id_is_a_400_naming_the_parameter(
    client: QuartClient, headers: dict[str, str], method: str, path: str, parameter: str
) -> None:
    response = await client.open(path, method=method, headers=headers)

    assert response.status_code == 400
    assert (await response.get_json())["detail"] == {
        "code": "MALFORMED_REQUEST",
        "message": f"the path parameter {parameter} contains the NUL character (U+0000), which no id holds",
        "context": {"where": "path", "parameter": parameter},
    }


@pytest.mark.parametrize("path", ["/execution/executions?job_id=a%00", "/schedules/?job_id=%00"])
async def test_a_nul_in_a_query_parameter_is_a_422_naming_it(
    client: QuartClient, headers: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=headers)

    assert response.status_code == 422
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "INVALID_QUERY"
    assert detail["context"]["issues"] == [
        {"path": "job_id", "message": "must not contain the NUL character (U+0000)", "component": None}
    ]


async def test_a_request_without_a_token_is_refused_before_its_parameters_are_looked_at(client: QuartClient) -> None:
    response = await client.get("/jobs/%00")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/contexts/context", {"context": {"name": "c\x00", "environment": "DEV"}}, "context.name"),
        (
            "/contexts/credentials",
            {"credentials": {"name": "n", "user": "u\x00", "database": "d"}},
            "credentials.user",
        ),
        (
            "/contexts/credentials",
            {"credentials": {"name": "n", "user": "u", "database": "d", "password": "pw\x00"}},
            "credentials.password",
        ),
        (
            "/contexts/credentials-mapping-context",
            {"context": {"name": "m", "environment": "DEV", "credentials_ids": {"DEV": "\x00"}}},
            "context.credentials_ids.DEV",
        ),
    ],
)
async def test_names_ids_and_passwords_with_a_nul_are_refused_and_nothing_is_stored(
    client: QuartClient, headers: dict[str, str], path: str, body: dict[str, Any], where: str
) -> None:
    response = await client.post(path, json=body, headers=headers)

    assert response.status_code == 422
    detail = (await response.get_json())["detail"]
    assert detail["context"]["issues"] == [
        {"path": where, "message": "must not contain the NUL character (U+0000)", "component": None}
    ]
    assert await (await client.get("/contexts/", headers=headers)).get_json() == []


@pytest.mark.parametrize("field", ["name", "job_id"])
async def test_a_schedule_whose_name_or_job_id_holds_a_nul_is_refused(
    client: QuartClient, headers: dict[str, str], field: str
) -> None:
    job_id = (await (await client.post("/jobs/", json=job_doc(), headers=headers)).get_json())["id"]
    body = {"name": "hourly", "job_id": job_id, "trigger_type": "interval", "trigger_args": {"hours": 1}}
    body[field] = body[field] + NUL

    response = await client.post("/schedules/", json=body, headers=headers)

    assert response.status_code == 422
    assert (await response.get_json())["detail"]["context"]["issues"] == [
        {"path": field, "message": "must not contain the NUL character (U+0000)", "component": None}
    ]
    assert await (await client.get("/schedules/", headers=headers)).get_json() == []


NUL_IN_HISTORY = "must not contain the NUL character (U+0000): the execution history cannot record it"


async def test_a_job_or_component_name_with_a_nul_is_refused_on_validate_create_and_replace(
    client: QuartClient, headers: dict[str, str]
) -> None:
    doc = job_doc("nightly\x00")
    doc["components"][1]["name"] = "si\x00nk"
    doc["components"][0]["routes"] = {"out": [{"to": "si\x00nk"}]}
    expected = [
        {"path": "name", "message": NUL_IN_HISTORY, "component": None},
        {"path": "components[1].name", "message": NUL_IN_HISTORY, "component": "si?nk"},
    ]
    kept = (await (await client.post("/jobs/", json=job_doc("kept"), headers=headers)).get_json())["id"]

    for method, path in (("POST", "/jobs/validate"), ("POST", "/jobs/"), ("PUT", f"/jobs/{kept}")):
        response = await client.open(path, method=method, json=doc, headers=headers)
        assert response.status_code == 422, path
        assert (await response.get_json())["detail"]["context"]["issues"] == expected, path

    jobs = await (await client.get("/jobs/", headers=headers)).get_json()
    assert [(j["id"], j["name"]) for j in jobs] == [(kept, "kept")]


async def test_a_nul_inside_component_options_is_stored_and_comes_back(
    client: QuartClient, headers: dict[str, str]
) -> None:
    doc = job_doc()
    doc["components"][0]["description"] = "tab\x00separated"

    response = await client.post("/jobs/", json=doc, headers=headers)
    assert response.status_code == 201
    stored = await (await client.get(f"/jobs/{(await response.get_json())['id']}", headers=headers)).get_json()

    assert stored["components"][0]["description"] == "tab\x00separated"
    assert json.dumps(stored).count("\\u0000") == 1
