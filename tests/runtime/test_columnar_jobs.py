"""Columnar batches end to end: a job run with `Columns` between its components writes the same bytes and
reports the same counts as the same job run on lists of records (`run_job(columnar=False)`)."""

from __future__ import annotations

import csv
import io
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etl_core.config import parse_job
from etl_core.graph import PlanOptions, plan_job
from etl_core.testing import JobRun, route, run_job

Json = dict[str, Any]
MODES = ("columnar", "records")
BATCH = 100
ROWS = 3000

ORDERS = {
    "fields": [
        {"name": "id", "data_type": "integer", "nullable": True},
        {"name": "name", "data_type": "string", "nullable": True},
        {"name": "city", "data_type": "string", "nullable": True},
        {"name": "amount", "data_type": "float", "nullable": True},
        {"name": "qty", "data_type": "integer", "nullable": True},
        {"name": "active", "data_type": "boolean", "nullable": True},
    ]
}
CITIES = ["Berlin", "Paris", "Rome", "São Paulo", "New York, NY", ""]
NAMES = ["ada", 'Bob "B" Smith', "Lovelace, Ada", "", "line\nbreak", "  spaced  ", "Zoë", "semi;colon"]
BOOLS = ["true", "false", "yes", "no", "t", "F", "TRUE", ""]


def orders_csv(rows: int = ROWS, *, seed: int = 7, bad_every: int = 0, start: int = 1) -> str:
    """A CSV of orders: quoted text (commas, quotes, line breaks), empty fields (nulls), booleans, floats.
    With `bad_every`, every so many rows holds a value of the wrong type or the wrong number of fields."""
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "city", "amount", "qty", "active"])
    for i in range(start, start + rows):
        amount = rnd.choice(["", f"{rnd.uniform(-50, 1000):.2f}", str(rnd.randint(0, 900)), "1e3", "0.1"])
        qty = rnd.choice(["", str(rnd.randint(0, 20)), str(rnd.randint(0, 20))])
        row = [str(i), rnd.choice(NAMES), rnd.choice(CITIES), amount, qty, rnd.choice(BOOLS)]
        if bad_every and i % bad_every == 0:
            if i % (2 * bad_every) == 0:
                row[4] = "many"
            else:
                row = row[:3]
        writer.writerow(row)
    return out.getvalue()


def read_csv(name: str, filepath: str, routes: dict[str, list[str]], **options: Any) -> Json:
    return {
        "name": name,
        "comp_type": "read_csv",
        "filepath": filepath,
        "out_port_schemas": {"out": ORDERS},
        "routes": routes,
        **options,
    }


def write_csv(name: str, filepath: str, schema: Json | None = ORDERS, **options: Any) -> Json:
    comp: Json = {"name": name, "comp_type": "write_csv", "filepath": filepath, **options}
    if schema is not None:
        comp["in_port_schemas"] = {"in": schema}
    return comp


def step(name: str, comp_type: str, routes: dict[str, list[str]] | None = None, **options: Any) -> Json:
    comp: Json = {"name": name, "comp_type": comp_type, "in_port_schemas": {"in": ORDERS}, **options}
    if routes:
        comp["routes"] = routes
    return comp


def job(*components: Json, strategy: str = "bulk") -> Json:
    return {"name": "parity", "strategy_type": strategy, "components": list(components)}


def columnar_ports(doc: Json, data_dir: Path) -> set[tuple[str, str]]:
    return set(plan_job(parse_job(doc), PlanOptions(data_dir=data_dir)).columnar_ports)


COUNTED = ("status", "received", "sent", "dismissed", "errors", "batches_in", "batches_out", "bytes_read")


def counts(run: JobRun) -> dict[str, dict[str, Any]]:
    """Every component's counters (timings left out), and the totals of records in and out."""
    attempt = run.state.current
    assert attempt is not None
    out: dict[str, dict[str, Any]] = {}
    for name, metrics in attempt.components.items():
        snap = metrics.snapshot()
        out[name] = {k: snap[k] for k in (*COUNTED, "records_in", "records_out", "bytes_written")}
    return out


