"""Every error the API answers, mapped in one place to `{"detail": {"code", "message", "context"}}`.

    400 malformed request (not JSON, wrong shape)      401 no or bad bearer token      403 missing scope
    404 unknown id or path                             405 method not allowed          409 running / in use
    422 invalid job config or body (every issue listed with its JSON path)
    500 a real fault: logged with an error id that the answer quotes, never a stack trace

The token endpoint alone answers in RFC 6749's shape (see `routes/auth.py`).
"""

from __future__ import annotations

import json
import math
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
            entry["message"] = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
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

MAX_LISTED_ISSUES = 100
"""At most this many problems of a malformed body are listed (the count says how many there are)."""


class _DuplicatedKeys(dict[str, Any]):
    """An object in which some keys appeared more than once; `duplicates` names them in order."""

    duplicates: list[str]


class _Unconvertible(str):
    """An integer literal with more digits than Python converts (`sys.get_int_max_str_digits`)."""


class _Decoder:
    """`json.loads` hooks that mark what `decode_json_body` refuses; `suspect` says whether anything was marked,
    so the walk that finds where (building JSON paths) runs only for bodies that need it."""

    def __init__(self) -> None:
        self.suspect = False

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        self.suspect = True
        marked = _DuplicatedKeys(obj)
        marked.duplicates = []
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen and key not in marked.duplicates:
                marked.duplicates.append(key)
            seen.add(key)
        return marked

    def integer(self, text: str) -> Any:
        try:
            return int(text)
        except ValueError:
            self.suspect = True
            return _Unconvertible(text)

    def number(self, text: str) -> float:
        value = float(text)
        if not math.isfinite(value):  # 1e400
            self.suspect = True
        return value

    def constant(self, text: str) -> float:
        self.suspect = True  # NaN, Infinity, -Infinity
        return float(text)


def decode_json_body(raw: str) -> Any:
    """The body decoded; 400 `MALFORMED_JSON` when it is not JSON, or JSON that nothing downstream can keep.

    Refused, every problem listed with its JSON path (and component name under `components[i]`): a key given
    twice in one object (which value counts would be a guess), `NaN`/`Infinity` or a number too large for a
    double (not JSON; they would be stored and answered as invalid JSON), a lone UTF-16 surrogate such as
    `"\\ud800"` (not a character: it cannot be stored or encoded), an integer of more digits than Python converts,
    and nesting deeper than `MAX_JSON_DEPTH`.
    """
    hooks = _Decoder()
    try:
        data = json.loads(
            raw,
            object_pairs_hook=hooks.object,
            parse_int=hooks.integer,
            parse_float=hooks.number,
            parse_constant=hooks.constant,
        )
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "MALFORMED_JSON",
            f"the request body is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
        ) from None
    except RecursionError:  # deeper than the decoder itself can go
        raise _too_deep() from None
    # a lone surrogate can only come from an escape: the body itself is valid UTF-8
    escapes = "\\ud" in raw or "\\uD" in raw
    if not (hooks.suspect or escapes):
        if _nests_deeper_than(data, MAX_JSON_DEPTH):
            raise _too_deep()
        return data
    issues = _json_issues(data)
    if issues:
        listed = issues[:MAX_LISTED_ISSUES]
        _name_components(data, listed)
        summary = "; ".join(f"{i['path'] or '<root>'}: {i['message']}" for i in listed[:5])
        more = f" (and {len(issues) - 5} more)" if len(issues) > 5 else ""
        raise ApiError(
            400,
            "MALFORMED_JSON",
            f"the request body is JSON that cannot be accepted: {summary}{more}",
            {"issues": listed, "total_issues": len(issues)},
        )
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


