"""JSON that parses but cannot be kept is refused at the door, on both store backends, each problem named with its
JSON path: NaN and Infinity, numbers beyond a double, keys given twice, lone UTF-16 surrogates, integers too long
to read. Nothing is stored when the answer is an error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from apitools import CLIENT_ID, SECRET, job_doc, make_app
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.settings import Settings
from etl_core.store import open_store


@pytest.fixture
def app(settings: Settings, store_url: tuple[str, str | None]) -> Quart:
    url, schema = store_url
    return make_app(settings, store=open_store(url, schema=schema))


def as_json(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


def job_text_with(extra: str) -> str:
    """A valid job document as text, with `extra` (raw JSON text, `"key": value`) added as its last field."""
    return json.dumps(job_doc())[:-1] + ", " + extra + "}"


async def refusal(client: QuartClient, method: str, path: str, text: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.open(path, method=method, data=text, headers=as_json(headers))
    body: dict[str, Any] = await response.get_json()
    assert response.status_code == 400, body
    assert body["detail"]["code"] == "MALFORMED_JSON"
    return body["detail"]


async def stored_jobs(client: QuartClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = await (await client.get("/jobs/", headers=headers)).get_json()
    return jobs


@pytest.mark.parametrize(
    ("literal", "where"),
    [
        ('"metadata": {"ratio": NaN}', "metadata.ratio"),
        ('"metadata": {"limits": [1, Infinity]}', "metadata.limits[1]"),
        ('"metadata": {"low": -Infinity}', "metadata.low"),
        ('"metadata": {"huge": 1e400}', "metadata.huge"),
    ],
)
async def test_nan_infinity_and_numbers_beyond_a_double_are_refused_at_their_path(
    client: QuartClient, headers: dict[str, str], literal: str, where: str
) -> None:
    detail = await refusal(client, "POST", "/jobs/", job_text_with(literal), headers)

    assert detail["context"]["issues"] == [
        {
            "path": where,
            "message": "NaN, Infinity and numbers beyond a double's range are not JSON numbers",
            "component": None,
        }
    ]
    assert where in detail["message"]
    assert await stored_jobs(client, headers) == []


async def test_a_key_given_twice_is_refused_naming_it_and_nothing_is_stored(
    client: QuartClient, headers: dict[str, str]
) -> None:
    text = job_text_with('"name": "second", "metadata": {"owner": "ana", "owner": "bo"}')

    detail = await refusal(client, "POST", "/jobs/", text, headers)

    paths = [issue["path"] for issue in detail["context"]["issues"]]
    assert paths == ["name", "metadata.owner"]
    assert {issue["message"] for issue in detail["context"]["issues"]} == {
        "this key appears more than once in its object"
    }
    assert await stored_jobs(client, headers) == []


async def test_a_lone_surrogate_in_a_key_or_a_value_is_refused_naming_where_it_is(
    client: QuartClient, headers: dict[str, str]
) -> None:
    text = job_text_with('"metadata": {"note": "a\\ud800b", "\\udc00": 1}')

    detail = await refusal(client, "POST", "/jobs/", text, headers)

    assert detail["context"]["issues"] == [
        {
            "path": "metadata.note",
            "message": "the string contains a lone UTF-16 surrogate, which is not a character",
            "component": None,
        },
        {
            "path": "metadata.\\udc00",
            "message": "the key contains a lone UTF-16 surrogate, which is not a character",
            "component": None,
        },
    ]
    assert await stored_jobs(client, headers) == []


async def test_an_escaped_surrogate_pair_is_an_ordinary_character_and_is_kept(
    client: QuartClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/jobs/", data=job_text_with('"metadata": {"mood": "\\ud83d\\ude00"}'), headers=as_json(headers)
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    job_id = (await response.get_json())["id"]

    stored = await (await client.get(f"/jobs/{job_id}", headers=headers)).get_json()

    assert stored["metadata"] == {"mood": "\U0001f600"}


async def test_an_integer_too_long_to_read_is_refused_instead_of_failing_the_server(
    client: QuartClient, headers: dict[str, str]
) -> None:
    digits = "7" * 5000

    detail = await refusal(client, "POST", "/jobs/validate", job_text_with(f'"metadata": {{"n": {digits}}}'), headers)

    assert detail["context"]["issues"] == [
        {"path": "metadata.n", "message": "an integer of 5000 digits is too long to read", "component": None}
    ]


async def test_problems_inside_a_component_name_the_component(client: QuartClient, headers: dict[str, str]) -> None:
    text = json.dumps(job_doc()).replace('"records": [{"n": 0}', '"records": [{"n": NaN}', 1)

    detail = await refusal(client, "POST", "/jobs/", text, headers)

    assert detail["context"]["issues"] == [
        {
            "path": "components[0].records[0].n",
            "message": "NaN, Infinity and numbers beyond a double's range are not JSON numbers",
            "component": "src",
        }
    ]


async def test_every_json_route_refuses_a_nan_naming_the_field(client: QuartClient, headers: dict[str, str]) -> None:
    job_id = (await (await client.post("/jobs/", json=job_doc(), headers=headers)).get_json())["id"]
    bodies = {
        "/contexts/context": '{"context": {"name": "c", "environment": "DEV", "parameters": {"p": {"value": NaN}}}}',
        "/contexts/credentials": '{"credentials": {"name": "n", "user": "u", "database": "d", "port": NaN}}',
        "/schedules/": (
            f'{{"name": "s", "job_id": "{job_id}", "trigger_type": "interval", "trigger_args": {{"minutes": NaN}}}}'
        ),
        f"/execution/{job_id}": '{"environment": "DEV", "environment": "PROD"}',
    }
    where = {
        "/contexts/context": "context.parameters.p.value",
        "/contexts/credentials": "credentials.port",
        "/schedules/": "trigger_args.minutes",
        f"/execution/{job_id}": "environment",
    }

    for path, text in bodies.items():
        detail = await refusal(client, "POST", path, text, headers)
        assert [issue["path"] for issue in detail["context"]["issues"]] == [where[path]], path

    assert (await (await client.get("/contexts/", headers=headers)).get_json()) == []
    assert (await (await client.get("/schedules/", headers=headers)).get_json()) == []
    executions = await (await client.get("/execution/executions", headers=headers)).get_json()
    assert executions["total"] == 0


async def test_the_token_endpoint_answers_such_json_in_rfc_6749_shape(client: QuartClient) -> None:
    text = json.dumps({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET})
    text = text[:-1] + ', "scope": NaN}'

    response = await client.post("/auth/token", data=text, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert await response.get_json() == {
        "error": "invalid_request",
        "error_description": "the request body cannot be read",
    }
