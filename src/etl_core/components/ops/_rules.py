"""The filter's rule tree: its config model and its compilation into one fast routing function.

A rule is a leaf `{"column", "operator", "value"}` or a node `{"logical_operator": AND|OR|NOT, "rules": [...]}`.
Semantics (job-config.md §4, filter):
- a null or missing value makes every leaf false except `is_null` (so `!=` and `not_in` are false on null too);
- numbers compare numerically, also against a numeric string (`"10" > 9`); two strings compare as text;
- values that cannot be compared (a non-numeric string against a number, a list against a string, ...) make
  the leaf false and never raise;
- `==` / `!=` with a list value mean `in` / `not_in`; `contains`, `not_contains`, `starts_with`, `ends_with`
  ignore case; `matches` is `re.search`, case-sensitive unless the pattern says `(?i)`.

`compile_rule` turns the tree, once per run, into one function `route(batch) -> (passed, failed)`: each leaf
is a closure over its column, operator and value, each node a closure over its children (`and`/`or`
short-circuit as written in the tree). The common case of a leaf (the value already has the type the rule
expects) costs a class check and one comparison; every other value goes to a small "slow" function per leaf
that applies the rules above. `compile_selection` does the same for a columnar batch: the indexes of the rows
that pass, each leaf's test mapped over its column (or one C-level operation when the column's values all have
the leaf's type). No source code is generated or compiled.
"""

from __future__ import annotations

import contextlib
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from itertools import compress, repeat
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from etl_core.components.base import Batch, Record
from etl_core.components.columns import Columns, pick
from etl_core.components.ops._paths import keyed_getter
from etl_core.config.schema import StrictModel

Operator = Literal[
    "==",
    "!=",
    ">",
    "<",
    ">=",
    "<=",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "in",
    "not_in",
    "matches",
    "is_null",
    "is_not_null",
]
_UNARY = frozenset({"is_null", "is_not_null"})
_ORDERING = frozenset({">", "<", ">=", "<="})
_TEXT = frozenset({"contains", "not_contains", "starts_with", "ends_with"})
MAX_DEPTH = 64

Router = Callable[[Batch], tuple[Batch, Batch]]
Predicate = Callable[[Record], bool]
ValueTest = Callable[[Any], bool]


class Rule(StrictModel):
    """A filter rule: a leaf (column, operator, value) or a logical node (logical_operator, rules)."""

    column: str | None = Field(
        None, min_length=1, description="leaf: the field to test; dotted paths reach nested fields"
    )
    operator: Operator | None = Field(None, description="leaf: the comparison")
    value: Any = Field(
        None,
        validate_default=True,
        description="leaf: the value to compare with (a list for in/not_in; a regular expression for matches; "
        "none for is_null/is_not_null)",
    )
    logical_operator: Literal["AND", "OR", "NOT"] | None = Field(
        None, description="node: how the sub-rules combine (NOT takes exactly one)"
    )
    rules: list[Rule] | None = Field(None, description="node: the sub-rules")

    @field_validator("value")
    @classmethod
    def _value_fits_operator(cls, value: Any, info: ValidationInfo) -> Any:
        op = info.data.get("operator")
        if op is None or op in _UNARY:
            return value  # unary operators ignore a value (UIs often send "" or null)
        if value is None:
            raise ValueError(f"operator {op!r} needs a value (test for null with is_null / is_not_null)")
        if op in ("in", "not_in") and not isinstance(value, list):
            raise ValueError(f"operator {op!r} needs a list value, got {value!r}")
        if op in _ORDERING and not _is_number(value) and not isinstance(value, str):
            raise ValueError(f"operator {op!r} needs a number or a string, got {value!r}")
        if op in _TEXT and not (_is_number(value) or isinstance(value, str)):
            raise ValueError(f"operator {op!r} needs a string, got {value!r}")
        if op == "matches":
            if not isinstance(value, str):
                raise ValueError(f"operator 'matches' needs a regular expression string, got {value!r}")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
        return value

    @field_validator("rules")
    @classmethod
    def _arity(cls, rules: list[Rule] | None, info: ValidationInfo) -> list[Rule] | None:
        op = info.data.get("logical_operator")
        if rules is None:
            return rules
        if op == "NOT" and len(rules) != 1:
            raise ValueError(f"NOT takes exactly one rule, got {len(rules)}")
        if op in ("AND", "OR") and not rules:
            raise ValueError(f"{op} needs at least one rule")
        return rules

    @model_validator(mode="after")
    def _leaf_or_node(self) -> Rule:
        leaf = self.column is not None or self.operator is not None
        node = self.logical_operator is not None or self.rules is not None
        if leaf and node:
            raise ValueError("a rule is either a leaf (column, operator, value) or a node (logical_operator, rules)")
        if node:
            if self.logical_operator is None:
                raise ValueError("a node needs 'logical_operator' (AND, OR or NOT)")
            if self.rules is None:
                raise ValueError(f"a {self.logical_operator} node needs 'rules'")
            if self.depth() > MAX_DEPTH:
                raise ValueError(f"the rule tree is nested deeper than {MAX_DEPTH} levels")
        elif self.column is None or self.operator is None:
            raise ValueError("a leaf rule needs 'column' and 'operator'")
        return self

    def depth(self) -> int:
        return 1 + max((r.depth() for r in self.rules or ()), default=0)