def _printable(text: str) -> str:
    """`text` with lone surrogates written as `\\udXXX`, so a path or message naming them can be encoded."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _has_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# where a value sits, built only when something is wrong there: (parent, key or index), None at the root
_Loc = tuple[Any, str | int] | None


def _path(loc: _Loc) -> str:
    parts: list[str | int] = []
    while loc is not None:
        loc, part = loc
        parts.append(part)
    out = ""
    for part in reversed(parts):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{_printable(part)}" if out else _printable(part)
    return out


def _json_issues(data: Any) -> list[dict[str, Any]]:
    """What is wrong with decoded JSON (see `decode_json_body`), in document order; raises when too deep."""
    issues: list[dict[str, Any]] = []

    def issue(loc: _Loc, message: str) -> None:
        issues.append({"path": _path(loc), "message": message, "component": None})

    # walked without recursion, children pushed in reverse so they are visited in document order; the flag says
    # that the key under which the value sits is itself bad
    stack: list[tuple[Any, _Loc, int, bool]] = [(data, None, 0, False)]
    while stack:
        value, loc, depth, bad_key = stack.pop()
        if bad_key:
            issue(loc, "the key contains a lone UTF-16 surrogate, which is not a character")
        if isinstance(value, dict):
            if depth >= MAX_JSON_DEPTH:
                raise _too_deep()
            for key in getattr(value, "duplicates", ()):
                issue((loc, key), "this key appears more than once in its object")
            children = [(child, (loc, key), depth + 1, _has_surrogate(key)) for key, child in value.items()]
            stack.extend(reversed(children))
        elif isinstance(value, list):
            if depth >= MAX_JSON_DEPTH:
                raise _too_deep()
            stack.extend(reversed([(child, (loc, i), depth + 1, False) for i, child in enumerate(value)]))
        elif isinstance(value, _Unconvertible):
            issue(loc, f"an integer of {len(value.lstrip('-'))} digits is too long to read")
        elif isinstance(value, str):
            if _has_surrogate(value):
                issue(loc, "the string contains a lone UTF-16 surrogate, which is not a character")
        elif isinstance(value, float) and not math.isfinite(value):
            issue(loc, "NaN, Infinity and numbers beyond a double's range are not JSON numbers")
    return issues


def _name_components(data: Any, issues: list[dict[str, Any]]) -> None:
    """Attach the component's name to the issues inside `components[i]` (a job document's components)."""
    comps = data.get("components") if isinstance(data, dict) else None
    if not isinstance(comps, list):
        return
    for entry in issues:
        match = _COMPONENT_INDEX.match(entry["path"])
        if match is None or int(match.group(1)) >= len(comps):
            continue
        comp = comps[int(match.group(1))]
        name = comp.get("name") if isinstance(comp, dict) else None
        if isinstance(name, str) and not _has_surrogate(name):
            entry["component"] = name


_COMPONENT_INDEX = re.compile(r"^components\[(\d+)\]")


NUL = "\x00"


async def refuse_nul_characters() -> None:
    """Refuse a path parameter or query parameter holding the NUL character (U+0000), naming it.

    No id holds one (ids are generated), and PostgreSQL refuses to compare text with it (a 500 otherwise): a
    path parameter with it is 400 `MALFORMED_REQUEST`, a query parameter 422 `INVALID_QUERY`, as other bad
    query parameters are.
    """
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and NUL in value:
            raise ApiError(
                400,
                "MALFORMED_REQUEST",
                f"the path parameter {name} contains the NUL character (U+0000), which no id holds",
                {"where": "path", "parameter": name},
            )
    issues = [
        {"path": key.replace(NUL, "\\x00"), "message": "must not contain the NUL character (U+0000)", "component": None}
        for key, value in request.args.items(multi=True)
        if NUL in key or NUL in value
    ]
    if issues:
        summary = "; ".join(f"{i['path']}: {i['message']}" for i in issues)
        raise ApiError(422, "INVALID_QUERY", f"invalid request query: {summary}", {"issues": issues})


def parse_query(model: type[BaseModel]) -> Any:
    """The query string as `model`, or 422 listing every bad parameter."""
    args = {key: request.args.get(key) for key in request.args}
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise validation_error(exc, where="query") from None
