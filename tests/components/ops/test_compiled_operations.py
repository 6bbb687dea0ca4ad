"""The per-run callables of the data operations: built from the config as closures, never as generated code."""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from etl_core.components.ops._join import _Builders, join_layout
from etl_core.components.ops._mapping import _Mapper, _PairMapper
from etl_core.components.ops._mapping_options import JoinStep, SourceRef
from etl_core.components.ops._paths import getter, keyed_getter
from etl_core.components.ops._rules import Rule, compile_rule


@pytest.fixture
def generated() -> Iterator[list[str]]:
    """The calls of `exec` and `compile` made while a test runs (delegated to the real ones)."""
    calls: list[str] = []
    real_exec, real_compile = builtins.exec, builtins.compile

    def spy_exec(*args: Any, **kwargs: Any) -> Any:
        calls.append("exec")
        return real_exec(*args, **kwargs)

    def spy_compile(*args: Any, **kwargs: Any) -> Any:
        calls.append("compile")
        return real_compile(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builtins, "exec", spy_exec)
        patch.setattr(builtins, "compile", spy_compile)
        yield calls


def leaf(column: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"column": column, "operator": operator, "value": value}


BATCH: list[dict[str, Any]] = [{"n": 5, "s": "abc"}, {"n": 7, "s": "xbz"}, {"n": 3, "s": "q"}, {"s.t": 1, "s": None}]
EVERY_OPERATOR = [
    (leaf("n", "==", 5), [0]),
    (leaf("n", "!=", 5), [1, 2]),
    (leaf("n", ">", 5), [1]),
    (leaf("n", "<", 5), [2]),
    (leaf("n", ">=", 5), [0, 1]),
    (leaf("n", "<=", 5), [0, 2]),
    (leaf("s", "contains", "B"), [0, 1]),
    (leaf("s", "not_contains", "b"), [2]),
    (leaf("s", "starts_with", "a"), [0]),
    (leaf("s", "ends_with", "Z"), [1]),
    (leaf("s", "in", ["abc", "x"]), [0]),
    (leaf("s", "not_in", ["abc", "x"]), [1, 2]),
    (leaf("s", "matches", "^a"), [0]),
    (leaf("s", "is_null"), [3]),
    (leaf("s.t", "is_not_null"), [3]),
    ({"logical_operator": "AND", "rules": [leaf("n", ">=", 5), leaf("s", "contains", "b")]}, [0, 1]),
    ({"logical_operator": "OR", "rules": [leaf("n", "==", 3), leaf("s", "is_null")]}, [2, 3]),
]


@pytest.mark.parametrize(("rule", "passing"), EVERY_OPERATOR)
def test_filter_rules_are_built_and_run_without_generating_code(
    rule: dict[str, Any], passing: list[int], generated: list[str]
) -> None:
    route = compile_rule(Rule.model_validate(rule))
    passed, failed = route(BATCH)
    assert passed == [BATCH[i] for i in passing]
    assert failed == [r for i, r in enumerate(BATCH) if i not in passing]
    assert generated == []


@pytest.mark.parametrize("count", [2, 3, 4, 5])
@pytest.mark.parametrize("logical", ["AND", "OR"])
def test_filter_nodes_of_any_width_combine_their_rules(logical: str, count: int) -> None:
    rule = Rule.model_validate({"logical_operator": logical, "rules": [leaf(f"f{i}", "==", 1) for i in range(count)]})
    combine = all if logical == "AND" else any
    batch = [{f"f{i}": bit for i, bit in enumerate(bits)} for bits in itertools.product((0, 1), repeat=count)]
    passed, failed = compile_rule(rule)(batch)
    assert passed == [r for r in batch if combine(v == 1 for v in r.values())]
    assert failed == [r for r in batch if not combine(v == 1 for v in r.values())]


