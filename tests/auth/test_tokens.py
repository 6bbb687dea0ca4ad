"""Access tokens: every claim is checked and no forged, expired, early or re-signed token gets through."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from etl_core.auth.tokens import InvalidToken, TokenService

KEY = "Signing-Key-For-Tests-9876543210#xyz"
NOW = 1_800_000_000.0


def service(clock: float = NOW, key: str = KEY, **kw: Any) -> TokenService:
    options: dict[str, Any] = {
        "issuer": "etl-core",
        "audience": "etl-core-client",
        "expires_in": 3600,
        "known_subjects": ("etl-core-client",),
    }
    options.update(kw)
    return TokenService(key, clock=lambda: clock, **options)


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "etl-core-client",
        "iss": "etl-core",
        "aud": "etl-core-client",
        "iat": int(NOW),
        "nbf": int(NOW),
        "exp": int(NOW) + 600,
        "jti": "abc",
        "scope": "jobs:read",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], key: str = KEY, alg: str = "HS256") -> str:
    return jwt.encode({"alg": alg}, payload, OctKey.import_key(key.encode()), algorithms=[alg])


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_issued_token_verifies_with_its_claims() -> None:
    svc = service()
    issued = svc.issue("etl-core-client", ["jobs:read", "executions:run"])
    principal = svc.verify(issued.access_token)
    assert principal.client_id == "etl-core-client"
    assert principal.scopes == {"jobs:read", "executions:run"}
    assert principal.expires_at == int(NOW) + 3600
    assert issued.expires_in == 3600
    assert issued.scope == "jobs:read executions:run"
    payload = json.loads(base64.urlsafe_b64decode(issued.access_token.split(".")[1] + "=="))
    assert set(payload) == {"sub", "iss", "aud", "iat", "nbf", "exp", "jti", "scope"}


def test_each_token_has_its_own_id() -> None:
    svc = service()
    a = svc.verify(svc.issue("etl-core-client", ["admin"]).access_token)
    b = svc.verify(svc.issue("etl-core-client", ["admin"]).access_token)
    assert a.token_id != b.token_id


def test_hand_made_token_with_right_claims_is_accepted() -> None:
    assert service().verify(signed(claims())).scopes == {"jobs:read"}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (claims(exp=int(NOW) - 60), "expired"),
        (claims(nbf=int(NOW) + 120), "not valid yet"),
        (claims(iss="someone-else"), "iss claim is wrong"),
        (claims(aud="another-api"), "aud claim is wrong"),
        (claims(sub="intruder"), "subject is not a known client"),
        (claims(iat=int(NOW) + 600), "issued in the future"),
        (claims(exp=None), r"lacks the claim\(s\) exp"),
        (claims(jti=None, scope=None), r"lacks the claim\(s\) jti, scope"),
    ],
)
def test_bad_claims_are_refused(payload: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason):
        service().verify(signed(payload))


def test_expiry_and_not_before_have_a_small_leeway() -> None:
    svc = service()
    svc.verify(signed(claims(exp=int(NOW) - 2)))
    svc.verify(signed(claims(nbf=int(NOW) + 2)))


def test_expired_issued_token_is_refused_later() -> None:
    token = service().issue("etl-core-client", ["admin"]).access_token
    with pytest.raises(InvalidToken, match="expired"):
        service(clock=NOW + 3600 + 60).verify(token)


def test_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(InvalidToken, match="signature"):
        service().verify(signed(claims(), key="Another-Key-For-Tests-0123456789$abc"))


def test_alg_none_is_refused() -> None:
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."
    with pytest.raises(InvalidToken, match="algorithm must be HS256"):
        service().verify(token)


def test_switching_algorithm_is_refused_even_with_the_right_key() -> None:
    with pytest.raises(InvalidToken, match="algorithm must be HS256"):
        service().verify(signed(claims(), alg="HS512"))


def test_tampered_payload_is_refused() -> None:
    header, _, signature = signed(claims()).split(".")
    forged = f"{header}.{b64(claims(scope='admin'))}.{signature}"
    with pytest.raises(InvalidToken, match="signature"):
        service().verify(forged)


def test_tampered_header_is_refused() -> None:
    _, payload, signature = signed(claims()).split(".")
    forged = f"{b64({'alg': 'HS256', 'kid': 'x'})}.{payload}.{signature}"
    with pytest.raises(InvalidToken, match="signature"):
        service().verify(forged)


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d.e", "!!.??.##", f"{b64({'alg': 'HS256'})}..sig"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        service().verify(token)


def test_real_clock_is_the_default() -> None:
    svc = TokenService(KEY, issuer="i", audience="a", expires_in=60, known_subjects=("c",))
    principal = svc.verify(svc.issue("c", ["admin"]).access_token)
    assert principal.expires_at >= int(time.time()) + 59
