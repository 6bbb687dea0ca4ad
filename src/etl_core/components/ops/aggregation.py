"""`aggregation`: one record per group of `group_by` values, with streaming accumulators.

Per batch, each source column is read once, the batch's rows are bucketed by group key, and every accumulator
takes its group's values as one list (one C-level pass per batch, group and aggregation). Memory grows with the
number of groups; only median, nunique and list keep values. Groups come out ordered by their key values
(ascending, null last; mixed kinds in a fixed order of kinds: booleans, numbers, text, dates, others).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any, Literal

from pydantic import Field, model_validator

from etl_core.components.base import AnyBatch, Batch, ComponentContext, ComponentOptions, Record
from etl_core.components.columns import Columns
from etl_core.components.ops._accumulators import ACCUMULATORS, Accumulator, CountRows, freeze, sort_key
from etl_core.components.ops._paths import column, field_at, schema_from_paths, setter
from etl_core.components.ops._typing import OutputTyper
from etl_core.components.registry import register
from etl_core.components.support.values import is_null_text
from etl_core.config.schema import FieldDef, Schema, StrictModel

AggOp = Literal["count", "sum", "min", "max", "mean", "median", "std", "nunique", "first", "last", "list"]
_NUMERIC_TYPES = frozenset({int, float, bool, type(None)})


class AggregationSpec(StrictModel):
    """One aggregation: `op` over the values of `src`, written to `dest`."""

    src: str = Field(min_length=1, description="the field to aggregate (dotted for nested); '*' with count = rows")
    op: AggOp = Field(description="the aggregation")
    dest: str = Field(min_length=1, description="the output field (dotted for nested)")

    @model_validator(mode="after")
    def _star_only_counts(self) -> AggregationSpec:
        if self.src == "*" and self.op != "count":
            raise ValueError(f"src '*' (all rows) only works with op 'count', not {self.op!r}")
        return self


class AggregationOptions(ComponentOptions):
    """Options of `aggregation`."""

    group_by: list[str] = Field(default_factory=list, description="the grouping fields; empty = one global group")
    aggregations: list[AggregationSpec] = Field(default_factory=list, description="what to compute per group")

    @model_validator(mode="after")
    def _names_distinct(self) -> AggregationOptions:
        names = [*self.group_by, *(a.dest for a in self.aggregations)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"output field(s) {', '.join(map(repr, dupes))} appear more than once")
        if any(not part for n in names for part in n.split(".")) or any("[" in n for n in names):
            raise ValueError("group_by and dest names must be dotted paths without empty parts or list indexes")
        placeholder = FieldDef(data_type="string")
        if schema_from_paths((n, placeholder) for n in names) is None:
            raise ValueError("an output field and a nested field under it share a name")
        return self


def derive_aggregation_schema(
    options: AggregationOptions, in_schemas: Mapping[str, Schema | None], _out_ports: Sequence[str]
) -> dict[str, Schema]:
    """Group columns keep their input types; counts are integers, mean/median/std floats, list an array,
    sum/min/max/first/last the input type (a sum of booleans is an integer)."""
    source = in_schemas.get("in")
    items: list[tuple[str, FieldDef]] = []
    for name in options.group_by:
        f = field_at(source, name)
        if f is None:
            return {}
        items.append((name, f.model_copy(update={"nullable": True})))
    for spec in options.aggregations:
        f = _result_field(spec, source)
        if f is None:
            return {}
        items.append((spec.dest, f))
    schema = schema_from_paths(items)
    return {"out": schema} if schema is not None else {}


def check_aggregation_fields(
    options: AggregationOptions, in_schemas: Mapping[str, Schema | None]
) -> list[tuple[str, str]]:
    """Group and source fields the input schema does not have, each at its option path."""
    source = in_schemas.get("in")
    if source is None:
        return []
    known = ", ".join(source.names())
    problems = [
        (f"group_by[{i}]", f"field {name!r} is not in the input schema ({known})")
        for i, name in enumerate(options.group_by)
        if field_at(source, name) is None
    ]
    problems += [
        (f"aggregations[{i}].src", f"field {spec.src!r} is not in the input schema ({known})")
        for i, spec in enumerate(options.aggregations)
        if spec.src != "*" and field_at(source, spec.src) is None
    ]
    return problems


def _result_field(spec: AggregationSpec, source: Schema | None) -> FieldDef | None:
    if spec.op in ("count", "nunique"):
        return FieldDef(data_type="integer", nullable=False)
    if spec.op in ("mean", "median", "std"):
        return FieldDef(data_type="float", nullable=True)
    f = field_at(source, spec.src)
    if f is None:
        return None
    if spec.op == "list":
        return FieldDef(data_type="array", nullable=False, item=f.model_copy(update={"name": "item"}))
    if spec.op == "sum" and f.data_type == "boolean":
        return FieldDef(data_type="integer", nullable=True)
    if spec.op == "sum" and f.data_type not in ("integer", "float"):
        return FieldDef(data_type="float", nullable=True)  # numeric text sums to a number
    return f.model_copy(update={"nullable": True})


class _Group:
    __slots__ = ("accs", "key")

    def __init__(self, key: tuple[Any, ...], accs: list[Accumulator]) -> None:
        self.key = key
        self.accs = accs


class Aggregator:
    """The state of one aggregation run: groups and their accumulators."""

    def __init__(self, options: AggregationOptions) -> None:
        self.group_by = options.group_by
        self.specs = options.aggregations
        self.classes: list[type[Accumulator]] = [CountRows if s.src == "*" else ACCUMULATORS[s.op] for s in self.specs]
        self.sources = sorted({s.src for s in self.specs if s.src != "*"})
        self.columns = {src: column(src) for src in self.sources}
        self.numeric = sorted({s.src for s, cls in zip(self.specs, self.classes, strict=True) if cls.numeric})
        self.key_columns = [column(c) for c in self.group_by]
        self.groups: dict[Any, _Group] = {}

    def add(self, batch: AnyBatch) -> list[tuple[Any, str, int | None]]:
        """Fold one batch (records or columns) in; returns the records that could not be aggregated
        (non-numeric values)."""
        raw = {src: self.columns[src](batch) for src in self.sources}
        # a columnar batch may know that a column holds values of one type only (no nulls): no need to look
        known = {src: _known_kind(batch, src) for src in self.sources}
        nums: dict[str, Sequence[Any]] = {}
        errors: list[tuple[Any, str, int | None]] = []
        bad: set[int] = set()
        for src in self.numeric:
            column = raw[src]
            if known[src] in _NUMERIC_TYPES or _NUMERIC_TYPES.issuperset(map(type, column)):
                nums[src] = column
                continue
            nums[src] = converted = list(column)
            for i, value in enumerate(column):
                number, ok = _as_number(value)
                converted[i] = number
                if not ok and i not in bad:
                    bad.add(i)
                    errors.append((batch[i], f"field {src!r}: {value!r} is not a number", None))
        if bad:
            keep = [i for i in range(len(batch)) if i not in bad]
            batch = batch.take(keep) if isinstance(batch, Columns) else [batch[i] for i in keep]
            raw = {k: [v[i] for i in keep] for k, v in raw.items()}
            nums = {k: [v[i] for i in keep] for k, v in nums.items()}
        if batch:
            self._fold(batch, raw, nums, {src for src, kind in known.items() if kind is None})
        return errors

    def _buckets(self, batch: AnyBatch) -> dict[Any, list[int] | None]:
        """Row indexes by group key; None stands for "every row of the batch"."""
        if not self.key_columns:
            return {(): None}
        if len(self.key_columns) == 1:
            keys: Sequence[Any] = self.key_columns[0](batch)
        else:
            keys = list(zip(*(values(batch) for values in self.key_columns), strict=True))
        buckets: dict[Any, list[int] | None] = {}
        try:
            if keys.count(keys[0]) == len(keys):
                hash(keys[0])
                return {keys[0]: None}
            grouped: defaultdict[Any, list[int]] = defaultdict(list)
            for i, key in enumerate(keys):
                grouped[key].append(i)
            buckets = dict(grouped)
        except TypeError:  # a list or dict as a group value
            buckets = {}
            for i, key in enumerate(keys):
                buckets.setdefault(_FrozenKey(key), []).append(i)  # type: ignore[union-attr]
        return buckets

    def _fold(
        self, batch: AnyBatch, raw: dict[str, Sequence[Any]], nums: dict[str, Sequence[Any]], unknown: set[str]
    ) -> None:
        nulls = {src: src in unknown and None in column for src, column in raw.items()}
        single = len(self.key_columns) == 1
        for key, rows in self._buckets(batch).items():
            group = self.groups.get(key)
            if group is None:
                values = key.value if isinstance(key, _FrozenKey) else key
                group = self.groups[key] = _Group(
                    (values,) if single else tuple(values), [cls() for cls in self.classes]
                )
            picked: dict[tuple[str, bool, bool], Any] = {}
            for spec, acc in zip(self.specs, group.accs, strict=True):
                if spec.src == "*":
                    acc.update(range(len(batch)) if rows is None else rows)
                    continue
                wants = (spec.src, acc.numeric, acc.wants_nulls)
                values = picked.get(wants)
                if values is None:
                    column = (nums if acc.numeric else raw)[spec.src]
                    values = column if rows is None else _pick(column, rows)
                    if not acc.wants_nulls and nulls[spec.src]:
                        values = [v for v in values if v is not None]
                    picked[wants] = values
                acc.update(values)

    def results(self) -> Batch:
        """One record per group, ordered by key (null keys last); without group_by always exactly one record."""
        if not self.key_columns and not self.groups:
            self.groups[()] = _Group((), [cls() for cls in self.classes])
        groups = sorted(self.groups.values(), key=lambda g: tuple(map(sort_key, g.key)))
        put_key: list[Callable[[Record, Any], None]] = [setter(c) for c in self.group_by]
        put_result: list[Callable[[Record, Any], None]] = [setter(s.dest) for s in self.specs]
        out: Batch = []
        for group in groups:
            record: Record = {}
            for put, value in zip(put_key, group.key, strict=True):
                put(record, value)
            for put, acc in zip(put_result, group.accs, strict=True):
                put(record, acc.result())
            out.append(record)
        return out


class _FrozenKey:
    """A group key holding lists or dicts: hashed by a frozen copy, keeping the original for the output."""

    __slots__ = ("frozen", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.frozen = freeze(value)

    def __hash__(self) -> int:
        return hash(self.frozen)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _FrozenKey) and other.frozen == self.frozen


def _known_kind(batch: AnyBatch, src: str) -> type | None:
    return batch.kind(src) if isinstance(batch, Columns) and batch.has(src) else None


def _pick(column: Sequence[Any], rows: list[int]) -> Sequence[Any]:
    if len(rows) == 1:
        return (column[rows[0]],)
    picked: Sequence[Any] = itemgetter(*rows)(column)
    return picked


def _as_number(value: Any) -> tuple[Any, bool]:
    """(number or None, whether the value was acceptable) for a value of a numeric aggregation."""
    if value is None or type(value) in (int, float, bool):
        return value, True
    if isinstance(value, Decimal):
        return float(value), True
    if isinstance(value, str):
        if is_null_text(value):
            return None, True
        text = value.strip()
        try:
            return int(text), True
        except ValueError:
            pass
        try:
            return float(text), True
        except ValueError:
            return None, False
    return None, False


@register(
    "aggregation",
    options=AggregationOptions,
    inputs=("in",),
    outputs=("out",),
    derive_schemas=derive_aggregation_schema,
    check_fields=check_aggregation_fields,
    columns="consume",
    icon="sigma",
    summary="Groups records by fields and computes count, sum, min, max, mean, median, std, nunique, "
    "first, last or list per group.",
    example={
        "name": "per_city",
        "comp_type": "aggregation",
        "group_by": ["city"],
        "aggregations": [
            {"src": "*", "op": "count", "dest": "n"},
            {"src": "amount", "op": "sum", "dest": "total"},
            {"src": "amount", "op": "mean", "dest": "avg"},
        ],
        "in_port_schemas": {
            "in": {"fields": [{"name": "city", "data_type": "string"}, {"name": "amount", "data_type": "float"}]}
        },
    },
)
async def run_aggregation(ctx: ComponentContext[AggregationOptions]) -> None:
    aggregator = Aggregator(ctx.options)
    async with ctx.input("in") as inbox, ctx.output("out") as out:
        async for batch in inbox.batches():
            errors = aggregator.add(batch)
            if errors:
                await ctx.record_errors(errors)
        # one record per group: cheap enough to give every value its port's type, whatever the input held
        typer = OutputTyper(ctx.out_schema("out"))
        records, errors = typer.apply(aggregator.results())
        if errors:
            await ctx.record_errors(errors)
        size = max(1, ctx.batch_size)
        for start in range(0, len(records), size):
            await out.send(records[start : start + size])
