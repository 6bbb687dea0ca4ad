"""Contexts, credentials and mappings: secrets go to the secret store, never to the database or an answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.api.state import state
from etl_core.settings import Settings

PASSWORD = "pg-Password-That-Must-Stay-Secret-42"
TOKEN = "api-token-value-never-in-the-db-77"


def context_body(**overrides: Any) -> dict[str, Any]:
    ctx = {
        "name": "warehouse",
        "environment": "DEV",
        "parameters": {
            "schema": {"key": "schema", "value": "public", "type": "string", "is_secure": False},
            "api_token": {"key": "api_token", "value": TOKEN, "type": "string", "is_secure": True},
            "batch": {"value": 500, "type": "integer", "is_secure": False},
        },
    }
    ctx.update(overrides)
    return {"context": ctx}


def credentials_body(**overrides: Any) -> dict[str, Any]:
    creds = {"name": "dev db", "user": "etl", "host": "db.local", "port": 5432, "database": "dwh", "password": PASSWORD}
    creds.update(overrides)
    return {"credentials": creds}


def database_bytes(settings: Settings) -> bytes:
    db = Path(settings.database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


async def post(client: QuartClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    created: dict[str, Any] = await response.get_json()
    return created


async def test_context_keeps_secure_values_in_the_secret_store_only(
    app: Quart, client: QuartClient, headers: dict[str, str], settings: Settings
) -> None:
    created = await post(client, headers, "/contexts/context", context_body())
    assert {k: created[k] for k in ("kind", "name", "environment", "parameters_registered")} == {
        "kind": "context",
        "name": "warehouse",
        "environment": "DEV",
        "parameters_registered": 3,
    }
    response = await client.get(f"/contexts/{created['id']}", headers=headers)
    got = await response.get_json()
    assert got["parameters"]["schema"] == {"key": "schema", "value": "public", "type": "string", "is_secure": False}
    assert got["parameters"]["api_token"] == {"key": "api_token", "value": None, "type": "string", "is_secure": True}
    assert got["parameters"]["batch"]["value"] == 500
    assert TOKEN not in await response.get_data(as_text=True)
    assert TOKEN.encode() not in database_bytes(settings)
    async with app.app_context():
        assert await state().secrets.get(f"context/{created['id']}/api_token") == TOKEN


async def test_credentials_password_is_never_returned_nor_stored_in_the_database(
    app: Quart, client: QuartClient, headers: dict[str, str], settings: Settings
) -> None:
    created = await post(client, headers, "/contexts/credentials", credentials_body())
    assert (created["kind"], created["name"], created["environment"]) == ("credentials", "dev db", None)
    response = await client.get(f"/contexts/{created['id']}", headers=headers)
    got = await response.get_json()
    assert got == {
        "id": created["id"],
        "kind": "credentials",
        "name": "dev db",
        "user": "etl",
        "host": "db.local",
        "port": 5432,
        "database": "dwh",
        "environment": None,
        "created_at": got["created_at"],
        "has_password": True,
    }
    assert PASSWORD not in await response.get_data(as_text=True)
    listing = await (await client.get("/contexts/", headers=headers)).get_data(as_text=True)
    assert PASSWORD not in listing
    assert PASSWORD.encode() not in database_bytes(settings)
    async with app.app_context():
        assert await state().secrets.get(f"credentials/{created['id']}/password") == PASSWORD


async def test_mapping_context_links_environments_to_credentials(client: QuartClient, headers: dict[str, str]) -> None:
    dev = await post(client, headers, "/contexts/credentials", credentials_body())
    prod = await post(client, headers, "/contexts/credentials", credentials_body(name="prod db", host="db.prod"))
    body = {"context": {"name": "db", "environment": "DEV", "credentials_ids": {"DEV": dev["id"], "PROD": prod["id"]}}}
    created = await post(client, headers, "/contexts/credentials-mapping-context", body)
    assert (created["kind"], created["parameters_registered"]) == ("context", 2)
    got = await (await client.get(f"/contexts/{created['id']}", headers=headers)).get_json()
    assert got["credentials_ids"] == {"DEV": dev["id"], "PROD": prod["id"]}


async def test_mapping_to_unknown_credentials_is_404(client: QuartClient, headers: dict[str, str]) -> None:
    body = {"context": {"name": "db", "environment": "DEV", "credentials_ids": {"DEV": "missing"}}}
    response = await client.post("/contexts/credentials-mapping-context", json=body, headers=headers)
    assert response.status_code == 404
    detail = (await response.get_json())["detail"]
    assert (detail["code"], detail["context"]["credentials_ids"]) == ("CREDENTIALS_NOT_FOUND", ["missing"])


async def test_listing_shows_contexts_and_credentials(client: QuartClient, headers: dict[str, str]) -> None:
    ctx = await post(client, headers, "/contexts/context", context_body())
    creds = await post(client, headers, "/contexts/credentials", credentials_body())
    items = await (await client.get("/contexts/", headers=headers)).get_json()
    assert [(i["id"], i["kind"], i["name"], i["environment"]) for i in items] == [
        (ctx["id"], "context", "warehouse", "DEV"),
        (creds["id"], "credentials", "dev db", None),
    ]


async def test_delete_removes_the_entry_and_its_secrets(
    app: Quart, client: QuartClient, headers: dict[str, str]
) -> None:
    ctx = await post(client, headers, "/contexts/context", context_body())
    creds = await post(client, headers, "/contexts/credentials", credentials_body())
    for entry in (ctx, creds):
        response = await client.delete(f"/contexts/{entry['id']}", headers=headers)
        assert response.status_code == 204
        assert (await client.get(f"/contexts/{entry['id']}", headers=headers)).status_code == 404
    async with app.app_context():
        assert await state().secrets.get(f"context/{ctx['id']}/api_token") is None
        assert await state().secrets.get(f"credentials/{creds['id']}/password") is None
    assert (await client.delete(f"/contexts/{ctx['id']}", headers=headers)).status_code == 404


async def test_credentials_used_by_a_mapping_cannot_be_deleted(client: QuartClient, headers: dict[str, str]) -> None:
    creds = await post(client, headers, "/contexts/credentials", credentials_body())
    body = {"context": {"name": "db", "environment": "DEV", "credentials_ids": {"DEV": creds["id"]}}}
    mapping = await post(client, headers, "/contexts/credentials-mapping-context", body)
    response = await client.delete(f"/contexts/{creds['id']}", headers=headers)
    assert response.status_code == 409
    detail = (await response.get_json())["detail"]
    assert (detail["code"], detail["context"]["context_ids"]) == ("CREDENTIALS_IN_USE", [mapping["id"]])
    assert (await client.delete(f"/contexts/{mapping['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"/contexts/{creds['id']}", headers=headers)).status_code == 204


@pytest.mark.parametrize(
    ("path", "body", "issue_path"),
    [
        ("/contexts/context", {"context": {"name": "x", "environment": "QA"}}, "context.environment"),
        ("/contexts/context", {"context": {"environment": "DEV"}}, "context.name"),
        ("/contexts/context", {"ctx": {}}, "context"),
        ("/contexts/credentials", {"credentials": {"name": "x", "user": "u"}}, "credentials.database"),
        ("/contexts/credentials", {"credentials": credentials_body()["credentials"] | {"port": 0}}, "credentials.port"),
        (
            "/contexts/credentials-mapping-context",
            {"context": {"name": "x", "environment": "DEV", "credentials_ids": {}}},
            "context.credentials_ids",
        ),
    ],
)
async def test_bad_bodies_are_422_naming_the_field(
    client: QuartClient, headers: dict[str, str], path: str, body: dict[str, Any], issue_path: str
) -> None:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 422
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "INVALID_BODY"
    assert issue_path in [i["path"] for i in detail["context"]["issues"]]
    assert PASSWORD not in detail["message"]


async def test_a_bad_password_value_is_not_echoed(client: QuartClient, headers: dict[str, str]) -> None:
    body = credentials_body(password=["not", "a", PASSWORD])
    response = await client.post("/contexts/credentials", json=body, headers=headers)
    assert response.status_code == 422
    text = await response.get_data(as_text=True)
    assert "credentials.password" in text
    assert PASSWORD not in text


@pytest.mark.parametrize("value", [["TopSecret-123"], {"part": "TopSecret-123"}, [["TopSecret-123"]]])
async def test_a_secure_parameter_value_of_the_wrong_shape_is_422_without_quoting_it(
    client: QuartClient, headers: dict[str, str], value: Any
) -> None:
    # `greeting` does not sound secret: only the `value` in the path keeps it out of the answer
    parameter = {"key": "greeting", "value": value, "type": "string", "is_secure": True}
    body = context_body(parameters={"greeting": parameter})
    response = await client.post("/contexts/context", json=body, headers=headers)
    assert response.status_code == 422
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "INVALID_BODY"
    issues = detail["context"]["issues"]
    assert {i["path"] for i in issues} == {
        "context.parameters.greeting.value.str",
        "context.parameters.greeting.value.int",
        "context.parameters.greeting.value.float",
        "context.parameters.greeting.value.bool",
    }
    assert {i["message"] for i in issues} == {
        "Input should be a valid string",
        "Input should be a valid integer",
        "Input should be a valid number",
        "Input should be a valid boolean",
    }
    assert "TopSecret" not in await response.get_data(as_text=True)


async def test_unknown_id_is_404(client: QuartClient, headers: dict[str, str]) -> None:
    response = await client.get("/contexts/nope", headers=headers)
    assert response.status_code == 404
    assert (await response.get_json())["detail"]["code"] == "CONTEXT_NOT_FOUND"
