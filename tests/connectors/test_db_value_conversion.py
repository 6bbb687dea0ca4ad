"""Driver values to schema types and back, a column at a time."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from etl_core.config.schema import FieldDef
from etl_core.connectors.values import (
    TEXT_WRITE,
    convert_column,
    encode_rows,
    natural,
    pg_write_encoding,
    read_encoding,
)


def test_driver_values_become_plain_values() -> None:
    key = uuid.uuid4()
    assert natural(Decimal("12")) == 12
    assert type(natural(Decimal("12"))) is int
    assert natural(Decimal("1.50")) == 1.5
    assert natural(Decimal("5E+2")) == 500
    assert natural(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05"
    assert natural(dt.date(2024, 1, 2)) == "2024-01-02"
    assert natural(key) == str(key)
    assert natural(b"\x01\xff") == "01ff"
    assert natural((Decimal("1"), [dt.time(1, 2)])) == [1, ["01:02:00"]]


def test_reading_converts_to_the_declared_type_and_reports_what_cannot() -> None:
    enc = read_encoding(FieldDef(name="n", data_type="integer"), None)
    assert enc is not None
    assert convert_column([1, Decimal("2"), "3", None, "x"], enc, "n") == (
        [1, 2, 3, None, None],
        {4: "column 'n': 'x' is not an integer"},
    )
    booleans = read_encoding(FieldDef(name="b", data_type="boolean"), None)
    assert booleans is not None
    assert convert_column([1, 0, None, True], booleans, "b")[0] == [True, False, None, True]
    objects = read_encoding(FieldDef(name="o", data_type="object"), None)
    assert objects is not None
    assert convert_column(['{"a": 1}', {"b": 2}], objects, "o")[0] == [{"a": 1}, {"b": 2}]
    enum = read_encoding(FieldDef(name="e", data_type="enum", enum_values=["a"]), None)
    assert enum is not None
    assert convert_column(["a", "z"], enum, "e")[1] == {1: "column 'e': 'z' is not one of a"}


def test_a_column_already_of_its_type_is_passed_as_it_is() -> None:
    enc = read_encoding(FieldDef(name="s", data_type="string"), None)
    assert enc is not None
    values = ["a", None, "b"]
    assert convert_column(values, enc, "s")[0] is values


def test_json_columns_parse_without_a_schema() -> None:
    enc = read_encoding(None, "jsonb")
    assert enc is not None
    assert convert_column(['{"a": [1]}', None], enc, "doc")[0] == [{"a": [1]}, None]


def test_postgresql_coercion_follows_the_column_type() -> None:
    cases: dict[str, tuple[list[Any], list[Any]]] = {
        "int8": (["7", 7.0, True], [7, 7, 1]),
        "float8": (["1.5", 2], [1.5, 2]),
        "numeric": (["19.99", 3], [Decimal("19.99"), 3]),
        "bool": (["yes", "f"], [True, False]),
        "text": ([{"a": 1}, 5, False], ['{"a": 1}', "5", "false"]),
        "jsonb": ([{"a": "ü"}, [1], "{}"], ['{"a": "ü"}', "[1]", "{}"]),
        "date": (["2024-02-29", dt.datetime(2024, 1, 1, 5)], [dt.date(2024, 2, 29), dt.date(2024, 1, 1)]),
        "timestamptz": (["2024-02-29T10:00:00+00:00"], [dt.datetime(2024, 2, 29, 10, tzinfo=dt.UTC)]),
        "_int8": (["[1, 2]", (3,)], [[1, 2], [3]]),
    }
    for db_type, (values, expected) in cases.items():
        enc = pg_write_encoding(db_type)
        assert enc is not None, db_type
        assert convert_column(values, enc, "c") == (expected, {}), db_type
    assert pg_write_encoding("tsvector") is None
    assert pg_write_encoding(None) is None


def test_text_protocol_writes_containers_as_json() -> None:
    rows = [(1, {"a": [1]}, ["x"]), (2, None, "y")]
    encoded, bad = encode_rows(rows, [None, TEXT_WRITE, TEXT_WRITE], ["i", "o", "a"])
    assert encoded == [(1, '{"a": [1]}', '["x"]'), (2, None, "y")]
    assert bad == {}
    plain = [(1, "a"), (2, None)]
    assert encode_rows(plain, [None, TEXT_WRITE], ["i", "s"])[0] is plain  # nothing to convert: the same rows
