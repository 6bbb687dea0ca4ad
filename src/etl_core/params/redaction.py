"""Keeping secrets out of messages: DSN passwords and known secret values are masked.

`redact(text, secrets)` is applied to every message a database component builds from a driver error, a DSN or
a resolved option, so that a password never reaches a log line, an error port record, a metric or an API answer.
DSN masking is structural (`scheme://user:***@host`, `password=***`) and works without knowing the secret; the
known values are masked wherever they appear, when they are long enough to be told apart from ordinary text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

# shorter secrets are masked only structurally: masking every "ab" in a message would make it unreadable
MIN_SECRET_LENGTH = 4

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@?#]*:)(?P<secret>[^\s@/?#]*)(?P<at>@)")
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|secret|token)\s*[=:]\s*)(?P<secret>'[^']*'|\"[^\"]*\"|[^\s&;,)]+)", re.I
)


def mask_dsn(text: str) -> str:
    """`text` with the password of every URL (`scheme://user:pw@host`) and `password=...` pair masked."""
    if not text:
        return text
    out = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['at']}", text)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", out)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with DSN passwords and every known secret value (at least 4 characters) masked."""
    if not text:
        return text
    out = mask_dsn(text)
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        out = out.replace(secret, MASK)
    return out


class Redactor:
    """A set of secret values and the masking of messages against them."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: frozenset[str] = frozenset(s for s in secrets if s)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secret(s))"

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        return Redactor(self._secrets | {s for s in secrets if s})

    def __call__(self, text: str) -> str:
        return redact(text, self._secrets)
