"""Client authentication for the token endpoint: the configured client, constant-time checks, slow-down."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from etl_core.auth.policy import check_auth_settings
from etl_core.auth.scopes import client_scopes, split_scopes, unknown_scopes
from etl_core.auth.throttle import FailureThrottle
from etl_core.auth.tokens import IssuedToken, Principal, TokenService
from etl_core.settings import Settings


class ClientAuthError(Exception):
    """A token request refused; `error` is the RFC 6749 error code, `status` the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(description)


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    secret: str
    scopes: tuple[str, ...]


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class AuthService:
    """Authenticates clients and hands out tokens; verifies bearer tokens for every other route."""

    def __init__(self, client: Client, tokens: TokenService, throttle: FailureThrottle | None = None) -> None:
        self.client = client
        self.tokens = tokens
        self.throttle = throttle or FailureThrottle()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, throttle: FailureThrottle | None = None, clock: Callable[[], float] | None = None
    ) -> AuthService:
        """Check the secret policy (raising SettingsError naming every unmet rule) and build the service."""
        check_auth_settings(settings)
        scopes = client_scopes(settings.auth_client_scopes)
        client = Client(settings.auth_client_id, settings.auth_client_secret, scopes)
        tokens = TokenService(
            settings.auth_signing_key,
            issuer=settings.auth_token_issuer,
            audience=settings.token_audience,
            expires_in=settings.auth_token_expires_in,
            known_subjects=(client.client_id,),
            clock=clock or time.time,
        )
        return cls(client, tokens, throttle)

    async def issue_token(self, client_id: str, client_secret: str, scope: str | None, *, caller: str) -> IssuedToken:
        """Authenticate the client and issue a token for the requested scopes (all it may have when none)."""
        keys = (f"client:{client_id}", f"caller:{caller}")
        wait = self.throttle.delay(*keys)
        if wait > 0:
            await anyio.sleep(wait)
        # both comparisons always run, so the answer takes as long for a wrong id as for a wrong secret
        id_ok = _same(client_id, self.client.client_id)
        secret_ok = _same(client_secret, self.client.secret)
        if not (id_ok and secret_ok):
            self.throttle.failed(*keys)
            raise ClientAuthError("invalid_client", "client authentication failed", 401)
        self.throttle.succeeded(*keys)
        requested = split_scopes(scope)
        if not requested:
            return self.tokens.issue(self.client.client_id, self.client.scopes)
        bad = unknown_scopes(requested)
        if bad:
            raise ClientAuthError("invalid_scope", f"unknown scope(s): {' '.join(bad)}")
        refused = [s for s in requested if s not in self.client.scopes]
        if refused:
            raise ClientAuthError("invalid_scope", f"scope(s) not granted to this client: {' '.join(refused)}")
        return self.tokens.issue(self.client.client_id, requested)

    def verify(self, token: str) -> Principal:
        return self.tokens.verify(token)
