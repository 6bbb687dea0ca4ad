"""The filter on columns: `compile_selection` over a columnar batch decides exactly as `compile_rule` over its
records (compared as one flag per record)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, get_args

import pytest

from etl_core.components.columns import Columns
from etl_core.components.files.csv_format import CsvBatchReader, CsvDialect
from etl_core.components.ops._rules import Operator, Rule, compile_rule, compile_selection
from etl_core.config.schema import Schema


def compile_mask(rule: Rule) -> Callable[[Columns], list[bool] | None]:
    """The selection as one flag per record (None when the batch lacks a column the rule names)."""
    select = compile_selection(rule)

    def mask(batch: Columns) -> list[bool] | None:
        rows = select(batch)
        if rows is None:
            return None
        chosen = set(rows)
        return [i in chosen for i in range(len(batch))]

    return mask


def picked(batch: Columns, mask: list[bool]) -> Columns:
    return batch.take([i for i, keep in enumerate(mask) if keep])


# one column of every kind of value a record may hold, and a second one shifted against it for the nodes
MIXED: list[Any] = [
    0,
    1,
    5,
    -3,
    10,
    2.5,
    5.0,
    -0.5,
    True,
    False,
    "5",
    "10",
    " 7 ",
    "2.5",
    "-3",
    "abc",
    "ABC def",
    "Hello World",
    "hello",
    "",
    "a.b",
    "2024-01-01",
    "2024-06-30T08:00:00",
    None,
    date(2024, 1, 1),
    date(2023, 12, 31),
    datetime(2024, 5, 1, 12, 30),
    Decimal("5"),
    Decimal("2.5"),
    None,
]
OTHER: list[Any] = MIXED[7:] + MIXED[:7]
NAMES = ["v", "w", "label"]
LABELS = [f"row {i}" for i in range(len(MIXED))]
COLUMNS = Columns(NAMES, [MIXED, OTHER, LABELS])
RECORDS = [{"v": v, "w": w, "label": label} for v, w, label in zip(MIXED, OTHER, LABELS, strict=True)]


def leaf(column: str, operator: str, value: Any = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"column": column, "operator": operator}
    if value is not None:
        rule["value"] = value
    return rule


def node(op: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"logical_operator": op, "rules": list(rules)}


VALUES: dict[str, list[Any]] = {
    "==": [5, 2.5, "5", "abc", "hello", True, False, "2024-01-01", 0, ""],
    "!=": [5, 2.5, "5", "abc", True, "2024-01-01"],
    ">": [5, 2.5, "5", "abc", "2024-01-01", -1, 0],
    "<": [5, 2.5, "5", "abc", "2024-01-01", 0],
    ">=": [5, 2.5, "10", "hello", "2024-01-01"],
    "<=": [5, -0.5, "2.5", "abc", "2023-12-31"],
    "contains": ["l", "HELLO", "5", 5, "a.b", "2024"],
    "not_contains": ["l", "HELLO", "5", 2.5],
    "starts_with": ["h", "ABC", "-", 2, "2024"],
    "ends_with": ["o", "DEF", "0", 5, "00"],
    "in": [[5, "abc"], ["5", "hello"], [2.5, True], [True, False], ["abc", "Hello World"], [None, 0], [None]],
    "not_in": [[5, "abc"], ["5", "hello"], [2.5, True], ["abc", "Hello World"], [None, 0]],
    "matches": [r"^\d+$", r"l+", r"(?i)^abc", r"\.", r"^2024-\d\d-\d\d", r"5"],
    "is_null": [None],
    "is_not_null": [None],
}
LEAVES = [pytest.param(leaf("v", op, value), id=f"{op}-{value!r}") for op, values in VALUES.items() for value in values]
NODES = [
    pytest.param(node("AND", leaf("v", ">", 0), leaf("w", "<", 10)), id="and-two"),
    pytest.param(node("OR", leaf("v", "==", "abc"), leaf("w", "is_null")), id="or-two"),
    pytest.param(node("NOT", leaf("v", "contains", "l")), id="not-leaf"),
    pytest.param(node("NOT", leaf("v", "!=", 5)), id="not-ne-differs-from-eq-on-nulls"),
    pytest.param(node("AND", leaf("v", "is_not_null"), leaf("w", "is_not_null"), leaf("v", ">=", 0)), id="and-three"),
    pytest.param(
        node("OR", leaf("v", "==", 1), leaf("v", "==", "5"), leaf("w", "starts_with", "h"), leaf("w", "in", [True])),
        id="or-four",
    ),
    pytest.param(
        node("AND", leaf("v", "is_not_null"), leaf("w", "is_not_null"), leaf("v", "!=", 0), leaf("w", "!=", 0)),
        id="and-four",
    ),
    pytest.param(node("AND", leaf("label", "matches", r"[02468]$")), id="and-one"),
    pytest.param(
        node(
            "OR",
            node("AND", leaf("v", ">", 1), node("NOT", leaf("w", "matches", r"^\d"))),
            node("NOT", node("OR", leaf("v", "is_null"), leaf("label", "ends_with", "1"))),
        ),
        id="nested",
    ),
    pytest.param(node("NOT", node("AND", leaf("v", "in", [5, "hello"]), leaf("w", "not_in", ["abc"]))), id="not-and"),
]


def mask_and_routing(rule: dict[str, Any]) -> tuple[list[bool], list[dict[str, Any]], list[dict[str, Any]]]:
    model = Rule.model_validate(rule)
    mask = compile_mask(model)(COLUMNS)
    assert mask is not None
    passed, failed = compile_rule(model)(RECORDS)
    return mask, passed, failed


@pytest.mark.parametrize("rule", LEAVES + NODES)
def test_the_mask_over_columns_routes_every_record_like_the_record_path(rule: dict[str, Any]) -> None:
    mask, passed, failed = mask_and_routing(rule)

    assert len(mask) == len(RECORDS)
    assert all(m is True or m is False for m in mask)
    assert [r for r, m in zip(RECORDS, mask, strict=True) if m] == passed
    assert [r for r, m in zip(RECORDS, mask, strict=True) if not m] == failed


@pytest.mark.parametrize("rule", LEAVES + NODES)
def test_selecting_with_the_mask_gives_the_records_the_record_path_passes(rule: dict[str, Any]) -> None:
    mask, passed, failed = mask_and_routing(rule)

    assert picked(COLUMNS, mask).records() == passed
    assert picked(COLUMNS, [not m for m in mask]).records() == failed


def test_every_operator_is_covered_by_the_parity_table() -> None:
    assert set(get_args(Operator)) == set(VALUES)


def test_the_parity_table_holds_rules_that_pass_some_records_and_fail_others() -> None:
    # a table of rules that pass everything or nothing would prove little: only `in [None]` passes nothing
    one_sided = []
    for param in LEAVES + NODES:
        mask, _, _ = mask_and_routing(param.values[0])  # type: ignore[arg-type]
        if all(mask) or not any(mask):
            one_sided.append(param.id)
    assert one_sided == ["in-[None]"]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param(leaf("v", ">", 9), [10, "10"], id="numbers-and-numeric-strings-never-bools"),
        pytest.param(leaf("v", "==", True), [True], id="a-bool-equals-only-a-bool"),
        pytest.param(
            leaf("v", "<", "2024-01-01"), ["10", " 7 ", "2.5", "-3", "", date(2023, 12, 31)], id="text-and-dates"
        ),
        pytest.param(leaf("v", "is_null"), [None, None], id="is-null"),
        pytest.param(leaf("v", "starts_with", "HEL"), ["Hello World", "hello"], id="starts-with-ignores-case"),
        pytest.param(leaf("v", "matches", r"^-"), [-3, -0.5, "-3"], id="matches-numbers-as-text"),
    ],
)
def test_the_mask_holds_the_values_the_rule_semantics_pass(rule: dict[str, Any], expected: list[Any]) -> None:
    mask = compile_mask(Rule.model_validate(rule))(COLUMNS)

    assert mask is not None
    kept = [v for v, m in zip(MIXED, mask, strict=True) if m]
    assert list(map(repr, kept)) == list(map(repr, expected))  # repr: 5 and 5.0 and True differ


# columns as the CSV reader types them: one column of each type with no null (a reader may mark such a column as
# holding one exact type, and a leaf may then test it in one C-level pass), and the same with nulls among them
TYPED = {
    "fields": [
        {"name": name, "data_type": kind, "nullable": True}
        for name, kind in (
            ("i", "integer"),
            ("f", "float"),
            ("b", "boolean"),
            ("s", "string"),
            ("ni", "integer"),
            ("nf", "float"),
            ("nb", "boolean"),
            ("ns", "string"),
        )
    ]
}
TYPED_ROWS = [
    ["0", "0.0", "true", "abc", "", "", "", ""],
    ["5", "2.5", "false", "5", "5", "2.5", "false", "5"],
    ["-3", "-0.5", "yes", "Hello World", "-3", "", "yes", "Hello World"],
    ["10", "10.0", "no", "10", "", "10.0", "", ""],
    ["7", "nan", "t", "2024-01-01", "7", "nan", "t", "2024-01-01"],
    ["12", "1e3", "F", "hello", "12", "1e3", "F", "hello"],
    ["1", "5", "TRUE", "ABC def", "", "5", "", "ABC def"],
    ["2", "-inf", "0", "a.b", "2", "-inf", "0", "a.b"],
]


def typed_batches(tmp_path: Any) -> list[Columns]:
    path = tmp_path / "typed.csv"
    lines = [",".join(f["name"] for f in TYPED["fields"])] + [",".join(r) for r in TYPED_ROWS * 3]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reader = CsvBatchReader(path, CsvDialect(), Schema.model_validate(TYPED), batch_size=10, columnar=True)
    batches = []
    try:
        while (parsed := reader.next_batch()) is not None:
            assert parsed.errors == []
            assert isinstance(parsed.batch, Columns)
            batches.append(parsed.batch)
    finally:
        reader.close()
    return batches


@pytest.mark.parametrize(("operator", "value"), [(op, v) for op, values in VALUES.items() for v in values])
def test_on_columns_typed_by_the_csv_reader_the_mask_routes_like_the_record_path(
    tmp_path: Any, operator: str, value: Any
) -> None:
    batches = typed_batches(tmp_path)
    assert [len(b) for b in batches] == [10, 10, 4]

    for name in ("i", "f", "b", "s", "ni", "nf", "nb", "ns"):
        rule = Rule.model_validate(leaf(name, operator, value))
        mask_of, route = compile_mask(rule), compile_rule(rule)
        for batch in batches:
            mask = mask_of(batch)
            assert mask is not None
            records = batch.records()
            passed, failed = route(records)
            assert [r for r, m in zip(records, mask, strict=True) if m] == passed, name
            assert [r for r, m in zip(records, mask, strict=True) if not m] == failed, name


@pytest.mark.parametrize("rule", NODES)
def test_nodes_over_columns_typed_by_the_csv_reader_route_like_the_record_path(
    tmp_path: Any, rule: dict[str, Any]
) -> None:
    renamed = {"v": "i", "w": "s", "label": "ns"}

    def rename(r: dict[str, Any]) -> dict[str, Any]:
        if "rules" in r:
            return {**r, "rules": [rename(c) for c in r["rules"]]}
        return {**r, "column": renamed[r["column"]]}

    model = Rule.model_validate(rename(rule))
    for batch in typed_batches(tmp_path):
        mask = compile_mask(model)(batch)
        assert mask is not None
        assert picked(batch, mask).records() == compile_rule(model)(batch.records())[0]


def test_a_rule_naming_a_column_the_batch_lacks_gives_no_mask() -> None:
    mask = compile_mask(Rule.model_validate(leaf("missing", "is_null")))

    assert mask(COLUMNS) is None


def test_a_node_with_one_leaf_on_a_missing_column_gives_no_mask() -> None:
    rule = node("OR", leaf("v", "is_not_null"), node("NOT", leaf("missing", "==", 1)))

    assert compile_mask(Rule.model_validate(rule))(COLUMNS) is None


def test_a_dotted_path_into_nested_values_gives_no_mask_and_the_record_path_decides() -> None:
    batch = Columns(["address"], [[{"city": "Paris"}, {"city": "Rome"}, None]])
    rule = Rule.model_validate(leaf("address.city", "==", "Paris"))

    assert compile_mask(rule)(batch) is None
    passed, failed = compile_rule(rule)(batch.records())
    assert passed == [{"address": {"city": "Paris"}}]
    assert failed == [{"address": {"city": "Rome"}}, {"address": None}]


def test_a_flat_field_named_like_a_dotted_path_is_masked_like_the_record_path() -> None:
    batch = Columns(["address.city", "n"], [["Paris", "Rome", None], [1, 2, 3]])
    rule = Rule.model_validate(leaf("address.city", "==", "Paris"))

    mask = compile_mask(rule)(batch)

    assert mask == [True, False, False]
    passed, _ = compile_rule(rule)(batch.records())
    assert picked(batch, mask).records() == passed == [{"address.city": "Paris", "n": 1}]


def test_a_mask_over_an_empty_batch_is_empty() -> None:
    empty = picked(COLUMNS, [False] * len(COLUMNS))

    assert compile_mask(Rule.model_validate(node("AND", leaf("v", ">", 1), leaf("w", "<", 1))))(empty) == []
