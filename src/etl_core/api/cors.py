"""CORS for the origins `CORS_ALLOW_ORIGINS` lists (comma-separated; `*` for any). Nothing is sent otherwise."""

from __future__ import annotations

from quart import Quart, Response, request

_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
_HEADERS = "Authorization, Content-Type"


def cors_origins(setting: str) -> set[str]:
    """The origins `CORS_ALLOW_ORIGINS` lists; empty when CORS is off."""
    return {o.strip().rstrip("/") for o in setting.split(",") if o.strip()}


def is_preflight(setting: str) -> bool:
    """Whether the request is a CORS preflight: CORS is on, and it is an OPTIONS naming its origin and method."""
    return (
        request.method == "OPTIONS"
        and bool(cors_origins(setting))
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


def install_cors(app: Quart, setting: str) -> None:
    origins = cors_origins(setting)
    if not origins:
        return
    any_origin = "*" in origins

    def allowed(origin: str | None) -> bool:
        return origin is not None and (any_origin or origin.rstrip("/") in origins)

    @app.before_request
    async def _preflight() -> Response | None:
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers and allowed(origin):
            response = Response("", status=204)
            response.headers["Access-Control-Allow-Methods"] = _METHODS
            response.headers["Access-Control-Allow-Headers"] = _HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
            return response
        return None

    @app.after_request
    async def _headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if allowed(origin):
            assert origin is not None
            response.headers["Access-Control-Allow-Origin"] = "*" if any_origin else origin
            response.headers["Vary"] = "Origin"
        return response
