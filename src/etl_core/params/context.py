"""Where `${name}` values and database credentials come from: the `ContextSource` protocol.

The server implements it over its store (contexts, credentials and credentials mappings, api.md); tests and the
CLI use `MemoryContextSource`. Shapes follow the API:

    context      {name, environment, parameters: {key: {key, value, type, is_secure}}}
    credentials  {name, user, host, port, database, password}
    mapping      {name, environment, credentials_ids: {"DEV": credentials id, "TEST": ..., "PROD": ...}}

Secure parameter values and passwords are read from the secret store by the source, never from the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from etl_core.params.secrets import MemorySecretStore, SecretStore, parameter_secret_name, password_secret_name

ENVIRONMENTS = ("DEV", "TEST", "PROD")


class ContextLookupError(LookupError):
    """A context exists but cannot serve this request (wrong environment, no credentials for it, a missing secret).

    The message is shown to the user as a config issue: it names ids and environments, never values.
    """


@dataclass(frozen=True, slots=True)
class ContextParameter:
    """One parameter of a context. `value` of a secure parameter comes from the secret store."""

    key: str
    value: Any
    type: str = "string"
    is_secure: bool = False

    def __repr__(self) -> str:
        shown = "***" if self.is_secure else repr(self.value)
        return f"ContextParameter(key={self.key!r}, value={shown}, type={self.type!r}, is_secure={self.is_secure})"

    def text(self) -> str:
        """The value as it is substituted into a string option."""
        value = self.value
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


@dataclass(frozen=True, slots=True)
class Credentials:
    """Database credentials for one environment; `password` comes from the secret store."""

    user: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    password: str | None = field(default=None, repr=False)

    def dsn(self, scheme: str) -> str:
        """A URL DSN for `scheme` (`postgresql`, `mysql`); user, password and database are percent-encoded."""
        auth = ""
        if self.user:
            auth = quote(self.user, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        host = self.host or "localhost"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        port = f":{self.port}" if self.port else ""
        database = "/" + quote(self.database, safe="") if self.database else ""
        return f"{scheme}://{auth}{host}{port}{database}"


@runtime_checkable
class ContextSource(Protocol):
    """Contexts and credentials for one execution environment (`DEV`, `TEST`, `PROD`).

    - `parameters(context_id, environment)`: the parameters of a parameter context, secure values already
      read from the secret store; None when `context_id` is not a parameter context. Raises ContextLookupError
      when the context exists but is not usable for `environment` (it belongs to another environment).
    - `credentials(context_id, environment)`: the credentials that the credentials mapping `context_id` names
      for `environment`, password read from the secret store; None when `context_id` is not a mapping. Raises
      ContextLookupError when the mapping has no credentials for `environment` or they no longer exist.

    Any other exception means the source itself failed (store unreachable) and fails the execution.
    """

    async def parameters(self, context_id: str, environment: str) -> Mapping[str, ContextParameter] | None: ...

    async def credentials(self, context_id: str, environment: str) -> Credentials | None: ...


@dataclass(slots=True)
class _Context:
    name: str
    environment: str
    parameters: dict[str, ContextParameter]


@dataclass(slots=True)
class _Mapping:
    name: str
    environment: str
    credentials_ids: dict[str, str]


@dataclass(slots=True)
class _Stored:
    name: str
    user: str | None
    host: str | None
    port: int | None
    database: str | None


class MemoryContextSource:
    """An in-memory `ContextSource` holding API-shaped contexts; secure values go to `secrets`.

    It is the reference implementation of the protocol: the server's store-backed source behaves the same way.
    """

    def __init__(self, secrets: SecretStore | None = None) -> None:
        self.secrets: SecretStore = secrets if secrets is not None else MemorySecretStore()
        self._contexts: dict[str, _Context] = {}
        self._mappings: dict[str, _Mapping] = {}
        self._credentials: dict[str, _Stored] = {}

    async def add_context(
        self, context_id: str, *, name: str, environment: str, parameters: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """Store a parameter context (API shape); secure values go to the secret store, not into memory here."""
        params: dict[str, ContextParameter] = {}
        for key, spec in parameters.items():
            secure = bool(spec.get("is_secure", False))
            value = spec.get("value")
            if secure:
                await self.secrets.set(parameter_secret_name(context_id, key), "" if value is None else str(value))
                value = None
            params[key] = ContextParameter(str(spec.get("key", key)), value, str(spec.get("type", "string")), secure)
        self._contexts[context_id] = _Context(name, _environment(environment), params)

    async def add_credentials(
        self,
        credentials_id: str,
        *,
        name: str,
        user: str | None = None,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        password: str | None = None,
    ) -> None:
        """Store credentials (API shape); the password goes to the secret store."""
        if password is not None:
            await self.secrets.set(password_secret_name(credentials_id), password)
        self._credentials[credentials_id] = _Stored(name, user, host, port, database)

    async def add_mapping(
        self, context_id: str, *, name: str, environment: str, credentials_ids: Mapping[str, str]
    ) -> None:
        """Store a credentials mapping context: environment -> credentials id."""
        ids = {_environment(env): cid for env, cid in credentials_ids.items()}
        self._mappings[context_id] = _Mapping(name, _environment(environment), ids)

    async def parameters(self, context_id: str, environment: str) -> Mapping[str, ContextParameter] | None:
        ctx = self._contexts.get(context_id)
        if ctx is None:
            return None
        return await context_parameters(
            self.secrets, context_id, ctx.name, ctx.environment, ctx.parameters, environment
        )

    async def credentials(self, context_id: str, environment: str) -> Credentials | None:
        mapping = self._mappings.get(context_id)
        if mapping is None:
            return None
        credentials_id = mapped_credentials_id(context_id, mapping.name, mapping.credentials_ids, environment)
        stored = self._credentials.get(credentials_id)
        return await credentials_with_password(self.secrets, context_id, credentials_id, stored, environment)


async def context_parameters(
    secrets: SecretStore,
    context_id: str,
    name: str,
    context_environment: str,
    parameters: Mapping[str, ContextParameter],
    environment: str,
) -> dict[str, ContextParameter]:
    """A context's parameters for `environment`, secure values taken from the secret store.

    Shared by every ContextSource: a context of another environment and a secure parameter without a stored
    value are ContextLookupErrors naming ids, never values."""
    if context_environment != environment:
        raise ContextLookupError(
            f"context {context_id!r} ({name}) belongs to environment {context_environment}, not to {environment}"
        )
    out: dict[str, ContextParameter] = {}
    for key, param in parameters.items():
        if param.is_secure:
            secret = await secrets.get(parameter_secret_name(context_id, key))
            if secret is None:
                raise ContextLookupError(
                    f"secure parameter {key!r} of context {context_id!r} has no value in the secret store"
                )
            param = ContextParameter(param.key, secret, param.type, True)
        out[key] = param
    return out


def mapped_credentials_id(context_id: str, name: str, credentials_ids: Mapping[str, str], environment: str) -> str:
    """The credentials id a mapping names for `environment` (ContextLookupError when it names none)."""
    credentials_id = credentials_ids.get(environment)
    if credentials_id is None:
        known = ", ".join(sorted(credentials_ids)) or "none"
        raise ContextLookupError(
            f"credentials mapping {context_id!r} ({name}) has no credentials for {environment} (it has: {known})"
        )
    return credentials_id


class _StoredCredentials(Protocol):
    """What a store keeps of credentials (everything but the password)."""

    @property
    def user(self) -> str | None: ...
    @property
    def host(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def database(self) -> str | None: ...


async def credentials_with_password(
    secrets: SecretStore, context_id: str, credentials_id: str, stored: _StoredCredentials | None, environment: str
) -> Credentials:
    """Stored credentials joined with their password from the secret store."""
    if stored is None:
        raise ContextLookupError(
            f"credentials mapping {context_id!r} names credentials {credentials_id!r} for {environment}, "
            "which do not exist"
        )
    password = await secrets.get(password_secret_name(credentials_id))
    return Credentials(stored.user, stored.host, stored.port, stored.database, password)


def _environment(value: str) -> str:
    env = value.strip().upper()
    if env not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}, got {value!r}")
    return env
