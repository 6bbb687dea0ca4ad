"""`filter`: routes each record to `pass` or `fail` by a rule tree (semantics in `_rules`)."""

from __future__ import annotations

from pydantic import Field

from etl_core.components.base import ComponentContext, ComponentOptions
from etl_core.components.columns import Columns, as_records
from etl_core.components.ops._rules import Rule, compile_rule, compile_selection
from etl_core.components.registry import passthrough_schemas, register


class FilterOptions(ComponentOptions):
    """Options of `filter`."""

    rule: Rule = Field(
        description="the condition: a leaf {column, operator, value} or a node {logical_operator, rules}"
    )


@register(
    "filter",
    options=FilterOptions,
    inputs=("in",),
    outputs=("pass", "fail"),
    derive_schemas=passthrough_schemas,
    columns="pass",
    icon="filter",
    summary="Routes records matching a rule tree to `pass` and the others to `fail`.",
    example={
        "name": "keep_big",
        "comp_type": "filter",
        "rule": {
            "logical_operator": "AND",
            "rules": [
                {"column": "amount", "operator": ">", "value": 500},
                {"column": "city", "operator": "in", "value": ["Berlin", "Paris"]},
            ],
        },
        "in_port_schemas": {
            "in": {"fields": [{"name": "amount", "data_type": "float"}, {"name": "city", "data_type": "string"}]}
        },
    },
)
async def run_filter(ctx: ComponentContext[FilterOptions]) -> None:
    route = compile_rule(ctx.options.rule)
    select = compile_selection(ctx.options.rule)
    async with ctx.input("in") as inbox, ctx.output("pass") as passed, ctx.output("fail") as failed:
        async for batch in inbox.batches():
            rows = select(batch) if isinstance(batch, Columns) else None
            if rows is None:
                keep, drop = route(as_records(batch))
                # an unconnected port counts what it is given as dismissed
                await passed.send(keep)
                await failed.send(drop)
                continue
            assert isinstance(batch, Columns)
            everything = len(rows) == len(batch)
            await passed.send(batch if everything else batch.take(rows))
            if failed.connected:
                if not everything:
                    gone = set(rows)
                    await failed.send(batch.take([i for i in range(len(batch)) if i not in gone]))
            else:
                ctx.metrics.dismissed += len(batch) - len(rows)
