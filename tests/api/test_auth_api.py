"""The token endpoint (RFC 6749 shapes) and bearer tokens with scopes on every other route."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apitools import CLIENT_ID, SECRET, SIGNING_KEY, get_token, make_app, make_settings
from joserfc import jwt
from joserfc.jwk import OctKey
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.api import create_app
from etl_core.api.state import state
from etl_core.auth.throttle import FailureThrottle
from etl_core.errors import SettingsError

ROUTES = [
    ("POST", "/jobs/"),
    ("GET", "/jobs/"),
    ("POST", "/jobs/validate"),
    ("GET", "/jobs/x"),
    ("PUT", "/jobs/x"),
    ("DELETE", "/jobs/x"),
    ("POST", "/execution/x"),
    ("GET", "/execution/executions"),
    ("GET", "/execution/executions/x"),
    ("GET", "/execution/executions/x/attempts"),
    ("POST", "/execution/executions/x/cancel"),
    ("GET", "/execution/executions/x/events"),
    ("GET", "/execution/executions/x/logs"),
    ("POST", "/contexts/context"),
    ("POST", "/contexts/credentials"),
    ("POST", "/contexts/credentials-mapping-context"),
    ("GET", "/contexts/"),
    ("GET", "/contexts/x"),
    ("DELETE", "/contexts/x"),
    ("GET", "/configs/job"),
    ("GET", "/configs/component_types"),
    ("GET", "/configs/read_csv/form"),
    ("GET", "/configs/read_csv/full"),
    ("GET", "/configs/read_csv/hidden"),
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/no/such/route"),
]

# (method, path, scope needed): a token holding every other scope but this one gets 403
SCOPED = [
    ("POST", "/jobs/", "jobs:write"),
    ("GET", "/jobs/", "jobs:read"),
    ("PUT", "/jobs/x", "jobs:write"),
    ("DELETE", "/jobs/x", "jobs:write"),
    ("POST", "/execution/x", "executions:run"),
    ("POST", "/execution/executions/x/cancel", "executions:run"),
    ("GET", "/execution/executions", "jobs:read"),
    ("POST", "/contexts/context", "contexts:write"),
    ("DELETE", "/contexts/x", "contexts:write"),
    ("GET", "/configs/job", "jobs:read"),
]
ALL_BUT_ADMIN = ["jobs:read", "jobs:write", "executions:run", "schedules:write", "contexts:write"]


def form(**extra: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET, **extra}


def hand_made(**overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": CLIENT_ID,
        "iss": "etl-core",
        "aud": CLIENT_ID,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "j",
        "scope": "admin",
    }
    claims.update(overrides)
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(SIGNING_KEY.encode()), algorithms=["HS256"])


async def test_token_endpoint_answers_rfc6749_shape(client: QuartClient) -> None:
    response = await client.post("/auth/token", form=form())
    assert response.status_code == 200
    body = await response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"].split() == [
        "jobs:read",
        "jobs:write",
        "executions:run",
        "schedules:write",
        "contexts:write",
        "admin",
    ]
    assert response.headers["Cache-Control"] == "no-store"


async def test_token_endpoint_accepts_http_basic_client_authentication(client: QuartClient) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    response = await client.post(
        "/auth/token", form={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    token = (await response.get_json())["access_token"]
    health = await client.get("/health", headers={"Authorization": f"Bearer {token}"})
    assert health.status_code == 200


async def test_wrong_secret_is_invalid_client_with_a_challenge(client: QuartClient) -> None:
    response = await client.post("/auth/token", form=form(client_secret=SECRET + "x"))
    assert response.status_code == 401
    assert await response.get_json() == {"error": "invalid_client", "error_description": "client authentication failed"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    basic = base64.b64encode(f"{CLIENT_ID}:nope".encode()).decode()
    response = await client.post(
        "/auth/token", form={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="etl-core"'


async def test_unknown_client_id_is_invalid_client(client: QuartClient) -> None:
    response = await client.post("/auth/token", form=form(client_id="someone"))
    assert response.status_code == 401
    assert (await response.get_json())["error"] == "invalid_client"


async def test_unsupported_and_missing_grant_types_are_400(client: QuartClient) -> None:
    response = await client.post("/auth/token", form=form(grant_type="password"))
    assert response.status_code == 400
    assert (await response.get_json())["error"] == "unsupported_grant_type"
    response = await client.post("/auth/token", form={"client_id": CLIENT_ID, "client_secret": SECRET})
    assert response.status_code == 400
    assert (await response.get_json())["error"] == "invalid_request"


async def test_requested_scopes_narrow_the_token_and_unknown_ones_are_refused(client: QuartClient) -> None:
    response = await client.post("/auth/token", form=form(scope="jobs:read executions:run"))
    assert (await response.get_json())["scope"] == "jobs:read executions:run"
    response = await client.post("/auth/token", form=form(scope="jobs:read root"))
    assert response.status_code == 400
    assert await response.get_json() == {"error": "invalid_scope", "error_description": "unknown scope(s): root"}


async def test_client_scopes_setting_limits_what_the_client_may_ask(tmp_path: Path) -> None:
    app = make_app(make_settings(tmp_path, auth_client_scopes="jobs:read"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert (await (await client.post("/auth/token", form=form())).get_json())["scope"] == "jobs:read"
        response = await client.post("/auth/token", form=form(scope="jobs:write"))
        assert response.status_code == 400
        assert (await response.get_json())["error"] == "invalid_scope"


async def test_repeated_failures_from_one_client_are_slowed_down(tmp_path: Path) -> None:
    throttle = FailureThrottle(free_failures=2, base_delay=0.001, max_delay=0.004)
    app = make_app(make_settings(tmp_path), throttle=throttle)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        delays = []
        for _ in range(5):
            delays.append(throttle.delay(f"client:{CLIENT_ID}"))
            response = await client.post("/auth/token", form=form(client_secret="wrong"))
            assert response.status_code == 401
        assert delays == [0.0, 0.0, 0.001, 0.002, 0.004]
        assert (await client.post("/auth/token", form=form())).status_code == 200
        assert throttle.delay(f"client:{CLIENT_ID}") == 0.0


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_but_the_token_endpoint_needs_a_bearer_token(
    client: QuartClient, method: str, path: str
) -> None:
    response = await client.open(path, method=method, json={})
    assert response.status_code == 401
    body = await response.get_json()
    assert body["detail"]["code"] == "UNAUTHORIZED"
    assert set(body["detail"]) == {"code", "message", "context"}
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="etl-core"')


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic abc", "Token abc", "Bearer not-a-jwt", "Bearer a.b.c"],
)
async def test_malformed_or_invalid_bearer_is_401(client: QuartClient, authorization: str) -> None:
    response = await client.get("/health", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert (await response.get_json())["detail"]["code"] == "UNAUTHORIZED"
    assert "error=" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"nbf": int(time.time()) + 300}, "not valid yet"),
        ({"iss": "elsewhere"}, "iss"),
        ({"aud": "another-api"}, "aud"),
        ({"sub": "intruder"}, "subject"),
    ],
)
async def test_bad_tokens_are_refused_with_the_reason(
    client: QuartClient, overrides: dict[str, Any], reason: str
) -> None:
    response = await client.get("/health", headers={"Authorization": f"Bearer {hand_made(**overrides)}"})
    assert response.status_code == 401
    assert reason in (await response.get_json())["detail"]["message"]


async def test_token_from_another_server_key_is_refused(client: QuartClient) -> None:
    token = jwt.encode(
        {"alg": "HS256"},
        {
            "sub": CLIENT_ID,
            "iss": "etl-core",
            "aud": CLIENT_ID,
            "iat": 1,
            "nbf": 1,
            "exp": 2**40,
            "jti": "x",
            "scope": "admin",
        },
        OctKey.import_key(b"Another-Signing-Key-0123456789-#abc"),
        algorithms=["HS256"],
    )
    response = await client.get("/health", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "signature" in (await response.get_json())["detail"]["message"]


async def test_hand_made_valid_token_is_accepted(client: QuartClient) -> None:
    response = await client.get("/health", headers={"Authorization": f"Bearer {hand_made()}"})
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path", "scope"), SCOPED)
async def test_a_token_without_the_routes_scope_gets_403(
    client: QuartClient, scoped: Callable[[str], Any], method: str, path: str, scope: str
) -> None:
    others = " ".join(s for s in ALL_BUT_ADMIN if s != scope)
    response = await client.open(path, method=method, json={}, headers=await scoped(others))
    assert response.status_code == 403
    body = await response.get_json()
    assert body["detail"]["code"] == "INSUFFICIENT_SCOPE"
    assert body["detail"]["context"]["required_scope"] == scope
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


async def test_admin_scope_stands_for_every_scope(client: QuartClient, scoped: Callable[[str], Any]) -> None:
    headers = await scoped("admin")
    assert (await client.get("/jobs/", headers=headers)).status_code == 200
    assert (await client.post("/execution/nope", headers=headers)).status_code == 404


async def test_health_and_metrics_need_only_a_valid_token(client: QuartClient, scoped: Callable[[str], Any]) -> None:
    headers = await scoped("contexts:write")
    assert (await client.get("/health", headers=headers)).status_code == 200
    assert (await client.get("/metrics", headers=headers)).status_code == 200


async def test_api_docs_are_public(client: QuartClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc = await response.get_json()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "type": "http",
    }
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["paths"]["/auth/token"]["post"]["security"] == []
    assert {"bearerAuth": []} in doc["paths"]["/jobs/"]["post"]["security"]
    assert (await client.get("/docs")).status_code == 200


def test_the_app_refuses_to_start_with_weak_secrets_naming_every_rule(tmp_path: Path) -> None:
    weak = "short-Secret"
    settings = make_settings(tmp_path, auth_client_secret=weak, auth_signing_key="nodigits-NOSYMBOLS")
    with pytest.raises(SettingsError) as info:
        create_app(settings)
    message = str(info.value)
    assert "ETL_AUTH_CLIENT_SECRET needs at least 32 characters" in message
    assert "ETL_AUTH_SIGNING_KEY" in message
    assert "needs a digit" in message
    assert weak not in message
    assert "nodigits-NOSYMBOLS" not in message


async def test_token_issuance_reaches_the_app_state(app: Quart, client: QuartClient) -> None:
    token = await get_token(client, "jobs:read")
    async with app.app_context():
        principal = state().auth.verify(token)
    assert principal.scopes == {"jobs:read"}