@pytest.mark.parametrize(("depth", "passes"), [(1, False), (2, True), (5, False), (6, True)])
def test_filter_nested_nots_alternate(depth: int, passes: bool) -> None:
    rule: dict[str, Any] = leaf("n", ">", 1)
    for _ in range(depth):
        rule = {"logical_operator": "NOT", "rules": [rule]}
    passed, failed = compile_rule(Rule.model_validate(rule))([{"n": 2}])
    assert (passed, failed) == (([{"n": 2}], []) if passes else ([], [{"n": 2}]))


def test_join_records_are_built_without_generating_code(generated: list[str]) -> None:
    builders = _Builders(join_layout(["id", "a"], ["id", "b"], "id", "id"), "id")
    left, right = {"id": 1, "a": "x"}, {"id": 1.0, "b": "y"}
    assert builders.combine([(left, right), (left, None), (None, right)]) == [
        {"id": 1, "a": "x", "b": "y"},
        {"id": 1, "a": "x", "b": None},
        {"id": 1.0, "a": None, "b": "y"},
    ]
    assert builders.join_rows([left, {"id": 2}], [1, 2], {1: 0}, [right], None, True) == [
        {"id": 1, "a": "x", "b": "y"},
        {"id": 2, "a": None, "b": None},
    ]
    assert generated == []


def test_mapping_records_are_built_without_generating_code(generated: list[str]) -> None:
    rules = {
        "x": SourceRef(src_port="one", src_path="a"),
        "y": SourceRef(src_port="two", src_path="a"),
        "z": SourceRef(src_port="one", src_path="b.c"),
    }
    records = _Mapper(rules, "one")([{"a": 1, "b": {"c": 2}}, {}])
    assert records == [{"x": 1, "y": None, "z": 2}, {"x": None, "y": None, "z": None}]
    assert [list(r) for r in records] == [["x", "y", "z"], ["x", "y", "z"]]
    nested_rules = {"o.p": SourceRef(src_port="one", src_path="a"), "q": SourceRef(src_port="two", src_path="a")}
    assert _Mapper(nested_rules, "one")([{"a": 1}]) == [{"o": {"p": 1}, "q": None}]
    assert generated == []


def test_join_rules_read_an_absent_side_as_nulls_without_generating_code(generated: list[str]) -> None:
    step = JoinStep(left_port="l", right_port="r", left_on="id", right_on="id", how="outer", output_port="j")
    rules = {
        "from_right": SourceRef(src_port="r", src_path="v"),
        "from_left": SourceRef(src_port="l", src_path="v"),
        "from_joined": SourceRef(src_port="j", src_path="w.x"),
    }
    mapper = _PairMapper(rules, step)
    assert mapper.needs_joined
    out = mapper([({"v": 1}, {"v": 2}), ({"v": 3}, None), (None, {"v": 4})], [{"w": {"x": 5}}, {}, {"w.x": 6}])
    assert out == [
        {"from_right": 2, "from_left": 1, "from_joined": 5},
        {"from_right": None, "from_left": 3, "from_joined": None},
        {"from_right": 4, "from_left": None, "from_joined": 6},
    ]
    assert [list(r) for r in out] == [["from_right", "from_left", "from_joined"]] * 3
    assert generated == []


@pytest.mark.parametrize("path", ["a", "a.b", "a.b.c", "t[1]", "a.t[0].b"])
@pytest.mark.parametrize(
    "record",
    [
        {},
        {"a": 1},
        {"a": {"b": 2}},
        {"a": {"b": {"c": 3}}},
        {"a.b": 4, "a": {"b": 5}},
        {"a.b": None, "a": {"b": 6}},
        {"t": [7, 8]},
        {"a": {"t": [{"b": 9}]}},
        {"a": None},
    ],
)
def test_keyed_getter_reads_what_getter_reads(path: str, record: dict[str, Any]) -> None:
    get, key = keyed_getter(path)
    assert get(record, key) == getter(path)(record)
