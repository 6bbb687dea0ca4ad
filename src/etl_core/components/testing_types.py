"""Test-only component types (hidden and refused when `ETL_COMPONENT_MODE=production`).

`test_source` emits the records given in its options; `test_sink` collects what reaches it into
`ctx.resources["collected"][name]` (fresh each attempt). Both can be slowed down or made to fail on purpose.
"""

from __future__ import annotations

from typing import Any

import anyio
from pydantic import Field

from etl_core.components.base import ComponentContext, ComponentOptions
from etl_core.components.registry import register
from etl_core.errors import ComponentError


class TestSourceOptions(ComponentOptions):
    """Options of `test_source`."""

    records: list[dict[str, Any]] = Field(default_factory=list, description="the records to emit, in order")
    batch_size: int | None = Field(None, ge=1, description="records per batch (default: the engine's)")
    repeat: int = Field(1, ge=1, description="emit the list this many times")
    delay_s: float = Field(0.0, ge=0, description="pause before each batch")
    fail_after: int | None = Field(None, ge=0, description="raise after emitting this many records")
    fail_attempts: int = Field(0, ge=0, description="fail (after fail_after records) only on the first N attempts")


class TestSinkOptions(ComponentOptions):
    """Options of `test_sink`."""

    delay_s: float = Field(0.0, ge=0, description="pause after each batch")
    fail_after: int | None = Field(None, ge=0, description="raise once this many records have arrived")


def _should_fail(opts: TestSourceOptions | TestSinkOptions, attempt: int) -> bool:
    limit = getattr(opts, "fail_attempts", 0)
    return opts.fail_after is not None and (limit == 0 or attempt <= limit)


@register(
    "test_source",
    options=TestSourceOptions,
    inputs=(),
    outputs=("out",),
    category="test",
    infers_output=True,
    test_only=True,
    summary="Emits the records listed in its options (tests and demos).",
    example={"name": "numbers", "comp_type": "test_source", "records": [{"n": 1}, {"n": 2}]},
)
async def test_source(ctx: ComponentContext[TestSourceOptions]) -> None:
    opts = ctx.options
    size = opts.batch_size or ctx.batch_size
    fail = _should_fail(opts, ctx.attempt)
    emitted = 0
    async with ctx.output("out") as out:
        for _ in range(opts.repeat):
            for start in range(0, len(opts.records), size):
                if opts.delay_s:
                    await anyio.sleep(opts.delay_s)
                batch = [dict(r) for r in opts.records[start : start + size]]
                if fail and opts.fail_after is not None and emitted + len(batch) > opts.fail_after:
                    batch = batch[: opts.fail_after - emitted]
                    await out.send(batch)
                    raise ComponentError(f"failing on purpose after {opts.fail_after} records", stage="read")
                await out.send(batch)
                emitted += len(batch)
        if fail:
            raise ComponentError(f"failing on purpose after {emitted} records", stage="read")


@register(
    "test_sink",
    options=TestSinkOptions,
    inputs=("in",),
    outputs=(),
    category="test",
    accepts_any_input=True,
    test_only=True,
    summary="Collects the records it receives in memory (tests and demos).",
    example={"name": "collect", "comp_type": "test_sink"},
)
async def test_sink(ctx: ComponentContext[TestSinkOptions]) -> None:
    opts = ctx.options
    collected: list[dict[str, Any]] = []
    ctx.resources.setdefault("collected", {})[ctx.name] = collected
    async with ctx.input("in") as inbox:
        async for batch in inbox:
            collected.extend(batch)
            if opts.fail_after is not None and len(collected) >= opts.fail_after:
                raise ComponentError(f"failing on purpose after {len(collected)} records", stage="write")
            if opts.delay_s:
                await anyio.sleep(opts.delay_s)


class TestRangeOptions(ComponentOptions):
    """Options of `test_range`."""

    count: int = Field(ge=0, description="how many records to emit")
    modulo: int = Field(10, ge=1, description="`group` cycles through 0..modulo-1")
    batch_size: int | None = Field(None, ge=1, description="records per batch (default: the engine's)")


@register(
    "test_range",
    options=TestRangeOptions,
    inputs=(),
    outputs=("out",),
    category="test",
    infers_output=True,
    test_only=True,
    summary="Emits `count` generated records {id, group, label} without holding them in memory (tests, demos).",
    example={"name": "numbers", "comp_type": "test_range", "count": 1000, "modulo": 7},
)
async def test_range(ctx: ComponentContext[TestRangeOptions]) -> None:
    opts = ctx.options
    size = opts.batch_size or ctx.batch_size
    mod = opts.modulo
    async with ctx.output("out") as out:
        for start in range(0, opts.count, size):
            stop = min(start + size, opts.count)
            await out.send([{"id": i, "group": i % mod, "label": f"row {i}"} for i in range(start, stop)])
