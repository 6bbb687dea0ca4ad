"""CsvBatchWriter on its own: quoting, nulls, booleans, nesting, headers; and round trips through the reader."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.csv_format import CsvBatchReader, CsvBatchWriter, CsvDialect
from etl_core.config.schema import Schema


def schema(**types: str) -> Schema:
    return Schema.model_validate({"fields": [{"name": n, "data_type": t, "nullable": True} for n, t in types.items()]})


def render(
    batches: list[list[dict[str, Any]]],
    schema: Schema | None = None,
    *,
    lineterminator: str = "\n",
    write_header: bool = True,
    **dialect: Any,
) -> str:
    fh = io.StringIO()
    writer = CsvBatchWriter(fh, CsvDialect(**dialect), schema, lineterminator=lineterminator, write_header=write_header)
    for batch in batches:
        writer.write(batch)
    writer.finish()
    return fh.getvalue()


def test_values_with_separators_quotes_and_line_breaks_are_quoted() -> None:
    text = render(
        [[{"a": "x,y", "b": 'say "hi"', "c": "two\nlines"}, {"a": "plain", "b": "", "c": "crlf\r\nhere"}]],
        schema(a="string", b="string", c="string"),
    )

    assert text == 'a,b,c\n"x,y","say ""hi""","two\nlines"\nplain,,"crlf\r\nhere"\n'


def test_a_lone_carriage_return_in_a_value_is_quoted() -> None:
    text = render([[{"a": "before\rafter", "b": 1}, {"a": "plain", "b": 2}]], schema(a="string", b="integer"))

    assert text == 'a,b\n"before\rafter",1\nplain,2\n'


def test_a_custom_separator_quotes_values_holding_it_and_not_commas() -> None:
    text = render([[{"a": "x;y", "b": "1,5"}]], schema(a="string", b="string"), separator=";")

    assert text == 'a;b\n"x;y";1,5\n'


def test_a_custom_quote_character_is_doubled_inside_values() -> None:
    text = render([[{"a": "it's, here"}]], schema(a="string"), quotechar="'")

    assert text == "a\n'it''s, here'\n"


def test_nulls_are_empty_and_booleans_lowercase_words() -> None:
    text = render(
        [[{"i": None, "f": 1.5, "b": True, "s": None}, {"i": 3, "f": None, "b": False, "s": "x"}]],
        schema(i="integer", f="float", b="boolean", s="string"),
    )

    assert text == "i,f,b,s\n,1.5,true,\n3,,false,x\n"


def test_a_custom_null_value_is_written_for_nulls() -> None:
    text = render([[{"i": None, "s": None}, {"i": 1, "s": ""}]], schema(i="integer", s="string"), null_value="NULL")

    assert text == "i,s\nNULL,NULL\n1,\n"


def test_a_one_column_null_is_written_so_it_is_not_a_blank_line(tmp_path: Path) -> None:
    s = schema(v="integer")
    path = tmp_path / "one.csv"
    path.write_text(render([[{"v": 1}, {"v": None}, {"v": 3}]], s))

    assert read_back(path, s) == [{"v": 1}, {"v": None}, {"v": 3}]


def test_missing_keys_are_written_as_null() -> None:
    text = render([[{"a": 1}, {"b": 2}]], schema(a="integer", b="integer"))

    assert text == "a,b\n1,\n,2\n"


def test_nested_objects_are_written_as_dotted_columns() -> None:
    s = Schema.model_validate(
        {
            "fields": [
                {"name": "id", "data_type": "integer"},
                {
                    "name": "address",
                    "data_type": "object",
                    "children": [{"name": "city", "data_type": "string"}, {"name": "zip", "data_type": "string"}],
                },
                {"name": "meta", "data_type": "object"},
                {"name": "tags", "data_type": "array"},
            ]
        }
    )
    text = render(
        [
            [
                {"id": 1, "address": {"city": "Paris", "zip": "75001"}, "meta": {"k": "v"}, "tags": ["a", "b"]},
                {"id": 2, "address": None, "meta": None, "tags": []},
            ]
        ],
        s,
    )

    assert text.splitlines() == [
        "id,address.city,address.zip,meta,tags",
        '1,Paris,75001,"{""k"": ""v""}","[""a"", ""b""]"',
        "2,,,,[]",
    ]


def test_without_a_schema_columns_come_from_the_first_record_flattened() -> None:
    text = render([[{"id": 1, "who": {"name": "ada"}, "ok": True}], [{"id": 2, "who": {"name": "bob"}, "ok": None}]])

    assert text == "id,who.name,ok\n1,ada,true\n2,bob,\n"


def test_no_records_with_a_known_schema_is_a_header_only_file() -> None:
    assert render([], schema(id="integer", name="string")) == "id,name\n"


def test_no_records_and_no_schema_is_an_empty_file() -> None:
    assert render([]) == ""


def test_header_false_writes_only_rows() -> None:
    assert render([[{"a": 1, "b": 2}]], schema(a="integer", b="integer"), header=False) == "1,2\n"


def test_write_header_false_continues_an_existing_file() -> None:
    assert render([[{"a": 1}]], schema(a="integer"), write_header=False) == "1\n"


def test_crlf_line_terminator_ends_every_row() -> None:
    assert render([[{"a": 1}, {"a": 2}]], schema(a="integer"), lineterminator="\r\n") == "a\r\n1\r\n2\r\n"


def test_write_reports_the_bytes_it_wrote_including_the_header(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = CsvBatchWriter(fh, CsvDialect(), schema(a="string"))
        total = writer.write([{"a": "é"}]) + writer.write([{"a": "x"}]) + writer.finish()

    assert total == path.stat().st_size == len("a\né\nx\n".encode())


def test_finish_reports_the_header_of_an_empty_output(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        written = CsvBatchWriter(fh, CsvDialect(), schema(abc="string")).finish()

    assert written == 4


def read_back(path: Path, s: Schema | None, **dialect: Any) -> list[dict[str, Any]]:
    reader = CsvBatchReader(path, CsvDialect(**dialect), s, batch_size=100, chunk_size=7)
    out: list[dict[str, Any]] = []
    while (batch := reader.next_batch()) is not None:
        assert batch.errors == []
        out.extend(batch.records)
    reader.close()
    return out


ROUND_TRIP = [
    {"id": 1, "text": 'quotes "inside", commas, and\nnew\r\nlines', "amount": 1.25, "ok": True},
    {"id": 2, "text": "carriage\rreturn", "amount": None, "ok": False},
    {"id": 3, "text": "  spaces  ", "amount": -0.5, "ok": None},
    {"id": 4, "text": "ünïcödé ✓", "amount": 1e20, "ok": True},
    {"id": 5, "text": None, "amount": 0.0, "ok": False},
]


@pytest.mark.parametrize(
    ("separator", "lineterminator", "encoding"),
    [(",", "\n", "utf-8"), (";", "\r\n", "utf-8"), ("\t", "\n", "utf-16"), ("|", "\r\n", "latin-1")],
)
def test_what_the_writer_writes_the_reader_reads_back(
    tmp_path: Path, separator: str, lineterminator: str, encoding: str
) -> None:
    s = schema(id="integer", text="string", amount="float", ok="boolean")
    rows = ROUND_TRIP if encoding != "latin-1" else [r for r in ROUND_TRIP if r["id"] != 4]
    path = tmp_path / "rt.csv"
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = CsvBatchWriter(fh, CsvDialect(separator=separator), s, lineterminator=lineterminator)
        writer.write(rows[:2])
        writer.write(rows[2:])
        writer.finish()

    assert read_back(path, s, separator=separator, encoding=encoding) == rows
