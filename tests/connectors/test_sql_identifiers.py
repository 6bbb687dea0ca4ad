"""Entity names are names: parsed into schema.table and always quoted."""

from __future__ import annotations

import pytest

from etl_core.connectors.identifiers import IdentifierError, TableName, parse_table_name, quote_backtick, quote_double
from etl_core.connectors.mariadb import MariaDialect
from etl_core.connectors.postgres import PgDialect
from etl_core.connectors.sqlite import SqliteDialect


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("orders", TableName("orders")),
        ("public.orders", TableName("orders", "public")),
        (" public . Orders ", TableName("Orders", "public")),
        ('"odd.schema"."my ""quoted"" table"', TableName('my "quoted" table', "odd.schema")),
        ('sales."2024.q1"', TableName("2024.q1", "sales")),
        ("x; DROP TABLE y", TableName("x; DROP TABLE y")),
    ],
)
def test_entity_names_parse_into_schema_and_table(text: str, expected: TableName) -> None:
    assert parse_table_name(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("a.b.c", "has 3 parts"),
        ("a..b", "has an empty part"),
        ('"unclosed', "unclosed double quote"),
        ("bad\x00name", "NUL character"),
    ],
)
def test_unusable_entity_names_are_refused(text: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message):
        parse_table_name(text)


def test_quoting_doubles_the_quote_character() -> None:
    assert quote_double('a"b') == '"a""b"'
    assert quote_backtick("a`b") == "`a``b`"
    assert PgDialect().table(TableName('t"; drop', "s")) == '"s"."t""; drop"'
    assert SqliteDialect().table(TableName("t")) == '"t"'
    assert MariaDialect().table(TableName("50%", "db`x")) == "`db``x`.`50%%`"


def test_identifiers_longer_than_the_database_allows_are_refused_not_truncated() -> None:
    with pytest.raises(IdentifierError, match="longer than 63 bytes"):
        PgDialect().table(TableName("ä" * 32))
    assert PgDialect().table(TableName("a" * 63)) == '"' + "a" * 63 + '"'
    with pytest.raises(IdentifierError, match="longer than 64 bytes"):
        MariaDialect().quote(MariaDialect().check("x" * 65))


def test_create_table_maps_schema_types_per_dialect() -> None:
    from etl_core.config.schema import FieldDef

    cols = [
        ("id", FieldDef(name="id", data_type="integer")),
        ("name", FieldDef(name="name", data_type="string")),
        ("doc", FieldDef(name="doc", data_type="object")),
        ("ok", FieldDef(name="ok", data_type="boolean")),
        ("kind", FieldDef(name="kind", data_type="enum", enum_values=["a", "b"])),
    ]
    t = TableName("t", "s")
    assert PgDialect().create_table(t, cols, ["id", "name"]) == (
        'CREATE TABLE IF NOT EXISTS "s"."t" ("id" bigint NOT NULL, "name" text NOT NULL, "doc" jsonb, '
        '"ok" boolean, "kind" text, PRIMARY KEY ("id", "name"))'
    )
    assert MariaDialect().create_table(t, cols, ["name"]) == (
        "CREATE TABLE IF NOT EXISTS `s`.`t` (`id` BIGINT, `name` VARCHAR(255) NOT NULL, `doc` JSON, "
        "`ok` BOOLEAN, `kind` VARCHAR(255), PRIMARY KEY (`name`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
        "COLLATE=utf8mb4_bin"
    )
    assert SqliteDialect().create_table(TableName("t"), cols, []) == (
        'CREATE TABLE IF NOT EXISTS "t" ("id" INTEGER, "name" TEXT, "doc" TEXT, "ok" BOOLEAN, "kind" TEXT)'
    )


def test_helper_table_names_stay_within_every_databases_limit() -> None:
    from etl_core.connectors.identifiers import derived_name

    name = derived_name("ä" * 40, "new")
    assert name.startswith("ä" * 15 + "_etl_new_")
    assert len(name.encode("utf-8")) <= 63
    assert derived_name("orders", "old") != derived_name("orders", "old")
