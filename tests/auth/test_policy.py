"""The secret-strength policy names every unmet rule and never the secret."""

from __future__ import annotations

import pytest

from etl_core.auth.policy import check_auth_settings, unmet_rules
from etl_core.errors import SettingsError
from etl_core.settings import Settings

STRONG = "Strong-Secret-Value-0123456789-abcXYZ"


def test_a_strong_secret_meets_every_rule() -> None:
    assert unmet_rules(STRONG) == []


def test_an_empty_secret_is_reported_as_not_set() -> None:
    assert unmet_rules("") == ["is not set"]


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("Short-1a", "at least 32 characters (has 8)"),
        (STRONG.lower(), "upper-case letter"),
        (STRONG.upper(), "lower-case letter"),
        ("Strong-Secret-Value-abcdefghij-abcXYZ", "a digit"),
        ("StrongSecretValue0123456789abcXYZabc", "a symbol"),
        (" " + STRONG, "whitespace"),
        (STRONG + "\n", "whitespace"),
        ("Aa1!" * 8, "at least 8 distinct characters (has 4)"),
    ],
)
def test_each_rule_is_named_when_broken(value: str, rule: str) -> None:
    problems = unmet_rules(value)
    assert len(problems) == 1
    assert rule in problems[0]


def test_a_weak_secret_names_all_its_problems_at_once() -> None:
    problems = unmet_rules("aaaa")
    assert len(problems) == 5
    assert any("32 characters" in p for p in problems)
    assert any("upper-case" in p for p in problems)
    assert any("digit" in p for p in problems)
    assert any("symbol" in p for p in problems)
    assert any("distinct" in p for p in problems)


def test_start_up_check_names_both_settings_and_never_prints_them() -> None:
    secret = "weak-secret-Value"
    settings = Settings(_env_file=None, auth_client_secret=secret, auth_signing_key="")  # type: ignore[call-arg]
    with pytest.raises(SettingsError) as info:
        check_auth_settings(settings)
    message = str(info.value)
    assert "ETL_AUTH_CLIENT_SECRET needs at least 32 characters (has 17)" in message
    assert "needs a digit" in message
    assert "symbol" not in message
    assert "ETL_AUTH_SIGNING_KEY is not set" in message
    assert secret not in message


def test_start_up_check_passes_with_strong_values() -> None:
    settings = Settings(_env_file=None, auth_client_secret=STRONG, auth_signing_key=STRONG[::-1])  # type: ignore[call-arg]
    check_auth_settings(settings)
