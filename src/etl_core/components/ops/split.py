"""`split`: every record of `in` to every output port."""

from __future__ import annotations

from contextlib import AsyncExitStack

from etl_core.components.base import ComponentContext, ComponentOptions
from etl_core.components.registry import ERROR_PORT, passthrough_schemas, register


class SplitOptions(ComponentOptions):
    """`split` takes no options: its outputs are `out` (any number of edges) and its extra output ports."""


@register(
    "split",
    options=SplitOptions,
    inputs=("in",),
    outputs=("out",),
    extra_outputs=True,
    derive_schemas=passthrough_schemas,
    columns="pass",
    icon="split",
    summary="Sends every record of `in` to each of its output ports.",
    example={
        "name": "copy",
        "comp_type": "split",
        "extra_output_ports": ["archive", "report"],
        "in_port_schemas": {"in": {"fields": [{"name": "id", "data_type": "integer"}]}},
    },
)
async def run_split(ctx: ComponentContext[SplitOptions]) -> None:
    async with AsyncExitStack() as stack:
        inbox = await stack.enter_async_context(ctx.input("in"))
        ports = [await stack.enter_async_context(port) for name, port in ctx.outputs.items() if name != ERROR_PORT]
        # records go to every port with an edge; a port without one is no loss (the others deliver them), so
        # only a split with no edge at all counts its records as dismissed
        outs = [port for port in ports if port.connected] or ports[:1]
        async for batch in inbox.batches():
            # records are never mutated downstream (component contract), so every port gets the same batch
            for out in outs:
                await out.send(batch)
