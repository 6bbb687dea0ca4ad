"""Columns: a batch held column by column, and the helpers that treat both batch kinds alike."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from etl_core.components.columns import Columns, as_records, batch_concat, batch_slice

RECORDS: list[dict[str, Any]] = [
    {"id": 1, "name": "ada", "score": 9.5, "active": True, "born": date(1815, 12, 10)},
    {"id": 2, "name": None, "score": None, "active": False, "born": None},
    {"id": 3, "name": 'cy, "the" third', "score": -0.25, "active": None, "born": date(2000, 1, 1)},
    {"id": 4, "name": "", "score": 0.0, "active": True, "born": date(1999, 12, 31)},
]
NAMES = ["id", "name", "score", "active", "born"]


def columns_of(records: list[dict[str, Any]], names: list[str] = NAMES) -> Columns:
    return Columns(names, [[r[n] for r in records] for n in names])


def people() -> Columns:
    return columns_of(RECORDS)


def test_records_round_trip_through_columns_in_order_and_field_order() -> None:
    batch = people()

    records = batch.records()

    assert records == RECORDS
    assert [list(r) for r in records] == [NAMES] * len(RECORDS)
    assert list(iter(batch)) == RECORDS
    assert len(batch) == 4


def test_every_record_is_a_fresh_dict_that_can_be_changed_without_touching_the_batch() -> None:
    batch = people()

    first = batch.records()[0]
    first["name"] = "changed"

    assert batch.records()[0]["name"] == "ada"
    assert batch.column("name")[0] == "ada"


def test_take_of_no_index_gives_an_empty_falsy_batch_with_the_same_fields() -> None:
    empty = people().take([])

    assert len(empty) == 0
    assert not empty
    assert empty.names == tuple(NAMES)
    assert empty.records() == []


def test_take_picks_records_by_index_in_the_order_given_even_repeated() -> None:
    batch = people()
    before = [list(c) for c in batch.data]

    assert batch.take([3, 0, 3]).records() == [RECORDS[3], RECORDS[0], RECORDS[3]]
    assert batch.take([2]).records() == [RECORDS[2]]
    assert batch.take([]).records() == []
    assert batch.take([]).names == tuple(NAMES)
    assert [list(c) for c in batch.data] == before


def test_slice_gives_the_records_between_two_positions() -> None:
    batch = people()

    assert batch.slice(1, 3).records() == RECORDS[1:3]
    assert batch.slice(0, 100).records() == RECORDS
    assert batch.slice(3, 3).records() == []
    assert len(batch) == 4


def test_the_selections_build_new_value_lists_and_never_share_them_with_the_source() -> None:
    data: list[list[Any]] = [[1, 2, 3], ["a", "b", "c"]]
    batch = Columns(["n", "s"], data)

    for part in (batch.take([0, 1, 2]), batch.slice(0, 3)):
        for column in part.data:
            assert isinstance(column, list)
            column.append("extra")  # type: ignore[attr-defined]

    assert data == [[1, 2, 3], ["a", "b", "c"]]
    assert batch.records() == [{"n": 1, "s": "a"}, {"n": 2, "s": "b"}, {"n": 3, "s": "c"}]


def test_concat_joins_batches_with_the_same_fields_in_order_without_changing_them() -> None:
    a, b, c = people().slice(0, 1), people().slice(1, 3), people().slice(3, 4)
    before = [[list(col) for col in x.data] for x in (a, b, c)]

    joined = Columns.concat([a, b, c])

    assert joined.records() == RECORDS
    assert [[list(col) for col in x.data] for x in (a, b, c)] == before


def test_concat_of_one_batch_is_that_batch() -> None:
    batch = people()

    assert Columns.concat([batch]) is batch


def test_concat_refuses_batches_with_other_fields() -> None:
    other = columns_of(RECORDS, ["name", "id", "score", "active", "born"])

    with pytest.raises(ValueError, match="cannot concatenate"):
        Columns.concat([people(), other])


def test_indexing_builds_the_record_at_a_position() -> None:
    batch = people()

    assert batch[0] == RECORDS[0]
    assert batch[2] == RECORDS[2]
    assert batch[-1] == RECORDS[-1]
    with pytest.raises(IndexError):
        batch[4]


def test_has_and_column_name_the_fields_of_the_batch() -> None:
    batch = people()

    assert batch.has("score")
    assert not batch.has("Score")
    assert not batch.has("nope")
    assert list(batch.column("active")) == [True, False, None, True]
    assert list(batch.column("born")) == [r["born"] for r in RECORDS]


def test_column_of_an_unknown_field_raises_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="nope"):
        people().column("nope")


@pytest.mark.parametrize(
    ("names", "data"),
    [
        pytest.param(["a", "b"], [[1, 2]], id="more-names-than-lists"),
        pytest.param(["a"], [[1], [2]], id="more-lists-than-names"),
        pytest.param([], [], id="no-field-at-all"),
    ],
)
def test_the_constructor_refuses_names_that_do_not_match_the_value_lists(names: list[str], data: list[Any]) -> None:
    with pytest.raises(ValueError, match="one value list per name"):
        Columns(names, data)


def test_a_batch_reports_its_fields_and_size_in_its_repr() -> None:
    assert repr(people()) == "Columns(['id', 'name', 'score', 'active', 'born'], 4 rows)"


def test_batch_slice_keeps_the_kind_of_the_batch() -> None:
    sliced = batch_slice(people(), 1, 3)

    assert isinstance(sliced, Columns)
    assert sliced.records() == RECORDS[1:3]
    assert batch_slice(list(RECORDS), 1, 3) == RECORDS[1:3]


def test_batch_concat_of_columns_with_the_same_fields_gives_columns() -> None:
    joined = batch_concat([people().slice(0, 2), people().slice(2, 4)])

    assert isinstance(joined, Columns)
    assert joined.records() == RECORDS


def test_batch_concat_of_columns_and_records_gives_records_in_order() -> None:
    joined = batch_concat([people().slice(0, 1), RECORDS[1:3], people().slice(3, 4)])

    assert isinstance(joined, list)
    assert joined == RECORDS


def test_batch_concat_of_columns_with_other_fields_gives_records() -> None:
    reordered = columns_of(RECORDS[2:], ["born", "active", "score", "name", "id"])

    joined = batch_concat([people().slice(0, 2), reordered])

    assert isinstance(joined, list)
    assert joined == RECORDS


def test_batch_concat_of_record_lists_gives_one_new_list() -> None:
    first, second = RECORDS[:2], RECORDS[2:]

    joined = batch_concat([first, second])

    assert joined == RECORDS
    assert first == RECORDS[:2]
    assert second == RECORDS[2:]


def test_as_records_turns_columns_into_records_and_gives_a_record_list_back_as_is() -> None:
    records = list(RECORDS)

    assert as_records(people()) == RECORDS
    assert as_records(records) is records
