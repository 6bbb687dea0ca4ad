"""Parsing `${name}` / `${env:NAME}` references and walking option values."""

from __future__ import annotations

import pytest

from etl_core.params.references import (
    Reference,
    ReferenceSyntaxError,
    references_in,
    split_references,
    substitute,
    walk_strings,
)


def test_a_string_splits_into_text_and_references() -> None:
    parts = split_references("postgresql://etl:${db_password}@${env:DB_HOST}:5432/${ db }")
    assert parts == [
        "postgresql://etl:",
        Reference("param", "db_password"),
        "@",
        Reference("env", "DB_HOST"),
        ":5432/",
        Reference("param", "db"),
    ]


def test_substitute_replaces_every_reference() -> None:
    parts = split_references("${a}-${b}-${a}")
    assert substitute(parts, {Reference("param", "a"): "1", Reference("param", "b"): "2"}) == "1-2-1"


def test_a_doubled_dollar_keeps_a_literal_reference() -> None:
    assert split_references("cost: $${price} and ${x}") == ["cost: ${price} and ", Reference("param", "x")]
    assert split_references("plain $ and $name and {braces}") == ["plain $ and $name and {braces}"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc ${unclosed", "is never closed"),
        ("${}", "is not a valid reference"),
        ("${has space}", "is not a valid reference"),
        ("${env:}", "is not a valid reference"),
        ("${1st}", "is not a valid reference"),
    ],
)
def test_a_malformed_reference_is_an_error(text: str, message: str) -> None:
    with pytest.raises(ReferenceSyntaxError, match=message):
        split_references(text)


def test_names_may_hold_dots_and_dashes() -> None:
    assert references_in("${db.main-password} ${env:A_B}") == [
        Reference("param", "db.main-password"),
        Reference("env", "A_B"),
    ]
    assert str(Reference("env", "X")) == "${env:X}"
    assert str(Reference("param", "x")) == "${x}"


def test_walk_strings_reaches_nested_values_with_their_paths() -> None:
    seen: list[str] = []

    def upper(path: str, text: str) -> str:
        seen.append(path)
        return text.upper() if text.startswith("x") else text

    value = {"dsn": "xa", "params": {"since": "xb", "n": 3}, "keys": ["k", "xc"], "keep": "y"}
    out = walk_strings(value, upper)
    assert out == {"dsn": "XA", "params": {"since": "XB", "n": 3}, "keys": ["k", "XC"], "keep": "y"}
    assert seen == ["dsn", "params.since", "keys[0]", "keys[1]", "keep"]
    untouched = {"a": ["b"], "c": {"d": "e"}}
    assert walk_strings(untouched, lambda _p, t: t) is untouched
