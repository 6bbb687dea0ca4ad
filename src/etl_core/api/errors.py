"""Every error the API answers, mapped in one place to `{"detail": {"code", "message", "context"}}`.

    400 malformed request (not JSON, wrong shape)      401 no or bad bearer token      403 missing scope
    404 unknown id or path                             405 method not allowed          409 running / in use
    422 invalid job config or body (every issue listed with its JSON path)
    500 a real fault: logged with an error id that the answer quotes, never a stack trace

The token endpoint alone answers in RFC 6749's shape (see `routes/auth.py`).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError
from quart import Quart, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from etl_core.config.loader import issues_from_validation
from etl_core.errors import ConfigError, ConflictError, NotFoundError, SettingsError
from etl_core.observability.logging import SECRET_KEYS

log = structlog.get_logger("etl_core.api")


class ApiError(Exception):
    """An answer other than success, raised anywhere in a request and turned into the uniform error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        context: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.context = context or {}
        self.headers = headers or {}
        super().__init__(message)


def error_response(
    status: int, code: str, message: str, context: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response:
    response = jsonify({"detail": {"code": code, "message": message, "context": context or {}}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# a `value` anywhere in the path: a parameter's value, or a part of one of the wrong shape (`value[0]`,
# `value.str` of a union) -- a secure parameter's value is never quoted, whatever its shape
_VALUE_SEGMENT = re.compile(r"(?:^|\.)value(?:$|[.\[])")


def _may_hold_a_secret(path: str) -> bool:
    return bool(SECRET_KEYS.search(path) or _VALUE_SEGMENT.search(path))


def validation_error(exc: ValidationError, *, where: str = "body", status: int = 422) -> ApiError:
    """A pydantic failure on a request body or query as an ApiError listing every issue with its path.

    Messages may quote the bad value, except for fields that can hold a secret (passwords, parameter values).
    """
    issues = []
    for issue, err in zip(issues_from_validation(exc), exc.errors(), strict=True):
        entry = issue.as_dict()
        if _may_hold_a_secret(issue.path):
            entry["message"] = str(err.get("msg", "invalid value"))
        issues.append(entry)
    code = "INVALID_BODY" if where == "body" else "INVALID_QUERY"
    summary = "; ".join(f"{i['path'] or '<root>'}: {i['message']}" for i in issues)
    return ApiError(status, code, f"invalid request {where}: {summary}", {"issues": issues})


def config_error(exc: ConfigError) -> ApiError:
    issues = [i.as_dict() for i in exc.issues]
    return ApiError(422, exc.code, f"invalid job config ({len(issues)} issue(s))", {"issues": issues})


_REASONS = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def _api(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.context, exc.headers)

    @app.errorhandler(ConfigError)
    async def _config(exc: ConfigError) -> Response:
        err = config_error(exc)
        return error_response(err.status, err.code, err.message, err.context)

    @app.errorhandler(NotFoundError)
    async def _not_found(exc: NotFoundError) -> Response:
        return error_response(404, exc.code, exc.message, exc.context)

    @app.errorhandler(ConflictError)
    async def _conflict(exc: ConflictError) -> Response:
        return error_response(409, exc.code, exc.message, exc.context)

    @app.errorhandler(SettingsError)
    async def _settings(exc: SettingsError) -> Response:
        return error_response(400, exc.code, str(exc))

    @app.errorhandler(HTTPException)
    async def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status >= 500:
            return _fault(exc)
        code = _REASONS.get(status, (exc.name or "ERROR").upper().replace(" ", "_"))
        context: dict[str, Any] = {"path": request.path, "method": request.method}
        headers = {}
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            allowed = sorted(exc.valid_methods)  # type: ignore[attr-defined]
            context["allowed_methods"] = allowed
            headers["Allow"] = ", ".join(allowed)
        message = exc.description or exc.name
        if status == 404:
            message = f"no route {request.method} {request.path}"
        return error_response(status, code, message, context, headers)

    @app.errorhandler(Exception)
    async def _unexpected(exc: Exception) -> Response:
        return _fault(exc)


def _fault(exc: BaseException) -> Response:
    error_id = uuid.uuid4().hex[:16]
    log.error(
        "request_failed",
        error_id=error_id,
        method=request.method,
        path=request.path,
        error_type=type(exc).__name__,
        exc_info=exc,
    )
    return error_response(
        500,
        "INTERNAL_ERROR",
        f"internal server error; quote error id {error_id} when reporting it",
        {"error_id": error_id},
    )


async def request_text() -> str:
    """The request body as text (invalid UTF-8 is a 400)."""
    data = await request.get_data(as_text=False)
    try:
        return data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise ApiError(400, "MALFORMED_REQUEST", "the request body is not valid UTF-8") from None


async def parse_body(model: type[BaseModel], *, optional: bool = False) -> Any:
    """The request body as `model`: 400 when it is not JSON, 422 listing every issue when it does not fit."""
    raw = await request_text()
    if not raw.strip():
        if optional:
            return model()
        raise ApiError(400, "MALFORMED_REQUEST", "the request needs a JSON body")
    data = decode_json_body(raw)
    if data is None and optional:
        return model()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


MAX_JSON_DEPTH = 100
"""How deeply a request body may nest objects and arrays. Far beyond any job config, and far below the depth at
which decoding, validating or storing it would exhaust Python's recursion limit (a 500)."""


def decode_json_body(raw: str) -> Any:
    """The body decoded; 400 `MALFORMED_JSON` when it is not JSON or nests deeper than `MAX_JSON_DEPTH`."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "MALFORMED_JSON",
            f"the request body is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
        ) from None
    except RecursionError:  # deeper than the decoder itself can go
        raise _too_deep() from None
    if _nests_deeper_than(data, MAX_JSON_DEPTH):
        raise _too_deep()
    return data


def _too_deep() -> ApiError:
    message = f"the request body nests objects and arrays deeper than {MAX_JSON_DEPTH} levels"
    return ApiError(400, "MALFORMED_JSON", message, {"max_depth": MAX_JSON_DEPTH})


def _nests_deeper_than(data: Any, limit: int) -> bool:
    """Whether `data` has more than `limit` levels of objects and arrays (walked without recursion)."""
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(data, 1)] if isinstance(data, (dict, list)) else []
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def parse_query(model: type[BaseModel]) -> Any:
    """The query string as `model`, or 422 listing every bad parameter."""
    args = {key: request.args.get(key) for key in request.args}
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise validation_error(exc, where="query") from None
