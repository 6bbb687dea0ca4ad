"""Parsing DSNs; the password is never part of what is shown."""

from __future__ import annotations

import pytest

from etl_core.connectors.dsn import DsnError, asyncpg_dsn, parse_dsn


def test_a_postgresql_dsn_parses_with_decoded_parts() -> None:
    info = parse_dsn(
        "postgresql+asyncpg://etl%20user:p%40ss@db.example:6543/sales%2F2024?sslmode=require", "postgresql"
    )
    assert (info.host, info.port, info.user, info.password, info.database) == (
        "db.example",
        6543,
        "etl user",
        "p@ss",
        "sales/2024",
    )
    assert info.query == {"sslmode": "require"}
    assert info.describe() == "etl user@db.example:6543/sales/2024"
    assert info.masked() == "postgresql+asyncpg://etl%20user:***@db.example:6543/sales%2F2024?sslmode=require"
    assert "p@ss" not in repr(info)
    assert "p%40ss" not in repr(info)
    assert asyncpg_dsn(info).startswith("postgresql://etl%20user:p%40ss@")


def test_defaults_fill_in_port_and_host() -> None:
    info = parse_dsn("mariadb://root@/shop", "mysql")
    assert (info.host, info.port, info.user, info.password, info.database) == ("localhost", 3306, "root", None, "shop")
    assert parse_dsn("postgres://h", "postgresql").port == 5432


@pytest.mark.parametrize(
    ("dsn", "family", "message"),
    [
        ("", "postgresql", "the dsn is empty"),
        ("mysql://u:hunter2-secret@h/db", "postgresql", "has scheme 'mysql'; expected postgresql://, postgres://"),
        ("postgresql://u:hunter2-secret@h:port/db", "postgresql", "is not a valid URL"),
        ("postgresql://u:${pw}@h/db", "postgresql", "still contains a \\$\\{...\\} reference"),
    ],
)
def test_bad_dsns_are_refused_without_their_password(dsn: str, family: str, message: str) -> None:
    with pytest.raises(DsnError, match=message) as caught:
        parse_dsn(dsn, family)  # type: ignore[arg-type]
    assert "hunter2-secret" not in str(caught.value)


def test_mariadb_options_outside_the_supported_set_are_refused() -> None:
    from etl_core.connectors.mariadb import MariaBackend
    from etl_core.connectors.pools import SharedPools

    with pytest.raises(DsnError, match="unsupported option\\(s\\) sslmode"):
        MariaBackend("mysql://u:pw-secret-1@h/db?sslmode=x&charset=utf8mb4", pools=SharedPools())
