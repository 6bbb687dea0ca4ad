"""`merge`: any number of inputs into one `out`, batches interleaved as they arrive."""

from __future__ import annotations

import anyio

from etl_core.components.base import ComponentContext, ComponentOptions, Inbox, Outbox
from etl_core.components.registry import passthrough_schemas, register


class MergeOptions(ComponentOptions):
    """`merge` takes no options: its inputs are `in` (any number of edges) and its extra input ports."""


@register(
    "merge",
    options=MergeOptions,
    inputs=("in",),
    outputs=("out",),
    extra_inputs=True,
    derive_schemas=passthrough_schemas,
    columns="pass",
    icon="merge",
    summary="Forwards the records of every input to `out`, interleaving batches as they arrive.",
    example={
        "name": "all_orders",
        "comp_type": "merge",
        "extra_input_ports": ["web", "shop"],
        "in_port_schemas": {
            "web": {"fields": [{"name": "id", "data_type": "integer"}]},
            "shop": {"fields": [{"name": "id", "data_type": "integer"}]},
        },
    },
)
async def run_merge(ctx: ComponentContext[MergeOptions]) -> None:
    # one sender at a time: an out port is not meant for concurrent `send` calls
    lock = anyio.Lock()

    async def forward(inbox: Inbox, out: Outbox) -> None:
        async with inbox:
            async for batch in inbox.batches():
                async with lock:
                    await out.send(batch)

    async with ctx.output("out") as out, anyio.create_task_group() as tg:
        for inbox in ctx.inputs.values():
            tg.start_soon(forward, inbox, out)
