"""CsvBatchReader on its own: RFC 4180, chunk boundaries, dialects, encodings, types, record errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_core.components.files.csv_format import CsvBatchReader, CsvDialect
from etl_core.config.schema import Schema
from etl_core.errors import ComponentError

Errors = list[tuple[Any, str, int | None]]


def schema(**types: str) -> Schema:
    return Schema.model_validate({"fields": [{"name": n, "data_type": t, "nullable": True} for n, t in types.items()]})


def read_all(
    path: Path,
    schema: Schema | None = None,
    *,
    chunk_size: int = 1 << 20,
    batch_size: int = 1000,
    **dialect: Any,
) -> tuple[list[dict[str, Any]], Errors]:
    reader = CsvBatchReader(path, CsvDialect(**dialect), schema, batch_size=batch_size, chunk_size=chunk_size)
    records: list[dict[str, Any]] = []
    errors: Errors = []
    try:
        while (batch := reader.next_batch()) is not None:
            records.extend(batch.records)
            errors.extend(batch.errors)
    finally:
        reader.close()
    return records, errors


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_rfc4180_quoted_fields_keep_separators_and_doubled_quotes(tmp_path: Path) -> None:
    f = write(tmp_path / "q.csv", 'a,b,c\n"x, y","say ""hi""",plain\n"",""""," spaced "\n')

    records, errors = read_all(f)

    assert errors == []
    assert records == [
        {"a": "x, y", "b": 'say "hi"', "c": "plain"},
        {"a": None, "b": '"', "c": " spaced "},
    ]


TRICKY = (
    'id,text,n\n1,"first\nsecond",10\n2,"a ""quoted"" word, and\n\na blank line",20\n'
    '3,plain,30\n4,"ends with newline\n",40\n'
)
TRICKY_RECORDS = [
    {"id": "1", "text": "first\nsecond", "n": "10"},
    {"id": "2", "text": 'a "quoted" word, and\n\na blank line', "n": "20"},
    {"id": "3", "text": "plain", "n": "30"},
    {"id": "4", "text": "ends with newline\n", "n": "40"},
]


def test_embedded_newlines_stay_inside_their_field(tmp_path: Path) -> None:
    records, errors = read_all(write(tmp_path / "nl.csv", TRICKY))

    assert errors == []
    assert records == TRICKY_RECORDS


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 11, 16, 64])
def test_embedded_newlines_survive_any_chunk_boundary(tmp_path: Path, chunk_size: int) -> None:
    records, errors = read_all(write(tmp_path / "nl.csv", TRICKY), chunk_size=chunk_size, batch_size=2)

    assert errors == []
    assert records == TRICKY_RECORDS


@pytest.mark.parametrize("chunk_size", [1, 3, 8, 1 << 20])
def test_line_numbers_count_physical_lines_across_multiline_records(tmp_path: Path, chunk_size: int) -> None:
    f = write(tmp_path / "lines.csv", 'id,text\n1,"one\ntwo\nthree"\nbad,x\n\n4,"y\nz"\nworse,w\n')

    records, errors = read_all(f, schema(id="integer", text="string"), chunk_size=chunk_size)

    assert records == [{"id": 1, "text": "one\ntwo\nthree"}, {"id": 4, "text": "y\nz"}]
    assert [(e[2], e[1]) for e in errors] == [
        (5, "field 'id': 'bad' is not an integer (integer)"),
        (9, "field 'id': 'worse' is not an integer (integer)"),
    ]


@pytest.mark.parametrize("separator", [";", "|", "\t"])
def test_any_single_character_separates_fields(tmp_path: Path, separator: str) -> None:
    s = separator
    f = write(tmp_path / "sep.csv", f'a{s}b\n1{s}"x{s}y"\n2{s}z,w\n')

    records, errors = read_all(f, schema(a="integer", b="string"), separator=separator)

    assert errors == []
    assert records == [{"a": 1, "b": f"x{s}y"}, {"a": 2, "b": "z,w"}]


def test_a_custom_quote_character_quotes_fields(tmp_path: Path) -> None:
    f = write(tmp_path / "quote.csv", "a,b\n'x,y','it''s'\n")

    records, _ = read_all(f, quotechar="'")

    assert records == [{"a": "x,y", "b": "it's"}]


@pytest.mark.parametrize(
    ("encoding", "chunk_size"),
    [("latin-1", 1 << 20), ("latin-1", 1), ("utf-16", 1 << 20), ("utf-16", 1), ("utf-16", 3), ("cp1252", 5)],
)
def test_files_are_decoded_in_their_declared_encoding(tmp_path: Path, encoding: str, chunk_size: int) -> None:
    f = write(tmp_path / "enc.csv", 'name,city\nRenée,Zürich\n"Ærø, DK",Malmö\n', encoding)

    records, errors = read_all(f, encoding=encoding, chunk_size=chunk_size)

    assert errors == []
    assert records == [{"name": "Renée", "city": "Zürich"}, {"name": "Ærø, DK", "city": "Malmö"}]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 1 << 20])
def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path: Path, chunk_size: int) -> None:
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbfid,name\n1,\xc3\xa9mile\n")

    records, errors = read_all(f, schema(id="integer", name="string"), chunk_size=chunk_size)

    assert errors == []
    assert records == [{"id": 1, "name": "émile"}]


def test_a_row_with_bytes_that_do_not_decode_is_a_record_error_naming_its_line_and_byte(tmp_path: Path) -> None:
    # job-config.md §5: an unparseable line is a record error; the rows around it still read
    f = tmp_path / "bad.csv"
    f.write_bytes(b"name\nok\n\xff\xfe broken\nfine\n")

    records, errors = read_all(f)

    assert records == [{"name": "ok"}, {"name": "fine"}]
    assert errors == [("\ufffd\ufffd broken", "not valid utf-8: byte 0xFF in column 'name' cannot be decoded", 3)]


def test_typed_columns_arrive_as_their_declared_types(tmp_path: Path) -> None:
    f = write(
        tmp_path / "types.csv",
        "i,f,b,e,s\n1,1.5,true,red,007\n-20,3,False,blue,x\n 7 ,1e3,YES,red,\n",
    )
    s = Schema.model_validate(
        {
            "fields": [
                {"name": "i", "data_type": "integer"},
                {"name": "f", "data_type": "float"},
                {"name": "b", "data_type": "boolean"},
                {"name": "e", "data_type": "enum", "enum_values": ["red", "blue"]},
                {"name": "s", "data_type": "string", "nullable": True},
            ]
        }
    )

    records, errors = read_all(f, s)

    assert errors == []
    assert records == [
        {"i": 1, "f": 1.5, "b": True, "e": "red", "s": "007"},
        {"i": -20, "f": 3.0, "b": False, "e": "blue", "s": "x"},
        {"i": 7, "f": 1000.0, "b": True, "e": "red", "s": None},
    ]
    assert [type(v) for v in records[0].values()] == [int, float, bool, str, str]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True), ("TRUE", True), ("t", True), ("1", True), ("yes", True), ("Y", True),
        ("false", False), ("False", False), ("f", False), ("0", False), ("no", False), ("N", False),
    ],
)  # fmt: skip
def test_boolean_columns_accept_the_usual_spellings(tmp_path: Path, text: str, expected: bool) -> None:
    records, errors = read_all(write(tmp_path / "b.csv", f"b\n{text}\n"), schema(b="boolean"))

    assert errors == []
    assert records == [{"b": expected}]


@pytest.mark.parametrize(
    ("column", "bad", "message"),
    [
        ("integer", "3.5", "field 'v': '3.5' is not an integer (integer)"),
        ("integer", "12abc", "field 'v': '12abc' is not an integer (integer)"),
        ("float", "1,5", "field 'v': '1,5' is not a float (float)"),
        ("boolean", "maybe", "field 'v': 'maybe' is not a boolean (boolean)"),
    ],
)
def test_a_value_that_does_not_fit_its_type_is_a_record_error_naming_field_and_line(
    tmp_path: Path, column: str, bad: str, message: str
) -> None:
    f = write(tmp_path / "bad.csv", f'id,v\n1,1\n2,"{bad}"\n3,0\n')

    records, errors = read_all(f, schema(id="integer", v=column))

    assert [r["id"] for r in records] == [1, 3]
    assert errors == [({"id": "2", "v": bad}, message, 3)]


def test_an_enum_value_outside_its_list_is_a_record_error(tmp_path: Path) -> None:
    s = Schema.model_validate(
        {"fields": [{"name": "colour", "data_type": "enum", "enum_values": ["red", "blue"], "nullable": True}]}
    )
    records, errors = read_all(write(tmp_path / "e.csv", 'colour\nred\ngreen\n\n""\n'), s)

    assert records == [{"colour": "red"}, {"colour": None}]
    assert errors == [({"colour": "green"}, "field 'colour': 'green' is not one of blue, red (enum)", 3)]


def test_an_empty_field_is_null_whatever_its_type(tmp_path: Path) -> None:
    f = write(tmp_path / "empty.csv", 'i,f,b,s\n,,,\n"","","",""\n')

    records, errors = read_all(f, schema(i="integer", f="float", b="boolean", s="string"))

    assert errors == []
    assert records == [{"i": None, "f": None, "b": None, "s": None}] * 2


def test_a_custom_null_value_reads_as_null_and_empty_strings_stay_strings(tmp_path: Path) -> None:
    f = write(tmp_path / "null.csv", "i,s\nNULL,NULL\n,\n5,null\n")

    records, errors = read_all(f, schema(i="integer", s="string"), null_value="NULL")

    assert errors == []
    # an empty typed field has no other meaning than null; an empty text is an empty text
    assert records == [{"i": None, "s": None}, {"i": None, "s": ""}, {"i": 5, "s": "null"}]


def test_without_a_header_names_come_from_the_schema(tmp_path: Path) -> None:
    f = write(tmp_path / "nohead.csv", "1,ada\n2,bob\n")

    records, errors = read_all(f, schema(id="integer", name="string"), header=False)

    assert errors == []
    assert records == [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}]


def test_without_a_header_or_schema_columns_are_numbered(tmp_path: Path) -> None:
    records, _ = read_all(write(tmp_path / "nohead.csv", "1,ada\n2,bob\n"), header=False)

    assert records == [{"column_1": "1", "column_2": "ada"}, {"column_1": "2", "column_2": "bob"}]


def test_without_a_header_line_numbers_start_at_the_first_row(tmp_path: Path) -> None:
    f = write(tmp_path / "nohead.csv", "1,ada\nx,bob\n")

    _, errors = read_all(f, schema(id="integer", name="string"), header=False)

    assert errors == [({"id": "x", "name": "bob"}, "field 'id': 'x' is not an integer (integer)", 2)]


def test_a_header_missing_a_declared_column_fails_naming_the_column_and_file(tmp_path: Path) -> None:
    f = write(tmp_path / "people.csv", "id,fullname\n1,ada\n")

    with pytest.raises(ComponentError) as info:
        read_all(f, schema(id="integer", name="string", age="integer"))

    message = str(info.value)
    assert str(f) in message
    assert "column(s) name, age declared in the schema are not in the header (id, fullname)" in message
    assert info.value.stage == "read"


def test_a_header_that_repeats_a_column_fails(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="line 1: header repeats column"):
        read_all(write(tmp_path / "dupe.csv", "id,id\n1,2\n"))


def test_header_columns_the_schema_does_not_declare_are_dropped(tmp_path: Path) -> None:
    f = write(tmp_path / "extra.csv", "name,id,ignored\nada,1,zzz\n")

    records, _ = read_all(f, schema(id="integer", name="string"))

    assert records == [{"id": 1, "name": "ada"}]


def test_rows_with_the_wrong_number_of_fields_are_record_errors(tmp_path: Path) -> None:
    f = write(tmp_path / "width.csv", "a,b\n1,2\n3\n4,5,6\n7,8\n")

    records, errors = read_all(f, schema(a="integer", b="integer"))

    assert records == [{"a": 1, "b": 2}, {"a": 7, "b": 8}]
    assert errors == [("3", "expected 2 fields, got 1", 3), ("4,5,6", "expected 2 fields, got 3", 4)]


def test_errors_of_one_batch_come_in_line_order(tmp_path: Path) -> None:
    f = write(tmp_path / "mixed.csv", "a,b\nx,1\n2\ny,2\n")

    _, errors = read_all(f, schema(a="integer", b="integer"))

    assert [e[2] for e in errors] == [2, 3, 4]


@pytest.mark.parametrize("chunk_size", [1, 4, 1 << 20])
def test_crlf_line_endings_are_read_like_lf(tmp_path: Path, chunk_size: int) -> None:
    f = write(tmp_path / "crlf.csv", 'id,text\r\n1,"a\r\nb"\r\n2,c\r\n')

    records, errors = read_all(f, schema(id="integer", text="string"), chunk_size=chunk_size)

    assert errors == []
    assert records == [{"id": 1, "text": "a\r\nb"}, {"id": 2, "text": "c"}]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    records, errors = read_all(write(tmp_path / "blank.csv", "a,b\n\n1,2\n\n\n3,4\n\n"))

    assert errors == []
    assert records == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_a_file_without_a_trailing_newline_keeps_its_last_row(tmp_path: Path) -> None:
    records, _ = read_all(write(tmp_path / "last.csv", 'a,b\n1,2\n3,"4"'), chunk_size=3)

    assert records == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_batches_hold_at_most_batch_size_records(tmp_path: Path) -> None:
    f = write(tmp_path / "many.csv", "n\n" + "".join(f"{i}\n" for i in range(23)))
    reader = CsvBatchReader(f, CsvDialect(), schema(n="integer"), batch_size=10, chunk_size=16)
    sizes = []
    while (batch := reader.next_batch()) is not None:
        sizes.append(len(batch.records))
    reader.close()

    assert sizes == [10, 10, 3]


def test_an_empty_file_gives_no_records(tmp_path: Path) -> None:
    assert read_all(write(tmp_path / "empty.csv", ""), schema(n="integer")) == ([], [])


def test_a_header_only_file_gives_no_records_but_checks_the_header(tmp_path: Path) -> None:
    assert read_all(write(tmp_path / "head.csv", "n\n"), schema(n="integer")) == ([], [])
    with pytest.raises(ComponentError, match="column"):
        read_all(write(tmp_path / "head.csv", "m\n"), schema(n="integer"))


def test_dotted_columns_read_into_nested_objects(tmp_path: Path) -> None:
    s = Schema.model_validate(
        {
            "fields": [
                {"name": "id", "data_type": "integer"},
                {
                    "name": "address",
                    "data_type": "object",
                    "children": [
                        {"name": "city", "data_type": "string"},
                        {"name": "zip", "data_type": "integer", "nullable": True},
                    ],
                },
            ]
        }
    )
    f = write(tmp_path / "nested.csv", "id,address.city,address.zip\n1,Paris,75001\n2,Oslo,\n")

    records, errors = read_all(f, s)

    assert errors == []
    assert records == [
        {"id": 1, "address": {"city": "Paris", "zip": 75001}},
        {"id": 2, "address": {"city": "Oslo", "zip": None}},
    ]


STRAY = 'id,text\n1,12" pipe\n2,"multi\nline, ""quoted"""\n3,say "hi" twice\n4,"a\nb\nc"\n5,end\n'
STRAY_RECORDS = [
    {"id": "1", "text": '12" pipe'},
    {"id": "2", "text": 'multi\nline, "quoted"'},
    {"id": "3", "text": 'say "hi" twice'},
    {"id": "4", "text": "a\nb\nc"},
    {"id": "5", "text": "end"},
]


@pytest.mark.parametrize("chunk_size", range(1, len(STRAY) + 2))
def test_stray_quotes_in_unquoted_fields_never_split_a_quoted_record(tmp_path: Path, chunk_size: int) -> None:
    records, errors = read_all(write(tmp_path / "stray.csv", STRAY), chunk_size=chunk_size, batch_size=2)

    assert errors == []
    assert records == STRAY_RECORDS


def test_a_stray_quote_does_not_make_the_reader_hold_back_the_rest_of_the_file(tmp_path: Path) -> None:
    body = "".join(f"{i},widget {i}\n" for i in range(2, 20_000))
    f = write(tmp_path / "inches.csv", 'id,text\n1,24" monitor\n' + body)
    reader = CsvBatchReader(
        f, CsvDialect(), schema(id="integer", text="string"), batch_size=10_000, chunk_size=4096, eager=True
    )
    read_per_batch: list[int] = []
    count = 0
    while (batch := reader.next_batch()) is not None:
        read_per_batch.append(batch.bytes_read)
        count += len(batch.records)
    reader.close()

    assert count == 19_999
    # rows keep flowing chunk by chunk instead of waiting for the end of the file
    assert max(read_per_batch) < 100_000 < f.stat().st_size
