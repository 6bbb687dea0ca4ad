"""engine.md §2: a graph that splits and joins again does not deadlock, even on 1-slot edges."""

from __future__ import annotations

from typing import Any

import pytest

from etl_core.testing import fields, run_job

ROWS = 1_000_000
RANGE = fields(id="integer", group="integer", label="string")
GROUPS = fields(group="integer", n="integer")


def diamond(rows: int, *, budget: int | None = None) -> dict[str, Any]:
    """test_range -> split -> (all rows | count per group) -> join on group -> count of joined rows."""
    join: dict[str, Any] = {
        "name": "join",
        "comp_type": "schema_mapping",
        "extra_input_ports": ["rows", "groups"],
        "extra_output_ports": ["J"],
        "in_port_schemas": {"rows": RANGE, "groups": GROUPS},
        "join_plan": {
            "steps": [
                {
                    "left_port": "rows",
                    "right_port": "groups",
                    "left_on": "group",
                    "right_on": "group",
                    "how": "inner",
                    "output_port": "J",
                }
            ]
        },
        "routes": {"J": ["total"]},
    }
    if budget is not None:
        join["join_memory_bytes"] = budget
    return {
        "name": "diamond",
        "strategy_type": "bulk",
        "components": [
            {"name": "range", "comp_type": "test_range", "count": rows, "modulo": 10, "routes": {"out": ["split"]}},
            {
                "name": "split",
                "comp_type": "split",
                "extra_output_ports": ["a", "b"],
                "in_port_schemas": {"in": RANGE},
                "routes": {
                    "a": [{"to": "join", "in_port": "rows"}],
                    "b": [{"to": "per_group", "in_port": "in"}],
                },
            },
            {
                "name": "per_group",
                "comp_type": "aggregation",
                "group_by": ["group"],
                "aggregations": [{"src": "*", "op": "count", "dest": "n"}],
                "in_port_schemas": {"in": RANGE},
                "routes": {"out": [{"to": "join", "in_port": "groups"}]},
            },
            join,
            {
                "name": "total",
                "comp_type": "aggregation",
                "aggregations": [
                    {"src": "*", "op": "count", "dest": "rows"},
                    {"src": "n", "op": "sum", "dest": "n_total"},
                    {"src": "id", "op": "max", "dest": "last_id"},
                ],
                "in_port_schemas": {"in": fields(group="integer", id="integer", label="string", n="integer")},
                "routes": {"out": ["sink"]},
            },
            {"name": "sink", "comp_type": "test_sink"},
        ],
    }


@pytest.mark.timeout(60)
async def test_diamond_of_a_million_rows_completes_on_one_slot_edges() -> None:
    run = await run_job(diamond(ROWS), batch_size=1000, edge_capacity=1)
    assert run.status == "SUCCESS", run.state.error
    # every row meets its group's count (ROWS / 10 per group)
    assert run.records("sink") == [{"rows": ROWS, "n_total": ROWS * (ROWS // 10), "last_id": ROWS - 1}]
    assert run.metrics("join").received == {"rows": ROWS, "groups": 10}


@pytest.mark.timeout(30)
async def test_diamond_completes_when_the_buffered_side_spills_to_disk() -> None:
    rows = 20_000
    run = await run_job(diamond(rows, budget=50_000), batch_size=100, edge_capacity=1)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"rows": rows, "n_total": rows * (rows // 10), "last_id": rows - 1}]