Rule.model_rebuild()


# -- value semantics ------------------------------------------------------------------------------------------
_NUMBER_TYPES = (int, float, Decimal)


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)


def _number(value: Any) -> Any:
    """A number from a number or a numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, _NUMBER_TYPES):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _temporal(value: Any) -> dict[type, Any]:
    """ISO text parsed for comparison with datetime and date values, by the type it can be compared with."""
    out: dict[type, Any] = {}
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            out[datetime] = datetime.fromisoformat(value)
        with contextlib.suppress(ValueError):
            out[date] = date.fromisoformat(value)
    return out


def _counterpart(x: Any, v: Any, v_num: Any, v_time: dict[type, Any]) -> Any:
    """The form of the rule's value `x` can be compared with, or `_NO` when the two are incomparable."""
    if isinstance(x, bool) or isinstance(v, bool):
        return v if type(x) is type(v) else _NO
    if isinstance(x, _NUMBER_TYPES):
        return v_num if v_num is not None else _NO
    if isinstance(x, str):
        if isinstance(v, str):
            return v
        if _is_number(v):
            return _NO if _number(x) is None else v
        return _NO
    if isinstance(x, (datetime, date)):
        kind = datetime if isinstance(x, datetime) else date
        return v_time.get(kind, v if type(v) is type(x) else _NO)
    return v if type(x) is type(v) else _NO


_NO: Any = object()


def _comparison(op: str, v: Any) -> Callable[[Any], bool]:
    """The slow path of ==, !=, <, >, <=, >= for any non-fast value of the record."""
    v_num = _number(v)
    v_time = _temporal(v)
    compare: Callable[[Any, Any], bool] = _OPS[op]

    def slow(x: Any) -> bool:
        if x is None:
            return False
        other = _counterpart(x, v, v_num, v_time)
        if other is _NO:
            return False
        if isinstance(x, str) and not isinstance(other, str):
            x = _number(x)
        try:
            return bool(compare(x, other))
        except (TypeError, ArithmeticError):  # naive vs aware datetimes; a Decimal NaN ordered against a number
            return False

    return slow


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}


class _Members:
    """The members of an `in` list, split by kind so membership follows the comparison rules."""

    def __init__(self, values: list[Any]) -> None:
        self.strings = {m for m in values if isinstance(m, str)}
        self.real_numbers = {m for m in values if _is_number(m)}
        self.numbers = self.real_numbers | {n for n in map(_number, self.strings) if n is not None}
        self.bools = {m for m in values if isinstance(m, bool)}
        self.others = [m for m in values if not isinstance(m, (str, bool, *_NUMBER_TYPES)) and m is not None]
        self.any = any(m is not None for m in values)

    def has(self, x: Any) -> bool | None:
        """True/False for a comparable `x`, None when `x` is comparable with no member."""
        if not self.any:
            return False
        if isinstance(x, bool):
            return (x in self.bools) if self.bools else None
        if isinstance(x, _NUMBER_TYPES):
            return (x in self.numbers) if self.numbers else None
        if isinstance(x, str):
            if x in self.strings:
                return True
            if self.real_numbers:
                n = _number(x)
                if n is not None:
                    return n in self.real_numbers
            return False if self.strings else None
        same = [m for m in self.others if type(m) is type(x)]
        return any(m == x for m in same) if same else None


