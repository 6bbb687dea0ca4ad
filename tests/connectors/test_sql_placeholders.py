"""`:name` placeholders become each driver's parameters; text, comments and casts are left alone."""

from __future__ import annotations

import pytest

from etl_core.connectors.placeholders import QueryError, bind, check_read_query, translate


def test_numeric_style_numbers_each_name_once() -> None:
    sql, names = translate("SELECT * FROM t WHERE a = :a AND b::text > :b OR a = :a", "numeric")
    assert sql == "SELECT * FROM t WHERE a = $1 AND b::text > $2 OR a = $1"
    assert names == ["a", "b"]


def test_format_style_repeats_arguments_and_doubles_literal_percents() -> None:
    sql, names = translate("SELECT '100%' AS p, `a%s` FROM t WHERE x LIKE :pat AND y = :pat", "format")
    assert sql == "SELECT '100%%' AS p, `a%%s` FROM t WHERE x LIKE %s AND y = %s"
    assert names == ["pat", "pat"]


def test_qmark_style_uses_question_marks() -> None:
    assert translate("SELECT :x, :y, :x", "qmark") == ("SELECT ?, ?, ?", ["x", "y", "x"])


@pytest.mark.parametrize("style", ["numeric", "format", "qmark"])
def test_placeholders_in_literals_identifiers_and_comments_are_text(style: str) -> None:
    query = "SELECT ':a', \"b:c\", `:d` -- :e\n/* :f */ FROM t WHERE t.x = :real"
    sql, names = translate(query, style)  # type: ignore[arg-type]
    assert names == ["real"]
    assert ":a" in sql
    assert "b:c" in sql
    assert ":e" in sql
    assert ":f" in sql


def test_postgresql_dollar_quotes_and_escape_strings_are_text() -> None:
    sql, names = translate("SELECT $$ :a $$, $fn$ :b $fn$, E'it\\'s :c', :d", "numeric")
    assert names == ["d"]
    assert sql.endswith(", $1")


def test_mariadb_backslash_escapes_do_not_end_a_string() -> None:
    _sql, names = translate("SELECT 'it\\'s :not', :yes", "format")
    assert names == ["yes"]


def test_the_drivers_own_placeholders_are_refused() -> None:
    with pytest.raises(QueryError, match="driver's own placeholder '\\$1'"):
        translate("SELECT * FROM t WHERE a = $1", "numeric")
    with pytest.raises(QueryError, match="driver's own placeholder '\\?'"):
        translate("SELECT * FROM t WHERE a = ?", "qmark")


def test_more_than_one_statement_is_refused_but_a_trailing_semicolon_is_fine() -> None:
    assert translate("SELECT 1; -- done", "qmark") == ("SELECT 1; -- done", [])
    assert translate("SELECT ';' ;", "qmark")[1] == []
    with pytest.raises(QueryError, match="more than one statement"):
        translate("SELECT 1; DELETE FROM t", "numeric")


def test_a_read_query_must_start_like_a_read() -> None:
    for ok in (
        "select 1",
        " (SELECT 1)",
        "-- c\nWITH x AS (SELECT 1) SELECT * FROM x",
        "/* x */ VALUES (1)",
        "SHOW TABLES",
    ):
        check_read_query(ok)
    for bad in ("DELETE FROM t", "drop table t", "/* */ INSERT INTO t VALUES (1)", "CALL p()", ""):
        with pytest.raises(QueryError, match="a read query must be one SELECT"):
            check_read_query(bad)


def test_bind_needs_every_placeholder_and_ignores_spare_params() -> None:
    assert bind(["a", "b", "a"], {"a": 1, "b": 2}) == [1, 2, 1]
    with pytest.raises(QueryError, match="uses :b but params has no value for it"):
        bind(["a", "b"], {"a": 1})
    assert bind(["a"], {"a": 1, "c": 3}) == [1]
    assert bind([], {"c": 3}) == []
