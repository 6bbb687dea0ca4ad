"""The engine foundation's acceptance case: a broken row goes to a dead-letter file, the good rows go on."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from etl_core.testing import run_job

ORDERS = {
    "fields": [
        {"name": "id", "data_type": "integer"},
        {"name": "customer", "data_type": "string"},
        {"name": "amount", "data_type": "float"},
    ]
}


async def test_a_broken_typed_row_lands_in_the_dead_letter_file_and_the_good_rows_in_the_output(
    data_dir: Path,
) -> None:
    (data_dir / "orders.csv").write_text(
        'id,customer,amount\n1,Ada,120.50\n2,"Hopper, Grace",not-a-number\n3,Alan,75\n'
    )
    job = {
        "name": "orders with dead letters",
        "strategy_type": "bulk",
        "components": [
            {
                "name": "orders",
                "comp_type": "read_csv",
                "filepath": "orders.csv",
                "out_port_schemas": {"out": ORDERS},
                "routes": {"out": ["clean"], "error": [{"to": "rejected", "in_port": "in"}]},
            },
            {"name": "clean", "comp_type": "write_csv", "filepath": "out/clean.csv", "in_port_schemas": {"in": ORDERS}},
            {"name": "rejected", "comp_type": "write_csv", "filepath": "out/rejected.csv"},
        ],
    }

    run = await run_job(job, data_dir=data_dir)

    assert run.status == "SUCCESS"
    assert (data_dir / "out" / "clean.csv").read_text() == "id,customer,amount\n1,Ada,120.5\n3,Alan,75.0\n"
    with open(data_dir / "out" / "rejected.csv", newline="", encoding="utf-8") as fh:
        dead = list(csv.DictReader(fh))
    assert len(dead) == 1
    assert dead[0]["error"] == "field 'amount': 'not-a-number' is not a float (float)"
    assert dead[0]["component"] == "orders"
    assert dead[0]["line"] == "3"
    assert json.loads(dead[0]["record"]) == {"id": "2", "customer": "Hopper, Grace", "amount": "not-a-number"}
    assert run.metrics("orders").errors == 1
    assert run.metrics("orders").sent == {"out": 2, "error": 1}
