"""Contexts (named parameters per environment), database credentials and environment -> credentials mappings.

Secure parameter values and passwords go to the secret store only: the database never holds them and no answer
returns them. Storing a mapping and deleting credentials take turns, so a mapping never names credentials deleted
in between (PostgreSQL's foreign key would refuse it as a 500); of two requests deleting the same entry, the one
that finds it gone answers 404.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from quart import Blueprint, Response
from quart_schema import document_request, document_response, tag

from etl_core.api.errors import parse_body
from etl_core.api.models import (
    CreateContext,
    CreateCredentials,
    CreateMapping,
    ErrorBody,
    ProviderCreated,
    ProviderItem,
)
from etl_core.api.security import requires
from etl_core.api.state import state
from etl_core.api.views import context_view, credentials_view, iso
from etl_core.auth.scopes import CONTEXTS_WRITE, JOBS_READ
from etl_core.errors import ConflictError, NotFoundError
from etl_core.params.context import ContextParameter
from etl_core.params.secrets import parameter_secret_name, password_secret_name
from etl_core.store.models import ContextRecord, CredentialsRecord

bp = Blueprint("contexts", __name__, url_prefix="/contexts")


@bp.post("/context")
@requires(CONTEXTS_WRITE)
@document_request(CreateContext)
@document_response(ProviderCreated, 201)
@tag(["contexts"])
async def create_context() -> tuple[dict[str, Any], int]:
    """Store a context; its secure parameters go to the secret store."""
    body: CreateContext = await parse_body(CreateContext)
    ctx = body.context
    s = state()
    context_id = uuid.uuid4().hex
    params: dict[str, ContextParameter] = {}
    for name, p in ctx.parameters.items():
        key = (p.key or name).strip() or name
        params[name] = ContextParameter(key=key, value=p.value, type=p.type, is_secure=p.is_secure)
    secure = {name: p.value for name, p in ctx.parameters.items() if p.is_secure and p.value is not None}
    for name, value in secure.items():
        await s.secrets.set(parameter_secret_name(context_id, name), str(value))
    try:
        await s.store.create_context(
            ContextRecord(context_id, ctx.name, ctx.environment, "context", params, created_at=time.time())
        )
    except BaseException:
        for name in secure:
            await s.secrets.delete(parameter_secret_name(context_id, name))
        raise
    return {
        "id": context_id,
        "kind": "context",
        "name": ctx.name,
        "environment": ctx.environment,
        "parameters_registered": len(params),
    }, 201


@bp.post("/credentials")
@requires(CONTEXTS_WRITE)
@document_request(CreateCredentials)
@document_response(ProviderCreated, 201)
@tag(["contexts"])
async def create_credentials() -> tuple[dict[str, Any], int]:
    """Store database credentials; the password goes to the secret store and is never returned."""
    body: CreateCredentials = await parse_body(CreateCredentials)
    c = body.credentials
    s = state()
    credentials_id = uuid.uuid4().hex
    if c.password is not None:
        await s.secrets.set(password_secret_name(credentials_id), c.password)
    try:
        await s.store.create_credentials(
            CredentialsRecord(credentials_id, c.name, c.user, c.host, c.port, c.database, time.time())
        )
    except BaseException:
        await s.secrets.delete(password_secret_name(credentials_id))
        raise
    return {
        "id": credentials_id,
        "kind": "credentials",
        "name": c.name,
        "environment": None,
        "parameters_registered": 1 if c.password is not None else 0,
    }, 201


@bp.post("/credentials-mapping-context")
@requires(CONTEXTS_WRITE)
@document_request(CreateMapping)
@document_response(ProviderCreated, 201)
@document_response(ErrorBody, 404)
@tag(["contexts"])
async def create_mapping() -> tuple[dict[str, Any], int]:
    """Store a context mapping environments to credentials (every credentials id must exist)."""
    body: CreateMapping = await parse_body(CreateMapping)
    m = body.context
    s = state()
    context_id = uuid.uuid4().hex
    mapping = {str(env): cid for env, cid in m.credentials_ids.items()}
    async with s.credentials_lock:
        missing = sorted({cid for cid in m.credentials_ids.values() if await s.store.get_credentials(cid) is None})
        if missing:
            raise NotFoundError(
                "CREDENTIALS_NOT_FOUND", f"unknown credentials id(s): {', '.join(missing)}", credentials_ids=missing
            )
        record = ContextRecord(
            context_id, m.name, m.environment, "credentials_mapping", credentials_ids=mapping, created_at=time.time()
        )
        await s.store.create_context(record)
    return {
        "id": context_id,
        "kind": "context",
        "name": m.name,
        "environment": m.environment,
        "parameters_registered": len(mapping),
        "credentials_ids": mapping,
    }, 201


@bp.get("/")
@requires(JOBS_READ)
@document_response(list[ProviderItem], 200)
@tag(["contexts"])
async def list_providers() -> list[dict[str, Any]]:
    """Every context and every credentials entry (no secrets)."""
    s = state()
    items: list[dict[str, Any]] = [
        {"id": c.id, "kind": "context", "name": c.name, "environment": c.environment, "created_at": iso(c.created_at)}
        for c in await s.store.list_contexts()
    ]
    items += [
        {"id": c.id, "kind": "credentials", "name": c.name, "environment": None, "created_at": iso(c.created_at)}
        for c in await s.store.list_credentials()
    ]
    return items


@bp.get("/<provider_id>")
@requires(JOBS_READ)
@tag(["contexts"])
async def get_provider(provider_id: str) -> dict[str, Any]:
    """One context or credentials entry; secure values and passwords are never included."""
    s = state()
    ctx = await s.store.get_context(provider_id)
    if ctx is not None:
        return context_view(ctx)
    creds = await s.store.get_credentials(provider_id)
    if creds is not None:
        view = credentials_view(creds)
        view["has_password"] = await s.secrets.get(creds.password_key) is not None
        return view
    raise _provider_not_found(provider_id)


@bp.delete("/<provider_id>")
@requires(CONTEXTS_WRITE)
@document_response(ErrorBody, 409)
@tag(["contexts"])
async def delete_provider(provider_id: str) -> Response:
    """Delete a context or credentials entry and its secrets (409 for credentials a mapping still uses)."""
    s = state()
    ctx = await s.store.get_context(provider_id)
    if ctx is not None:
        if not await s.store.delete_context(provider_id):
            raise _provider_not_found(provider_id)  # deleted by another request meanwhile
        for name, p in ctx.parameters.items():
            if p.is_secure:
                await s.secrets.delete(parameter_secret_name(provider_id, name))
        return Response(status=204)
    async with s.credentials_lock:
        creds = await s.store.get_credentials(provider_id)
        if creds is None:
            raise _provider_not_found(provider_id)
        users = await s.store.credentials_in_use(provider_id)
        if users:
            raise ConflictError(
                "CREDENTIALS_IN_USE",
                f"credentials {provider_id!r} are used by {len(users)} mapping context(s); delete those first",
                id=provider_id,
                context_ids=users,
            )
        if not await s.store.delete_credentials(provider_id):
            raise _provider_not_found(provider_id)
    await s.secrets.delete(creds.password_key)
    return Response(status=204)


def _provider_not_found(provider_id: str) -> NotFoundError:
    return NotFoundError("CONTEXT_NOT_FOUND", f"no context or credentials with id {provider_id!r}", id=provider_id)
