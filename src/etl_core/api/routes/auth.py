"""POST /auth/token: OAuth2 client credentials (RFC 6749 §4.4), answers and errors in RFC 6749's shape."""

from __future__ import annotations

from urllib.parse import unquote_plus

import structlog
from quart import Blueprint, Response, jsonify, request
from quart_schema import DataSource, document_request, document_response, tag

from etl_core.api.errors import decode_json_body, request_text
from etl_core.api.models import TokenError, TokenRequest, TokenResponse
from etl_core.api.state import state
from etl_core.auth.service import ClientAuthError

bp = Blueprint("auth", __name__, url_prefix="/auth")
log = structlog.get_logger("etl_core.auth")

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _answer(body: dict[str, object], status: int, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    for name, value in {**_NO_STORE, **(headers or {})}.items():
        response.headers[name] = value
    return response


def _refuse(exc: ClientAuthError, basic: bool) -> Response:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="etl-core"' if basic else 'Bearer realm="etl-core"'
    return _answer({"error": exc.error, "error_description": exc.description}, exc.status, headers)


async def _fields() -> dict[str, str]:
    if request.mimetype == "application/json":
        data = decode_json_body(await request_text())
        if not isinstance(data, dict):
            raise ClientAuthError("invalid_request", "the request body must be form fields")
        return {k: str(v) for k, v in data.items() if v is not None}
    form = await request.form
    return {k: form[k] for k in form}


@bp.post("/token")
@document_request(TokenRequest, source=DataSource.FORM)
@document_response(TokenResponse, 200)
@document_response(TokenError, 400)
@document_response(TokenError, 401)
@tag(["auth"])
async def token() -> Response:
    """Exchange client credentials for a bearer token (form fields, or HTTP Basic client authentication)."""
    auth = request.authorization
    basic = auth is not None and auth.type == "basic"
    caller = request.remote_addr or "unknown"
    try:
        fields = await _fields()
    except ClientAuthError as exc:
        return _refuse(exc, basic)
    except Exception:  # noqa: BLE001 - the ApiError of a malformed body, answered in RFC 6749's shape here
        return _refuse(ClientAuthError("invalid_request", "the request body cannot be read"), basic)
    grant = fields.get("grant_type")
    if not grant:
        return _refuse(ClientAuthError("invalid_request", "grant_type is required"), basic)
    if grant != "client_credentials":
        return _refuse(
            ClientAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported; use client_credentials"),
            basic,
        )
    service = state().auth
    if basic:
        assert auth is not None
        if "client_secret" in fields:
            return _refuse(ClientAuthError("invalid_request", "use one client authentication method, not two"), basic)
        client_id = unquote_plus(auth.username or "")
        secret = unquote_plus(auth.password or "")
    else:
        client_id = fields.get("client_id") or service.client.client_id
        secret = fields.get("client_secret", "")
    try:
        issued = await service.issue_token(client_id, secret, fields.get("scope"), caller=caller)
    except ClientAuthError as exc:
        log.warning("token_refused", client_id=client_id, reason=exc.error, caller=caller)
        return _refuse(exc, basic)
    log.info("token_issued", client_id=client_id, scope=issued.scope, caller=caller)
    return _answer(
        {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        },
        200,
    )
