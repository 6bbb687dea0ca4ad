"""Masking passwords in DSNs and secret values in messages."""

from __future__ import annotations

from etl_core.params.redaction import Redactor, mask_dsn, redact


def test_url_passwords_are_masked_wherever_they_appear() -> None:
    text = "cannot reach postgresql://etl:p%40ss@db:5432/x or mysql+asyncmy://root:hunter22@h/db?x=1"
    assert mask_dsn(text) == "cannot reach postgresql://etl:***@db:5432/x or mysql+asyncmy://root:***@h/db?x=1"


def test_urls_without_password_stay_as_they_are() -> None:
    assert mask_dsn("postgresql://etl@db:5432/x and https://example.com/a:b") == (
        "postgresql://etl@db:5432/x and https://example.com/a:b"
    )


def test_keyword_style_passwords_are_masked() -> None:
    assert mask_dsn("host=db user=etl password=s3cr3t dbname=x") == "host=db user=etl password=*** dbname=x"
    assert mask_dsn("PWD='a b c'; token: abc123") == "PWD=***; token: ***"


def test_known_secrets_are_masked_longest_first_but_not_tiny_ones() -> None:
    message = "login as admin with Secret-Value-1 (Secret-Value) failed for ab"
    assert redact(message, ["Secret-Value", "Secret-Value-1", "ab"]) == "login as admin with *** (***) failed for ab"


def test_a_redactor_accumulates_secrets() -> None:
    r = Redactor(["first-secret"]).with_secrets(["second-secret", ""])
    assert r("first-secret then second-secret") == "*** then ***"
    assert repr(r) == "Redactor(2 secret(s))"