async def run_both(
    data_dir: Path, build: Callable[[str], Json], *, batch_size: int = BATCH
) -> tuple[JobRun, JobRun, set[tuple[str, str]]]:
    """Run the job built for output directory `columnar/` with columns, and for `records/` without."""
    columnar = await run_job(build("columnar"), data_dir=data_dir, batch_size=batch_size, columnar=True)
    records = await run_job(build("records"), data_dir=data_dir, batch_size=batch_size, columnar=False)
    assert columnar.status == "SUCCESS", columnar.state.error
    assert records.status == "SUCCESS", records.state.error
    return columnar, records, columnar_ports(build("columnar"), data_dir)


def same_files(data_dir: Path, *names: str) -> list[bytes]:
    """The outputs of both runs, checked byte for byte; returns the columnar run's."""
    contents = []
    for name in names:
        got = (data_dir / "columnar" / name).read_bytes()
        assert got == (data_dir / "records" / name).read_bytes(), name
        contents.append(got)
    return contents


def parsed(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode(), newline="")))


@pytest.fixture
def orders(data_dir: Path) -> str:
    text = orders_csv()
    (data_dir / "orders.csv").write_text(text, encoding="utf-8", newline="")
    return text


async def test_read_filter_write_with_both_filter_ports_written_gives_the_same_files_and_counts(
    data_dir: Path, orders: str
) -> None:
    rule = {
        "logical_operator": "OR",
        "rules": [
            {"column": "amount", "operator": ">", "value": 500},
            {
                "logical_operator": "AND",
                "rules": [
                    {"column": "active", "operator": "==", "value": True},
                    {"column": "city", "operator": "in", "value": ["Paris", "São Paulo"]},
                ],
            },
        ],
    }

    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["keep"]}),
            step("keep", "filter", {"pass": ["big"], "fail": ["small"]}, rule=rule),
            write_csv("big", f"{mode}/big.csv"),
            write_csv("small", f"{mode}/small.csv"),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ports == {("read", "out"), ("keep", "pass"), ("keep", "fail")}
    big, small = same_files(data_dir, "big.csv", "small.csv")
    assert counts(columnar) == counts(records)
    n_big, n_small = len(parsed(big)) - 1, len(parsed(small)) - 1
    assert n_big + n_small == ROWS
    assert 0 < n_big < ROWS
    keep = columnar.metrics("keep")
    assert keep.received == {"in": ROWS}
    assert keep.sent == {"pass": n_big, "fail": n_small, "error": 0}
    assert keep.dismissed == 0
    assert columnar.metrics("big").records_in == n_big
    assert columnar.metrics("read").batches_out == ROWS // BATCH


async def test_a_filter_with_an_unconnected_fail_port_dismisses_the_same_records_on_columns(
    data_dir: Path, orders: str
) -> None:
    rule = {"column": "qty", "operator": ">=", "value": 10}

    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["keep"]}),
            step("keep", "filter", {"pass": ["write"]}, rule=rule),
            write_csv("write", f"{mode}/kept.csv"),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ports == {("read", "out"), ("keep", "pass")}
    (kept,) = same_files(data_dir, "kept.csv")
    assert counts(columnar) == counts(records)
    rows = parsed(kept)[1:]
    assert rows
    assert all(int(r[4]) >= 10 for r in rows)
    keep = columnar.metrics("keep")
    assert keep.dismissed == ROWS - len(rows)
    assert keep.sent["pass"] == len(rows)
    assert keep.sent.get("fail", 0) == 0


async def test_a_filter_with_a_not_node_writing_only_its_fail_port_routes_like_the_record_path(
    data_dir: Path, orders: str
) -> None:
    rule = {
        "logical_operator": "NOT",
        "rules": [{"column": "name", "operator": "contains", "value": "ADA"}],
    }

    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["keep"]}),
            step("keep", "filter", {"fail": ["write"]}, rule=rule),
            write_csv("write", f"{mode}/ada.csv"),
        )

    columnar, records, _ = await run_both(data_dir, build)

    (ada,) = same_files(data_dir, "ada.csv")
    assert counts(columnar) == counts(records)
    names = {r[1] for r in parsed(ada)[1:]}
    assert names == {"ada", "Lovelace, Ada"}


