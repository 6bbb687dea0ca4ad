"""Connection strings: parsing URL DSNs for PostgreSQL and MariaDB/MySQL, and showing them without secrets.

    postgresql://user:pw@host:5432/db?sslmode=require     (also postgres://, postgresql+asyncpg://)
    mysql://user:pw@host:3306/db?charset=utf8mb4           (also mariadb://, mysql+asyncmy://, ...)

User, password and database are percent-decoded. Every message that shows a DSN shows `masked()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from etl_core.params.redaction import mask_dsn

Family = Literal["postgresql", "mysql"]

_SCHEMES: dict[Family, tuple[str, ...]] = {
    "postgresql": ("postgresql", "postgres"),
    "mysql": ("mysql", "mariadb"),
}
_DEFAULT_PORTS: dict[Family, int] = {"postgresql": 5432, "mysql": 3306}


class DsnError(ValueError):
    """A DSN that cannot be used; the message never contains its password."""


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A parsed DSN. `password` is excluded from repr; `masked()` is the DSN safe to show."""

    family: Family
    dsn: str = field(repr=False)
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    database: str | None
    query: dict[str, str] = field(default_factory=dict)

    def masked(self) -> str:
        return mask_dsn(self.dsn)

    def describe(self) -> str:
        """`user@host:port/database`, for messages."""
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.host}:{self.port}/{self.database or ''}"


def parse_dsn(dsn: str, family: Family) -> ConnectionInfo:
    """Parse a URL DSN of `family`; raises DsnError (masked) for an unresolved reference or a bad DSN."""
    text = (dsn or "").strip()
    if not text:
        raise DsnError("the dsn is empty")
    if "${" in text:
        raise DsnError(
            f"dsn {mask_dsn(text)!r} still contains a ${{...}} reference: references are resolved when a job runs "
            "through the server or `etl run` with a context"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise DsnError(f"dsn {mask_dsn(text)!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.split("+", 1)[0].lower()
    if scheme not in _SCHEMES[family]:
        expected = ", ".join(f"{s}://" for s in _SCHEMES[family])
        raise DsnError(f"dsn {mask_dsn(text)!r} has scheme {parts.scheme!r}; expected {expected}")
    database = unquote(parts.path.lstrip("/")) or None
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return ConnectionInfo(
        family=family,
        dsn=text,
        host=parts.hostname or "localhost",
        port=port or _DEFAULT_PORTS[family],
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        database=database,
        query=query,
    )


def asyncpg_dsn(info: ConnectionInfo) -> str:
    """The DSN as asyncpg wants it: `postgresql://` without a `+driver` suffix."""
    scheme, rest = info.dsn.split("://", 1)
    return "postgresql://" + rest if "+" in scheme or scheme.lower() == "postgres" else info.dsn
