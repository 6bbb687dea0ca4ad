"""Bearer tokens on every route but the token endpoint and the API docs; scopes per route.

A route declares the scope it needs with `@requires(JOBS_WRITE)`; a route without a declaration needs only a
valid token. Missing or bad token: 401 with `WWW-Authenticate: Bearer ...` (RFC 6750); a valid token without the
scope: 403 `insufficient_scope`.

A CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`, CORS configured) passes without a
token, as browsers send it without credentials; any other `OPTIONS` needs one like every other method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from quart import Quart, Response, g, request
from quart_schema.openapi import QUART_SCHEMA_SECURITY_ATTRIBUTE

from etl_core.api.cors import is_preflight
from etl_core.api.errors import error_response
from etl_core.api.state import state
from etl_core.auth.scopes import allows
from etl_core.auth.tokens import InvalidToken

F = TypeVar("F", bound=Callable[..., Any])

SCOPE_ATTRIBUTE = "_etl_required_scope"
PUBLIC_ENDPOINTS = frozenset({"auth.token", "openapi", "swagger_ui"})
REALM = 'realm="etl-core"'


def requires(scope: str) -> Callable[[F], F]:
    """Declare the scope a route needs (also shown in the OpenAPI document)."""

    def mark(func: F) -> F:
        setattr(func, SCOPE_ATTRIBUTE, scope)
        setattr(func, QUART_SCHEMA_SECURITY_ATTRIBUTE, [{"bearerAuth": []}, {"oauth2": [scope]}])
        return func

    return mark


def _unauthorized(message: str, error: str | None = "invalid_token") -> Response:
    challenge = f"Bearer {REALM}"
    if error is not None:
        challenge += f', error="{error}", error_description="{message}"'
    return error_response(401, "UNAUTHORIZED", message, {}, {"WWW-Authenticate": challenge})


def install_auth(app: Quart) -> None:
    @app.before_request
    async def _check_bearer() -> Response | None:
        endpoint = request.endpoint
        # a browser sends a preflight without credentials; any other OPTIONS needs a token like every method
        if endpoint in PUBLIC_ENDPOINTS or is_preflight(state().settings.cors_allow_origins):
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return _unauthorized("this route needs an Authorization: Bearer token", error=None)
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized("the Authorization header must be 'Bearer <token>'", error="invalid_request")
        try:
            principal = state().auth.verify(token.strip())
        except InvalidToken as exc:
            return _unauthorized(str(exc))
        g.principal = principal
        view = app.view_functions.get(endpoint or "")
        needed = getattr(view, SCOPE_ATTRIBUTE, None)
        if needed is not None and not allows(principal.scopes, needed):
            message = f"this route needs the scope {needed!r}"
            challenge = f'Bearer {REALM}, error="insufficient_scope", scope="{needed}"'
            return error_response(
                403,
                "INSUFFICIENT_SCOPE",
                message,
                {"required_scope": needed, "granted_scopes": sorted(principal.scopes)},
                {"WWW-Authenticate": challenge},
            )
        return None