def _membership(negate: bool, values: list[Any]) -> Callable[[Any], bool]:
    members = _Members(values)

    def slow(x: Any) -> bool:
        if x is None:
            return False
        found = members.has(x)
        if found is None:
            return False
        return not found if negate else found

    return slow


def _text(op: str, v: Any) -> Callable[[Any], bool]:
    """The slow path of the case-insensitive text operators (numbers are tested as their text)."""
    needle = str(v).casefold()

    def as_text(x: Any) -> str | None:
        if isinstance(x, str):
            return x.casefold()
        if _is_number(x):
            return str(x).casefold()
        return None

    def slow(x: Any) -> bool:
        if x is None:
            return False
        if isinstance(x, list) and op in ("contains", "not_contains"):
            found = any(as_text(item) == needle for item in x)
            return found if op == "contains" else not found
        text = as_text(x)
        if text is None:
            return False
        if op == "contains":
            return needle in text
        if op == "not_contains":
            return needle not in text
        if op == "starts_with":
            return text.startswith(needle)
        return text.endswith(needle)

    return slow


def _regex(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    def slow(x: Any) -> bool:
        if isinstance(x, str):
            return pattern.search(x) is not None
        if _is_number(x):
            return pattern.search(str(x)) is not None
        return False

    return slow


# -- compilation ----------------------------------------------------------------------------------------------
# Each leaf becomes one value test whose common case (the value already has the type the rule expects) costs a
# class check and one comparison; every other value goes to the leaf's slow function, which applies the rules
# above. Closures read their operands from cells, never from globals. A record predicate applies the test to
# the record's value; over columns the same tests select row indexes (see "selections over columns").
def _predicate(rule: Rule) -> Predicate:
    if rule.logical_operator is None:
        return _leaf(rule)
    assert rule.rules is not None
    children = [_predicate(r) for r in rule.rules]
    if rule.logical_operator == "NOT":
        (inner,) = children
        return lambda r: not inner(r)
    return _all_of(children) if rule.logical_operator == "AND" else _any_of(children)


def _all_of(children: list[Predicate]) -> Predicate:
    # unrolled for the usual two or three children: no loop and no generator per record
    if len(children) == 1:
        return children[0]
    if len(children) == 2:
        a, b = children
        return lambda r: a(r) and b(r)
    if len(children) == 3:
        a, b, c = children
        return lambda r: a(r) and b(r) and c(r)
    tests = tuple(children)

    def every(r: Record) -> bool:
        for test in tests:  # noqa: SIM110 (all() over a generator costs a generator per record)
            if not test(r):
                return False
        return True

    return every


def _any_of(children: list[Predicate]) -> Predicate:
    if len(children) == 1:
        return children[0]
    if len(children) == 2:
        a, b = children
        return lambda r: a(r) or b(r)
    if len(children) == 3:
        a, b, c = children
        return lambda r: a(r) or b(r) or c(r)
    tests = tuple(children)

    def some(r: Record) -> bool:
        for test in tests:  # noqa: SIM110 (any() over a generator costs a generator per record)
            if test(r):
                return True
        return False

    return some


def _leaf(rule: Rule) -> Predicate:
    assert rule.column is not None
    get, key = keyed_getter(rule.column)
    test = _value_test(rule)
    return lambda r: test(get(r, key))


_is_none: ValueTest = partial(operator.is_, None)
_is_not_none: ValueTest = partial(operator.is_not, None)


def _value_test(rule: Rule) -> ValueTest:
    """The leaf's test of one value (the value at its column; None when missing)."""
    assert rule.operator is not None
    op, v = rule.operator, rule.value
    if op == "is_null":
        return _is_none
    if op == "is_not_null":
        return _is_not_none
    if op in ("==", "!=") and isinstance(v, list):
        op = "in" if op == "==" else "not_in"
    if op in ("in", "not_in"):
        slow = _membership(op == "not_in", v)
        members = _Members(v)
        if members.real_numbers or not members.strings:
            return slow  # a string may still equal a number, or no member is a string: no fast path for strings
        return _is_in(frozenset(members.strings), slow, negate=op == "not_in")
    if op in _OPS:
        slow = _comparison(op, v)
        if isinstance(v, bool):
            fast_types: frozenset[type] = frozenset({bool})
        elif _is_number(v):
            fast_types = frozenset({int, float})
        elif isinstance(v, str):
            fast_types = frozenset({str})
        else:
            return slow
        return _COMPARES[op](v, fast_types, slow)
    if op == "matches":
        pattern = re.compile(v)
        return _searches(pattern.search, _regex(pattern))
    return _text_test(op, str(v).casefold(), _text(op, v))


# One closure per operator, so the fast path compares inline instead of calling `operator.gt` per value.
# `.__class__ in fast` (a set of exact types), not isinstance: a bool must not take the int fast path.
CompareTest = Callable[[Any, frozenset[type], ValueTest], ValueTest]
_COMPARES: dict[str, CompareTest] = {
    "==": lambda v, fast, slow: lambda x: (x == v) if x.__class__ in fast else slow(x),
    "!=": lambda v, fast, slow: lambda x: (x != v) if x.__class__ in fast else slow(x),
    ">": lambda v, fast, slow: lambda x: (x > v) if x.__class__ in fast else slow(x),
    "<": lambda v, fast, slow: lambda x: (x < v) if x.__class__ in fast else slow(x),
    ">=": lambda v, fast, slow: lambda x: (x >= v) if x.__class__ in fast else slow(x),
    "<=": lambda v, fast, slow: lambda x: (x <= v) if x.__class__ in fast else slow(x),
}


def _is_in(strings: frozenset[str], slow: ValueTest, *, negate: bool) -> ValueTest:
    if negate:
        return lambda x: (x not in strings) if x.__class__ is str else slow(x)
    return lambda x: (x in strings) if x.__class__ is str else slow(x)


def _searches(search: Callable[[str], re.Match[str] | None], slow: ValueTest) -> ValueTest:
    return lambda x: (search(x) is not None) if x.__class__ is str else slow(x)


_TEXT_TESTS: dict[str, Callable[[str, str], bool]] = {
    "contains": str.__contains__,
    "starts_with": str.startswith,
    "ends_with": str.endswith,
}


def _text_test(op: str, needle: str, slow: ValueTest) -> ValueTest:
    if op == "not_contains":
        return lambda x: (needle not in x.casefold()) if x.__class__ is str else slow(x)
    found = _TEXT_TESTS[op]
    return lambda x: found(x.casefold(), needle) if x.__class__ is str else slow(x)


# -- selections over columns ---------------------------------------------------------------------------------
# Over a columnar batch a rule selects row indexes. A leaf tests the values of its column at the rows still in
# question (every row, or what an enclosing AND kept so far: AND narrows as it goes, like `and` on a record),
# with its value test mapped over them, or with one C-level operation over the whole column when the batch
# says every value has a type the leaf's fast path handles (`Columns.kinds`).
Selection = list[int]
Selector = Callable[[Columns, "Selection | None"], Selection]
WholeTest = Callable[[Sequence[Any]], Iterable[Any]]
_KNOWN_KINDS = frozenset({int, float, bool, str})


def _selector(rule: Rule) -> Selector:
    if rule.logical_operator is None:
        return _leaf_selector(rule)
    assert rule.rules is not None
    children = [_selector(r) for r in rule.rules]
    if rule.logical_operator == "NOT":
        (inner,) = children
        return lambda batch, rows: _without(batch, rows, inner(batch, rows))
    if rule.logical_operator == "AND":

        def every(batch: Columns, rows: Selection | None) -> Selection:
            for child in children:
                rows = child(batch, rows)
                if not rows:
                    return []
            return rows if rows is not None else list(range(len(batch)))

        return every

    def some(batch: Columns, rows: Selection | None) -> Selection:
        chosen: Selection = []
        for child in children:
            got = child(batch, rows)
            if got:
                chosen.extend(got)
                rows = _without(batch, rows, got)
                if not rows:
                    break
        return sorted(chosen)  # ascending runs: a linear merge

    return some


def _without(batch: Columns, rows: Selection | None, drop: Selection) -> Selection:
    """`rows` (all rows when None) minus `drop`, in order."""
    gone = set(drop)
    return [i for i in (range(len(batch)) if rows is None else rows) if i not in gone]


def _leaf_selector(rule: Rule) -> Selector:
    assert rule.column is not None
    name = rule.column
    test = _value_test(rule)
    kinds, whole = _whole_test(rule)

    def select(batch: Columns, rows: Selection | None) -> Selection:
        column = batch.column(name)
        values = column if rows is None else pick(rows, column)
        results = whole(values) if whole is not None and batch.kind(name) in kinds else map(test, values)
        return list(compress(range(len(column)) if rows is None else rows, results))

    return select


def _whole_test(rule: Rule) -> tuple[frozenset[type], WholeTest | None]:
    """The leaf as one C-level operation over values all of one kind: (the kinds it holds for, the test)."""
    assert rule.operator is not None
    op, v = rule.operator, rule.value
    if op == "is_null":
        return _KNOWN_KINDS, lambda values: repeat(False, len(values))
    if op == "is_not_null":
        return _KNOWN_KINDS, lambda values: repeat(True, len(values))
    if op in ("==", "!=") and isinstance(v, list):
        op = "in" if op == "==" else "not_in"
    if op in ("in", "not_in"):
        members = _Members(v)
        if members.real_numbers or not members.strings:
            return frozenset(), None
        has = frozenset(members.strings).__contains__
        if op == "in":
            return frozenset({str}), lambda values: map(has, values)
        return frozenset({str}), lambda values: map(operator.not_, map(has, values))
    if op in _OPS:
        compare = _OPS[op]
        if isinstance(v, bool):
            kinds: frozenset[type] = frozenset({bool})
        elif _is_number(v):
            kinds = frozenset({int, float})
        elif isinstance(v, str):
            kinds = frozenset({str})
        else:
            return frozenset(), None
        return kinds, lambda values: map(compare, values, repeat(v))
    if op == "matches":
        search = re.compile(v).search
        return frozenset({str}), lambda values: map(search, values)
    needle = str(v).casefold()
    if op == "not_contains":
        return frozenset({str}), lambda values: map(
            operator.not_, map(str.__contains__, map(str.casefold, values), repeat(needle))
        )
    found = _TEXT_TESTS[op]
    return frozenset({str}), lambda values: map(found, map(str.casefold, values), repeat(needle))


def _columns_of(rule: Rule) -> set[str]:
    if rule.logical_operator is None:
        assert rule.column is not None
        return {rule.column}
    return set().union(*(_columns_of(r) for r in rule.rules or ()))


def compile_selection(rule: Rule) -> Callable[[Columns], Selection | None]:
    """One function `select(columns)`: the indexes of the records of a columnar batch that pass `rule`, in order,
    or None when the batch lacks a column the rule names (a dotted path into nested values, a missing field):
    the records path (`compile_rule`) then decides, with the same semantics."""
    needed = _columns_of(rule)
    selector = _selector(rule)

    def select(batch: Columns) -> Selection | None:
        if not all(batch.has(name) for name in needed):
            return None
        return selector(batch, None)

    return select


# -- routing --------------------------------------------------------------------------------------------------
def compile_rule(rule: Rule) -> Router:
    """One function `route(batch) -> (passed, failed)` testing every record of a batch against `rule`.

    Records keep their batch order in both lists. A two-child AND/OR at the root is tested inline in the loop,
    which saves one call per record for the most common rule shape.
    """
    if rule.logical_operator in ("AND", "OR") and rule.rules is not None and len(rule.rules) == 2:
        a, b = (_predicate(r) for r in rule.rules)
        return _route_all2(a, b) if rule.logical_operator == "AND" else _route_any2(a, b)
    return _route(_predicate(rule))


def _route(test: Predicate) -> Router:
    def route(batch: Batch) -> tuple[Batch, Batch]:
        passed: Batch = []
        failed: Batch = []
        keep = passed.append
        drop = failed.append
        for r in batch:
            if test(r):
                keep(r)
            else:
                drop(r)
        return passed, failed

    return route


def _route_all2(a: Predicate, b: Predicate) -> Router:
    def route(batch: Batch) -> tuple[Batch, Batch]:
        passed: Batch = []
        failed: Batch = []
        keep = passed.append
        drop = failed.append
        for r in batch:
            if a(r) and b(r):
                keep(r)
            else:
                drop(r)
        return passed, failed

    return route


def _route_any2(a: Predicate, b: Predicate) -> Router:
    def route(batch: Batch) -> tuple[Batch, Batch]:
        passed: Batch = []
        failed: Batch = []
        keep = passed.append
        drop = failed.append
        for r in batch:
            if a(r) or b(r):
                keep(r)
            else:
                drop(r)
        return passed, failed

    return route
