"""Issuing and verifying the server's access tokens: JWTs signed with HS256 (joserfc).

Verification is strict: a compact JWS with exactly three parts, header `alg` HS256 and nothing else (no `none`,
no switching to another algorithm or to an encrypted token), a valid signature, and the claims `iss`, `aud`,
`sub`, `iat`, `nbf`, `exp`, `jti` and `scope` all present and right (times with a small leeway).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import OctKey

ALGORITHM = "HS256"
LEEWAY_SECONDS = 5
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "scope")


class InvalidToken(Exception):
    """A bearer token that must be refused; the message says why (and never contains the token)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token speaks for and what it may do."""

    client_id: str
    scopes: frozenset[str]
    token_id: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


def _b64json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


class TokenService:
    """Issues and verifies tokens for one issuer and audience with one HS256 key."""

    def __init__(
        self,
        signing_key: str,
        *,
        issuer: str,
        audience: str,
        expires_in: int,
        known_subjects: Collection[str],
        clock: Callable[[], float] = time.time,
        leeway: int = LEEWAY_SECONDS,
    ) -> None:
        self._key = OctKey.import_key(signing_key.encode("utf-8"))
        self.issuer = issuer
        self.audience = audience
        self.expires_in = expires_in
        self.known_subjects = frozenset(known_subjects)
        self._clock = clock
        self.leeway = leeway

    def issue(self, client_id: str, scopes: Collection[str]) -> IssuedToken:
        now = int(self._clock())
        scope = " ".join(scopes)
        claims = {
            "sub": client_id,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.expires_in,
            "jti": uuid.uuid4().hex,
            "scope": scope,
        }
        token = jwt.encode({"alg": ALGORITHM, "typ": "JWT"}, claims, self._key, algorithms=[ALGORITHM])
        return IssuedToken(token, self.expires_in, scope)

    def verify(self, token: str) -> Principal:
        """The token's principal, or InvalidToken saying what is wrong."""
        parts = token.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            raise InvalidToken("the token is not a signed JWT")
        try:
            header = _b64json(parts[0])
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidToken("the token header cannot be read") from exc
        if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
            alg = header.get("alg") if isinstance(header, dict) else None
            raise InvalidToken(f"the token algorithm must be {ALGORITHM} (got {alg!r})")
        if "crit" in header or "enc" in header:
            raise InvalidToken("the token header has unsupported parameters")
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
        except BadSignatureError:
            raise InvalidToken("the token signature is invalid") from None
        except (JoseError, ValueError) as exc:
            raise InvalidToken(f"the token cannot be decoded ({type(exc).__name__})") from None
        claims = decoded.claims
        missing = [c for c in REQUIRED_CLAIMS if claims.get(c) is None]
        if missing:
            raise InvalidToken(f"the token lacks the claim(s) {', '.join(missing)}")
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            sub={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidToken("the token has expired") from None
        except ClaimError as exc:
            raise InvalidToken(_claim_problem(exc)) from None
        subject = claims["sub"]
        if subject not in self.known_subjects:
            raise InvalidToken("the token's subject is not a known client")
        scope = claims["scope"]
        if not isinstance(scope, str):
            raise InvalidToken("the token's scope claim must be a string")
        return Principal(subject, frozenset(scope.split()), str(claims["jti"]), int(claims["exp"]))


def _claim_problem(exc: ClaimError) -> str:
    name = exc.claim
    if name == "nbf":
        return "the token is not valid yet"
    if name == "iat":
        return "the token was issued in the future"
    if name in ("iss", "aud", "sub", "jti"):
        return f"the token's {name} claim is wrong"
    return f"the token's claims are invalid ({exc.description})"
