"""The filter's rule tree: its config model and its compilation into one fast routing function.

A rule is a leaf `{"column", "operator", "value"}` or a node `{"logical_operator": AND|OR|NOT, "rules": [...]}`.
Semantics (job-config.md §4, filter):
- a null or missing value makes every leaf false except `is_null` (so `!=` and `not_in` are false on null too);
- numbers compare numerically, also against a numeric string (`"10" > 9`); two strings compare as text;
- values that cannot be compared (a non-numeric string against a number, a list against a string, ...) make
  the leaf false and never raise;
- `==` / `!=` with a list value mean `in` / `not_in`; `contains`, `not_contains`, `starts_with`, `ends_with`
  ignore case; `matches` is `re.search`, case-sensitive unless the pattern says `(?i)`.

`compile_rule` turns the tree into the source of one function `route(batch) -> (passed, failed)` whose loop
tests each record with one inline expression: the common case (the value already has the type the rule
expects) costs a type check and one comparison, with no Python call per leaf; every other case goes to a small
"slow" function per leaf that applies the rules above. The generated source contains only identifiers we
create; column names, values and helpers are bound as names in its namespace, never spliced into the text.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from etl_core.components.base import Batch
from etl_core.components.ops._codegen import Namespace, define
from etl_core.components.ops._paths import getter, is_plain
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
        except TypeError:  # e.g. naive vs aware datetimes
            return False

    return slow


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
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
class _Compiler:
    """Builds the source of the routing function; every name it uses is bound in `self.ns`."""

    def __init__(self) -> None:
        self.ns = Namespace()

    def bind(self, prefix: str, obj: Any) -> str:
        return self.ns.bind(obj, prefix)

    def expr(self, rule: Rule) -> str:
        if rule.logical_operator == "NOT":
            assert rule.rules is not None
            return f"(not {self.expr(rule.rules[0])})"
        if rule.logical_operator is not None:
            assert rule.rules is not None
            joiner = " and " if rule.logical_operator == "AND" else " or "
            return "(" + joiner.join(self.expr(r) for r in rule.rules) + ")"
        return self.leaf(rule)

    def fetch(self, column: str) -> str:
        if is_plain(column):
            return f"r.get({self.bind('c', column)})"
        return f"{self.bind('g', getter(column))}(r)"

    def leaf(self, rule: Rule) -> str:
        assert rule.column is not None
        assert rule.operator is not None
        op, v = rule.operator, rule.value
        fetch = self.fetch(rule.column)
        if op == "is_null":
            return f"({fetch} is None)"
        if op == "is_not_null":
            return f"({fetch} is not None)"
        if op in ("==", "!=") and isinstance(v, list):
            op = "in" if op == "==" else "not_in"
        x = self.bind("x", None)
        if op in ("in", "not_in"):
            slow = self.bind("s", _membership(op == "not_in", v))
            members = _Members(v)
            if members.real_numbers or not members.strings:
                # a string may still equal a number, or no member is a string: no fast path for strings
                return f"{slow}({fetch})"
            strings = self.bind("m", frozenset(members.strings))
            test = "in" if op == "in" else "not in"
            return f"(({x} {test} {strings}) if ({x} := {fetch}).__class__ is str else {slow}({x}))"
        if op in _OPS:
            slow = self.bind("s", _comparison(op, v))
            value = self.bind("v", v)
            if isinstance(v, bool):
                fast_types = self.bind("t", (bool,))
            elif _is_number(v):
                fast_types = self.bind("t", (int, float))
            elif isinstance(v, str):
                fast_types = self.bind("t", (str,))
            else:
                return f"{slow}({fetch})"
            return f"(({x} {op} {value}) if ({x} := {fetch}).__class__ in {fast_types} else {slow}({x}))"
        if op == "matches":
            pattern = re.compile(v)
            slow = self.bind("s", _regex(pattern))
            search = self.bind("p", pattern.search)
            return f"(({search}({x}) is not None) if ({x} := {fetch}).__class__ is str else {slow}({x}))"
        slow = self.bind("s", _text(op, v))
        needle = self.bind("n", str(v).casefold())
        fast = {
            "contains": f"{needle} in {x}.casefold()",
            "not_contains": f"{needle} not in {x}.casefold()",
            "starts_with": f"{x}.casefold().startswith({needle})",
            "ends_with": f"{x}.casefold().endswith({needle})",
        }[op]
        return f"(({fast}) if ({x} := {fetch}).__class__ is str else {slow}({x}))"


_TEMPLATE = """
def route(batch):
    passed = []
    failed = []
    keep = passed.append
    drop = failed.append
    for r in batch:
        if {expr}:
            keep(r)
        else:
            drop(r)
    return passed, failed
"""


def compile_rule(rule: Rule) -> Router:
    """One function `route(batch) -> (passed, failed)` testing every record of a batch against `rule`."""
    compiler = _Compiler()
    source = _TEMPLATE.format(expr=compiler.expr(rule))
    router: Router = define(source, compiler.ns, "route")
    return router