async def test_read_aggregate_write_gives_the_same_groups(data_dir: Path, orders: str) -> None:
    totals = {
        "fields": [
            {"name": "city", "data_type": "string", "nullable": True},
            {"name": "active", "data_type": "boolean", "nullable": True},
            {"name": "n", "data_type": "integer"},
            {"name": "total", "data_type": "float", "nullable": True},
            {"name": "mean_qty", "data_type": "float", "nullable": True},
            {"name": "top", "data_type": "float", "nullable": True},
            {"name": "names", "data_type": "integer"},
            {"name": "first_name", "data_type": "string", "nullable": True},
        ]
    }
    aggregations = [
        {"src": "*", "op": "count", "dest": "n"},
        {"src": "amount", "op": "sum", "dest": "total"},
        {"src": "qty", "op": "mean", "dest": "mean_qty"},
        {"src": "amount", "op": "max", "dest": "top"},
        {"src": "name", "op": "nunique", "dest": "names"},
        {"src": "name", "op": "first", "dest": "first_name"},
    ]

    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["sum"]}),
            step("sum", "aggregation", {"out": ["write"]}, group_by=["city", "active"], aggregations=aggregations),
            write_csv("write", f"{mode}/totals.csv", totals),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ("read", "out") in ports
    (content,) = same_files(data_dir, "totals.csv")
    assert counts(columnar) == counts(records)
    rows = parsed(content)
    assert rows[0] == ["city", "active", "n", "total", "mean_qty", "top", "names", "first_name"]
    assert sum(int(r[2]) for r in rows[1:]) == ROWS
    assert len(rows) - 1 == len(CITIES) * 3  # every city (the empty one too) with true, false and null


async def test_read_csv_to_write_sqlite_stores_the_same_rows(data_dir: Path, orders: str) -> None:
    def build(mode: str) -> Json:
        (data_dir / mode).mkdir(exist_ok=True)
        return job(
            read_csv("read", "orders.csv", {"out": ["store"]}),
            step(
                "store",
                "write_sqlite",
                database=f"{mode}/shop.db",
                entity_name="orders",
                create_table=True,
                batch_size=250,
            ),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ports == {("read", "out")}
    assert counts(columnar) == counts(records)
    tables = []
    for mode in MODES:
        with sqlite3.connect(data_dir / mode / "shop.db") as conn:
            tables.append(conn.execute("SELECT id, name, city, amount, qty, active FROM orders ORDER BY id").fetchall())
    assert tables[0] == tables[1]
    assert len(tables[0]) == ROWS
    expected = list(csv.DictReader(io.StringIO(orders, newline="")))
    for row, source in zip(tables[0], expected, strict=True):
        assert row[0] == int(source["id"])
        assert row[1] == (source["name"] or None)  # with the default null_value an empty field is null
        assert row[3] == (float(source["amount"]) if source["amount"] else None)
        assert row[4] == (int(source["qty"]) if source["qty"] else None)
    assert columnar.metrics("store").received == {"in": ROWS}


async def test_sqlite_writer_with_a_pass_through_writer_forwards_the_same_records(data_dir: Path, orders: str) -> None:
    def build(mode: str) -> Json:
        (data_dir / mode).mkdir(exist_ok=True)
        return job(
            read_csv("read", "orders.csv", {"out": ["store"]}),
            step(
                "store",
                "write_sqlite",
                {"out": ["copy"]},
                database=f"{mode}/shop.db",
                entity_name="orders",
                create_table=True,
                batch_size=128,
            ),
            write_csv("copy", f"{mode}/copy.csv"),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ports == {("read", "out"), ("store", "out")}
    (copy,) = same_files(data_dir, "copy.csv")
    assert counts(columnar) == counts(records)
    assert len(parsed(copy)) == ROWS + 1


async def test_bad_typed_rows_go_to_the_same_dead_letter_file(data_dir: Path) -> None:
    (data_dir / "orders.csv").write_text(orders_csv(bad_every=37), encoding="utf-8", newline="")

    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["write"], "error": ["dead"]}),
            write_csv("write", f"{mode}/good.csv"),
            write_csv("dead", f"{mode}/dead.csv", schema=None),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ("read", "out") in ports
    good, dead = same_files(data_dir, "good.csv", "dead.csv")
    assert counts(columnar) == counts(records)
    bad = ROWS // 37
    read = columnar.metrics("read")
    assert read.errors == bad
    assert read.sent == {"out": ROWS - bad, "error": bad}
    assert len(parsed(good)) - 1 == ROWS - bad
    dead_rows = parsed(dead)
    assert dead_rows[0] == ["record", "error", "component", "line"]
    assert len(dead_rows) - 1 == bad
    messages = {r[1] for r in dead_rows[1:]}
    assert "expected 6 fields, got 3" in messages
    assert "field 'qty': 'many' is not an integer (integer)" in messages


