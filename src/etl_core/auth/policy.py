"""The secret-strength policy for `ETL_AUTH_CLIENT_SECRET` and `ETL_AUTH_SIGNING_KEY`.

At least 32 characters, upper and lower case, a digit, a symbol, no surrounding whitespace, at least 8 distinct
characters. The server refuses to start naming every unmet rule of every setting, never the value itself.
"""

from __future__ import annotations

from etl_core.errors import SettingsError
from etl_core.settings import Settings

MIN_LENGTH = 32
MIN_DISTINCT = 8


def unmet_rules(value: str) -> list[str]:
    """The policy's rules `value` breaks, in words (empty when it is strong enough). Never echoes the value."""
    if not value:
        return ["is not set"]
    problems: list[str] = []
    if len(value) < MIN_LENGTH:
        problems.append(f"needs at least {MIN_LENGTH} characters (has {len(value)})")
    if not any(ch.isupper() for ch in value):
        problems.append("needs an upper-case letter")
    if not any(ch.islower() for ch in value):
        problems.append("needs a lower-case letter")
    if not any(ch.isdigit() for ch in value):
        problems.append("needs a digit")
    if not any(not ch.isalnum() and not ch.isspace() for ch in value):
        problems.append("needs a symbol (a character that is neither a letter, a digit nor a space)")
    if value != value.strip():
        problems.append("must not begin or end with whitespace")
    if len(set(value)) < MIN_DISTINCT:
        problems.append(f"needs at least {MIN_DISTINCT} distinct characters (has {len(set(value))})")
    return problems


def check_auth_settings(settings: Settings) -> None:
    """Raise SettingsError naming every unmet rule of the client secret and the signing key."""
    failures = []
    for name, value in (
        ("ETL_AUTH_CLIENT_SECRET", settings.auth_client_secret),
        ("ETL_AUTH_SIGNING_KEY", settings.auth_signing_key),
    ):
        problems = unmet_rules(value)
        if problems:
            failures.append(f"{name} " + "; ".join(problems))
    if failures:
        raise SettingsError("the server cannot start: " + ". ".join(failures) + ".")
