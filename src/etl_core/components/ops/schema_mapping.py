"""`schema_mapping`: builds output records from named source fields, and joins inputs by key.

Ports are the component's `extra_input_ports` and `extra_output_ports`. Options, checks and derived schemas are
in `_mapping_options`, the run in `_mapping`, one join step in `_join`, spilling in `_spill`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from etl_core.components.base import ComponentContext
from etl_core.components.ops._mapping import MappingRun
from etl_core.components.ops._mapping_options import (
    SchemaMappingOptions,
    check_mapping_ports,
    derive_mapping_schemas,
)
from etl_core.components.registry import register


def _check(options: Any, inputs: Sequence[str], outputs: Sequence[str]) -> list[tuple[str, str]]:
    return check_mapping_ports(options, inputs, outputs)


@register(
    "schema_mapping",
    options=SchemaMappingOptions,
    inputs=(),
    outputs=(),
    extra_inputs=True,
    extra_outputs=True,
    derive_schemas=derive_mapping_schemas,
    check_ports=_check,
    icon="shuffle",
    summary="Maps fields of its inputs to the fields of its outputs and joins inputs by key "
    "(inner, left, right, outer; the right side spills to disk past a memory budget).",
    example={
        "name": "orders_with_customer",
        "comp_type": "schema_mapping",
        "extra_input_ports": ["orders", "customers"],
        "extra_output_ports": ["out"],
        "in_port_schemas": {
            "orders": {"fields": [{"name": "id", "data_type": "integer"}, {"name": "cust", "data_type": "integer"}]},
            "customers": {
                "fields": [{"name": "cust", "data_type": "integer"}, {"name": "name", "data_type": "string"}]
            },
        },
        "join_plan": {
            "steps": [
                {
                    "left_port": "orders",
                    "right_port": "customers",
                    "left_on": "cust",
                    "right_on": "cust",
                    "how": "left",
                    "output_port": "out",
                }
            ]
        },
        "rules_by_dest": {
            "out": {
                "order_id": {"src_port": "orders", "src_path": "id"},
                "customer": {"src_port": "customers", "src_path": "name"},
            }
        },
    },
)
async def run_schema_mapping(ctx: ComponentContext[SchemaMappingOptions]) -> None:
    await MappingRun(ctx).run()
