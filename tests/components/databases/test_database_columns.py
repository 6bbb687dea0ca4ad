"""Database readers hand columnar batches to components that take them: a job reading a table into a filter and a
CSV file writes the same bytes and counts whether batches travel as columns or as records, on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from db_harness import Db

from etl_core.config import parse_job
from etl_core.graph import PlanOptions, plan_job
from etl_core.testing import run_job

ROWS = 700
SCHEMA = {
    "fields": [
        {"name": "id", "data_type": "integer", "nullable": True},
        {"name": "city", "data_type": "string", "nullable": True},
        {"name": "amount", "data_type": "float", "nullable": True},
        {"name": "note", "data_type": "string", "nullable": True},
    ]
}
FLOAT = {"sqlite": "REAL", "postgresql": "DOUBLE PRECISION", "mariadb": "DOUBLE"}
CITIES = ["Berlin", "Paris", "São Paulo", "New York, NY", None]


async def orders_table(db: Db) -> str:
    table = db.table("orders")
    await db.execute(
        f"CREATE TABLE {db.quote(table)} (id INTEGER PRIMARY KEY, city VARCHAR(40), amount {FLOAT[db.kind]}, "
        "note VARCHAR(80))"
    )
    values = []
    for i in range(1, ROWS + 1):
        city = CITIES[i % len(CITIES)]
        amount = "NULL" if i % 11 == 0 else f"{(i * 37) % 1000 + 0.25}"
        note = "NULL" if i % 13 == 0 else f"'say \"hi\", {i}'"
        values.append(f"({i}, {'NULL' if city is None else repr(city)}, {amount}, {note})")
    await db.execute(f"INSERT INTO {db.quote(table)} VALUES {', '.join(values)}")
    return table


def read_filter_write(db: Db, table: str, out: str) -> dict[str, Any]:
    read = db.reader(
        query=f"SELECT id, city, amount, note FROM {db.quote(table)} ORDER BY id",
        out_port_schemas={"out": SCHEMA},
        routes={"out": ["keep"]},
    )
    rule = {
        "logical_operator": "OR",
        "rules": [
            {"column": "amount", "operator": ">", "value": 500},
            {"column": "city", "operator": "in", "value": ["Paris", "São Paulo"]},
        ],
    }
    keep = {"name": "keep", "comp_type": "filter", "rule": rule, "in_port_schemas": {"in": SCHEMA}}
    keep["routes"] = {"pass": ["write"]}
    write = {"name": "write", "comp_type": "write_csv", "filepath": out, "in_port_schemas": {"in": SCHEMA}}
    return {"name": "db columns", "strategy_type": "bulk", "components": [read, keep, write]}


async def test_a_table_read_as_columns_filters_and_writes_like_records(db: Db, data_dir: Path) -> None:
    table = await orders_table(db)
    columnar_job = read_filter_write(db, table, "columnar.csv")
    plan = plan_job(parse_job(columnar_job), PlanOptions(data_dir=data_dir))
    assert ("read", "out") in plan.columnar_ports

    columnar = await run_job(columnar_job, data_dir=data_dir, batch_size=64, columnar=True)
    records = await run_job(
        read_filter_write(db, table, "records.csv"), data_dir=data_dir, batch_size=64, columnar=False
    )

    assert columnar.status == records.status == "SUCCESS", (columnar.state.error, records.state.error)
    written = (data_dir / "columnar.csv").read_text(encoding="utf-8")
    assert written == (data_dir / "records.csv").read_text(encoding="utf-8")
    lines = written.splitlines()
    assert lines[0] == "id,city,amount,note"
    expected = [
        i
        for i in range(1, ROWS + 1)
        if (i % 11 != 0 and (i * 37) % 1000 + 0.25 > 500) or CITIES[i % len(CITIES)] in ("Paris", "São Paulo")
    ]
    assert [int(line.split(",")[0]) for line in lines[1:]] == expected
    for name in ("read", "keep", "write"):
        a, b = columnar.metrics(name), records.metrics(name)
        assert (a.received, a.sent, a.dismissed, a.batches_out) == (b.received, b.sent, b.dismissed, b.batches_out)