async def test_merge_of_two_readers_into_one_writer_writes_the_same_rows(data_dir: Path) -> None:
    (data_dir / "web.csv").write_text(orders_csv(1500, seed=1), encoding="utf-8", newline="")
    (data_dir / "shop.csv").write_text(orders_csv(1700, seed=2, start=5001), encoding="utf-8", newline="")

    def build(mode: str) -> Json:
        return job(
            read_csv("web", "web.csv", {"out": ["all"]}),
            read_csv("shop", "shop.csv", {"out": ["all"]}),
            step("all", "merge", {"out": ["write"]}),
            write_csv("write", f"{mode}/all.csv"),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ports == {("web", "out"), ("shop", "out"), ("all", "out")}
    # merge interleaves batches as they arrive: the rows are the same, their order between the inputs may not be
    outputs = [parsed((data_dir / mode / "all.csv").read_bytes()) for mode in MODES]
    assert outputs[0][0] == outputs[1][0] == ["id", "name", "city", "amount", "qty", "active"]
    assert sorted(outputs[0][1:]) == sorted(outputs[1][1:])
    assert len(outputs[0]) - 1 == 3200
    assert counts(columnar) == counts(records)
    for rows in outputs:
        web = [int(r[0]) for r in rows[1:] if int(r[0]) <= 1500]
        assert web == sorted(web)  # each input keeps its own order


async def test_split_into_two_writers_writes_the_same_two_files(data_dir: Path, orders: str) -> None:
    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["copy"]}),
            step("copy", "split", {"out": ["a"], "archive": ["b"]}, extra_output_ports=["archive"]),
            write_csv("a", f"{mode}/a.csv"),
            write_csv("b", f"{mode}/b.csv", separator=";", null_value="NULL"),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ports == {("read", "out"), ("copy", "out"), ("copy", "archive")}
    a, b = same_files(data_dir, "a.csv", "b.csv")
    assert counts(columnar) == counts(records)
    assert len(parsed(a)) == ROWS + 1
    assert b"NULL" in b
    assert columnar.metrics("copy").sent == {"out": ROWS, "archive": ROWS, "error": 0}


async def test_read_csv_in_row_strategy_gives_the_same_files_and_counts(data_dir: Path, orders: str) -> None:
    rule = {"column": "active", "operator": "is_not_null"}

    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["keep"]}),
            step("keep", "filter", {"pass": ["write"], "fail": ["nulls"]}, rule=rule),
            write_csv("write", f"{mode}/known.csv"),
            write_csv("nulls", f"{mode}/unknown.csv"),
            strategy="row",
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ports == {("read", "out"), ("keep", "pass"), ("keep", "fail")}
    known, unknown = same_files(data_dir, "known.csv", "unknown.csv")
    assert counts(columnar) == counts(records)
    assert len(parsed(known)) + len(parsed(unknown)) - 2 == ROWS
    assert all(r[5] == "" for r in parsed(unknown)[1:])


async def test_a_writer_whose_out_feeds_a_non_columnar_consumer_writes_the_same_bytes(
    data_dir: Path, orders: str
) -> None:
    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["write"]}),
            route(write_csv("write", f"{mode}/orders.csv"), "out", "collect"),
            {"name": "collect", "comp_type": "test_sink"},
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ports == set()
    same_files(data_dir, "orders.csv")
    assert counts(columnar) == counts(records)
    assert columnar.records("collect") == records.records("collect")
    assert len(columnar.records("collect")) == ROWS


async def test_rows_a_sqlite_table_refuses_go_to_the_same_dead_letter_file_and_the_rest_is_stored(
    data_dir: Path, orders: str
) -> None:
    for mode in MODES:
        (data_dir / mode).mkdir()
        with sqlite3.connect(data_dir / mode / "shop.db") as conn:
            conn.execute(
                "CREATE TABLE orders (id INTEGER, name TEXT, city TEXT, amount REAL CHECK (amount < 900), "
                "qty INTEGER, active INTEGER)"
            )

    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["store"]}),
            step(
                "store",
                "write_sqlite",
                {"out": ["copy"], "error": ["dead"]},
                database=f"{mode}/shop.db",
                entity_name="orders",
                batch_size=64,
            ),
            write_csv("copy", f"{mode}/stored.csv"),
            write_csv("dead", f"{mode}/refused.csv", schema=None),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert {("read", "out"), ("store", "out")} <= ports
    stored, refused = same_files(data_dir, "stored.csv", "refused.csv")
    assert counts(columnar) == counts(records)
    tables = []
    for mode in MODES:
        with sqlite3.connect(data_dir / mode / "shop.db") as conn:
            tables.append(conn.execute("SELECT * FROM orders ORDER BY id").fetchall())
    assert tables[0] == tables[1]
    too_big = sum(
        1 for r in csv.DictReader(io.StringIO(orders, newline="")) if r["amount"] and float(r["amount"]) >= 900
    )
    assert too_big > 0
    assert columnar.metrics("store").errors == too_big
    assert len(tables[0]) == len(parsed(stored)) - 1 == ROWS - too_big
    assert len(parsed(refused)) - 1 == too_big
    assert all("CHECK constraint failed" in r[1] for r in parsed(refused)[1:])


async def test_values_an_aggregation_cannot_add_up_go_to_the_same_dead_letter_file(data_dir: Path, orders: str) -> None:
    sums = {
        "fields": [
            {"name": "active", "data_type": "boolean", "nullable": True},
            {"name": "n", "data_type": "integer"},
            {"name": "total", "data_type": "float", "nullable": True},
        ]
    }
    aggregations = [{"src": "*", "op": "count", "dest": "n"}, {"src": "name", "op": "sum", "dest": "total"}]

    def build(mode: str) -> Json:
        return job(
            read_csv("read", "orders.csv", {"out": ["sum"]}),
            step(
                "sum",
                "aggregation",
                {"out": ["write"], "error": ["dead"]},
                group_by=["active"],
                aggregations=aggregations,
            ),
            write_csv("write", f"{mode}/sums.csv", sums),
            write_csv("dead", f"{mode}/dead.csv", schema=None),
        )

    columnar, records, ports = await run_both(data_dir, build)

    assert ("read", "out") in ports
    sums_file, dead = same_files(data_dir, "sums.csv", "dead.csv")
    assert counts(columnar) == counts(records)
    # names are text: only the empty ones (nulls) can be summed, every other record is refused
    empty_names = sum(1 for r in csv.DictReader(io.StringIO(orders, newline="")) if r["name"] == "")
    assert columnar.metrics("sum").errors == ROWS - empty_names
    assert sum(int(r[1]) for r in parsed(sums_file)[1:]) == empty_names
    assert len(parsed(dead)) - 1 == ROWS - empty_names
