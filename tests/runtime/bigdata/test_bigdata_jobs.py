"""Acceptance-style jobs run twice, as bulk and as bigdata on a local Ray instance: the same records come out.

Inputs are small but split into many partitions (4 KiB byte ranges, 3 shuffle buckets), so every path of the
distributed runtime is taken: byte ranges, several files, shuffles, the driver's ordered gathering, part files.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from etl_core.testing import JobRun, component, fields, list_sink, list_source, make_job, route, run_job

RunBigdata = Callable[..., Awaitable[JobRun]]

S = fields(id="integer", city="string", amount="float", qty="integer", note="string")
CITIES = ["Berlin", "Paris", None, "Rome", "Oslo", "Berlin", "Paris"]
NOTES = ["plain", 'a "quoted" word', "comma, inside", "two\nlines", ""]


def order(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "city": CITIES[i % len(CITIES)],
        "amount": round((i * 37) % 1000 + (i % 7) / 4, 2),
        "qty": i % 9,
        "note": NOTES[i % len(NOTES)],
    }


def write_orders(path: Path, ids: range) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, ["id", "city", "amount", "qty", "note"])
        out.writeheader()
        for i in ids:
            out.writerow({k: ("" if v is None else v) for k, v in order(i).items()})


def rows_of(path: Path) -> list[dict[str, Any]]:
    """The records of an output: a CSV or JSON-lines file, or a directory of part files in part order."""
    if path.is_dir():
        return [r for part in sorted(path.iterdir()) for r in rows_of(part)]
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def takes(schema: dict[str, Any], name: str, comp_type: str, **options: Any) -> dict[str, Any]:
    return component(name, comp_type, in_port_schemas={"in": schema}, **options)


async def both(run_bigdata: RunBigdata, data_dir: Path, make: Any) -> tuple[JobRun, JobRun]:
    """Run `make(strategy, tag)` as bulk and as bigdata (tag names the outputs apart)."""
    bulk = await run_job(make("bulk", "bulk"), data_dir=data_dir)
    big = await run_bigdata(make("bigdata", "big"), data_dir)
    assert bulk.status == "SUCCESS", bulk.state.error
    assert big.status == "SUCCESS", big.state.error
    return bulk, big


@pytest.fixture
def orders(data_dir: Path) -> Path:
    write_orders(data_dir / "orders.csv", range(600))
    return data_dir / "orders.csv"


def filter_job(out_suffix: str) -> Any:
    def make(strategy: str, tag: str) -> dict[str, Any]:
        return make_job(
            component("src", "read_csv", filepath="orders.csv", out_port_schemas={"out": S}),
            takes(S, "keep", "filter", rule={"column": "amount", "operator": ">", "value": 400}),
            takes(S, "dst", "write_csv", filepath=f"{tag}{out_suffix}"),
            strategy=strategy,
        )

    return make


async def test_csv_filter_csv_writes_the_same_file_as_bulk(
    run_bigdata: RunBigdata, data_dir: Path, orders: Path
) -> None:
    bulk, big = await both(run_bigdata, data_dir, filter_job(".csv"))

    assert (data_dir / "big.csv").read_text(encoding="utf-8") == (data_dir / "bulk.csv").read_text(encoding="utf-8")
    for name in ("src", "keep", "dst"):
        b, g = bulk.metrics(name), big.metrics(name)
        assert (g.records_in, g.records_out, g.dismissed, g.status) == (
            b.records_in,
            b.records_out,
            b.dismissed,
            b.status,
        )
    assert big.state.totals()["rows_read"] == 600


async def test_csv_filter_into_a_directory_writes_one_part_per_partition(
    run_bigdata: RunBigdata, data_dir: Path, orders: Path
) -> None:
    await both(run_bigdata, data_dir, filter_job("_parts"))

    parts = sorted(p.name for p in (data_dir / "big_parts").iterdir())
    assert len(parts) > 3
    assert parts == [f"part-{i:05d}.csv" for i in range(len(parts))]
    assert rows_of(data_dir / "big_parts") == rows_of(data_dir / "bulk_parts")
    assert not [p.name for p in data_dir.iterdir() if p.name.startswith(".")]  # noqa: ASYNC240 - no staging left


AGGREGATIONS = [
    {"src": "*", "op": "count", "dest": "orders"},
    {"src": "qty", "op": "sum", "dest": "qty"},
    {"src": "amount", "op": "mean", "dest": "mean_amount"},
    {"src": "amount", "op": "min", "dest": "min_amount"},
    {"src": "amount", "op": "max", "dest": "max_amount"},
    {"src": "id", "op": "first", "dest": "first_id"},
    {"src": "id", "op": "last", "dest": "last_id"},
    {"src": "amount", "op": "median", "dest": "median_amount"},
    {"src": "amount", "op": "std", "dest": "std_amount"},
    {"src": "qty", "op": "nunique", "dest": "qtys"},
]


GROUPS = fields(
    city="string",
    orders="integer",
    qty="integer",
    mean_amount="float",
    min_amount="float",
    max_amount="float",
    first_id="integer",
    last_id="integer",
    median_amount="float",
    std_amount="float",
    qtys="integer",
)
LISTS = {
    "fields": [
        {"name": "city", "data_type": "string", "nullable": True},
        {"name": "qty", "data_type": "integer", "nullable": True},
        {"name": "ids", "data_type": "array", "item": {"name": "item", "data_type": "integer"}},
        {"name": "n", "data_type": "integer"},
    ]
}
TOTALS = fields(orders="integer", qty="integer", mean_amount="float")


def same_rows(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Equal rows in the same order; float columns to 1e-9 (sums may add up in another order)."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert list(g) == list(w)
        for column, value in w.items():
            try:
                assert float(g[column]) == pytest.approx(float(value), rel=1e-9)
            except (TypeError, ValueError):
                assert g[column] == value


async def test_csv_aggregation_csv_gives_the_groups_of_bulk_in_the_same_order(
    run_bigdata: RunBigdata, data_dir: Path, orders: Path
) -> None:
    def make(strategy: str, tag: str) -> dict[str, Any]:
        return make_job(
            component("src", "read_csv", filepath="orders.csv", out_port_schemas={"out": S}),
            takes(S, "per_city", "aggregation", group_by=["city"], aggregations=AGGREGATIONS),
            takes(GROUPS, "dst", "write_csv", filepath=f"{tag}_groups.csv"),
            strategy=strategy,
        )

    _, big = await both(run_bigdata, data_dir, make)

    want = rows_of(data_dir / "bulk_groups.csv")
    same_rows(rows_of(data_dir / "big_groups.csv"), want)
    assert [r["city"] for r in want] == ["Berlin", "Oslo", "Paris", "Rome", ""]  # keys ascending, null last
    assert big.metrics("per_city").records_out == 5


async def test_aggregation_by_two_columns_with_lists_matches_bulk(
    run_bigdata: RunBigdata, data_dir: Path, orders: Path
) -> None:
    def make(strategy: str, tag: str) -> dict[str, Any]:
        return make_job(
            component("src", "read_csv", filepath="orders.csv", out_port_schemas={"out": S}),
            takes(
                S,
                "groups",
                "aggregation",
                group_by=["city", "qty"],
                aggregations=[{"src": "id", "op": "list", "dest": "ids"}, {"src": "*", "op": "count", "dest": "n"}],
            ),
            takes(LISTS, "dst", "write_json", filepath=f"{tag}_groups.jsonl"),
            strategy=strategy,
        )

    await both(run_bigdata, data_dir, make)

    want = rows_of(data_dir / "bulk_groups.jsonl")
    assert len(want) == 45
    assert rows_of(data_dir / "big_groups.jsonl") == want  # the lists keep the input order


async def test_a_global_aggregation_gives_one_record_even_without_input(
    run_bigdata: RunBigdata, data_dir: Path
) -> None:
    write_orders(data_dir / "empty.csv", range(0))
    write_orders(data_dir / "orders.csv", range(300))

    def make(source: str) -> Any:
        def job(strategy: str, tag: str) -> dict[str, Any]:
            return make_job(
                component("src", "read_csv", filepath=source, out_port_schemas={"out": S}),
                takes(S, "total", "aggregation", aggregations=AGGREGATIONS[:3]),
                takes(TOTALS, "dst", "write_json", filepath=f"{tag}_{source}.jsonl"),
                strategy=strategy,
            )

        return job

    for source in ("empty.csv", "orders.csv"):
        await both(run_bigdata, data_dir, make(source))
        want = rows_of(data_dir / f"bulk_{source}.jsonl")
        assert len(want) == 1
        same_rows(rows_of(data_dir / f"big_{source}.jsonl"), want)


CUSTOMERS = fields(id="integer", city="string", name="string")
JOINED = fields(
    id="integer", city_x="string", amount="float", qty="integer", note="string", city_y="string", name="string"
)


async def test_csv_join_csv_gives_the_joined_records_of_bulk(
    run_bigdata: RunBigdata, data_dir: Path, orders: Path
) -> None:
    with open(data_dir / "customers.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "city", "name"])
        for i in range(0, 900, 3):  # every third order has a customer; some customers have no order
            out.writerow([i, CITIES[(i + 1) % len(CITIES)] or "", f"customer {i}"])

    def make(how: str) -> Any:
        def job(strategy: str, tag: str) -> dict[str, Any]:
            mapping = component(
                "join",
                "schema_mapping",
                extra_input_ports=["orders", "customers"],
                extra_output_ports=["out"],
                in_port_schemas={"orders": S, "customers": CUSTOMERS},
                join_plan={
                    "steps": [
                        {
                            "left_port": "orders",
                            "right_port": "customers",
                            "left_on": "id",
                            "right_on": "id",
                            "how": how,
                            "output_port": "out",
                        }
                    ]
                },
            )
            return make_job(
                route(
                    component("o", "read_csv", filepath="orders.csv", out_port_schemas={"out": S}),
                    "out",
                    "join",
                    "orders",
                ),
                route(
                    component("c", "read_csv", filepath="customers.csv", out_port_schemas={"out": CUSTOMERS}),
                    "out",
                    "join",
                    "customers",
                ),
                route(mapping, "out", "dst"),
                takes(JOINED, "dst", "write_csv", filepath=f"{tag}_{how}.csv"),
                chain=False,
                strategy=strategy,
            )

        return job

    for how in ("inner", "outer"):
        await both(run_bigdata, data_dir, make(how))
        want = rows_of(data_dir / f"bulk_{how}.csv")
        got = rows_of(data_dir / f"big_{how}.csv")
        assert list(got[0]) == ["id", "city_x", "amount", "qty", "note", "city_y", "name"]
        assert sorted(map(key, got)) == sorted(map(key, want))
    assert len(rows_of(data_dir / "bulk_inner.csv")) == 200
    assert len(rows_of(data_dir / "bulk_outer.csv")) == 700


RAW = fields(id="string", amount="string", day="string")
TYPED = fields(id="integer", amount="float", day="string")


async def test_jsonl_type_conversion_jsonl_routes_the_same_records_and_errors(
    run_bigdata: RunBigdata, data_dir: Path
) -> None:
    lines = []
    for i in range(500):
        amount = "n/a" if i % 97 == 5 else ("" if i % 11 == 0 else f"{i}.25")
        lines.append(json.dumps({"id": str(i), "amount": amount, "day": f"2024-01-{i % 28 + 1:02d}"}))
    (data_dir / "raw.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rules = [
        {"column_path": "id", "target": "integer", "on_error": "raise"},
        {"column_path": "amount", "target": "float", "on_error": "raise"},
    ]

    def make(strategy: str, tag: str) -> dict[str, Any]:
        typed = takes(RAW, "typed", "type_conversion", rules=rules)
        return make_job(
            route(component("src", "read_json", filepath="raw.jsonl", out_port_schemas={"out": RAW}), "out", "typed"),
            route(route(typed, "out", "dst"), "error", "dead"),
            takes(TYPED, "dst", "write_json", filepath=f"{tag}_typed.jsonl"),
            component("dead", "write_json", filepath=f"{tag}_dead.jsonl"),
            chain=False,
            strategy=strategy,
        )

    bulk, big = await both(run_bigdata, data_dir, make)

    assert rows_of(data_dir / "big_typed.jsonl") == rows_of(data_dir / "bulk_typed.jsonl")
    assert rows_of(data_dir / "big_dead.jsonl") == rows_of(data_dir / "bulk_dead.jsonl")
    assert big.metrics("typed").errors == bulk.metrics("typed").errors == 6
    assert rows_of(data_dir / "big_typed.jsonl")[1] == {"id": 1, "amount": 1.25, "day": "2024-01-02"}


async def test_split_and_merge_give_the_records_of_bulk(run_bigdata: RunBigdata, data_dir: Path, orders: Path) -> None:
    def make(strategy: str, tag: str) -> dict[str, Any]:
        return make_job(
            component("src", "read_csv", filepath="orders.csv", out_port_schemas={"out": S}),
            route(route(takes(S, "copy", "split", extra_output_ports=["a", "b"]), "a", "cheap"), "b", "big_qty"),
            route(
                takes(S, "cheap", "filter", rule={"column": "amount", "operator": "<", "value": 100}),
                "pass",
                "all",
                "x",
            ),
            route(
                takes(S, "big_qty", "filter", rule={"column": "qty", "operator": ">=", "value": 7}), "pass", "all", "y"
            ),
            route(
                component("all", "merge", extra_input_ports=["x", "y"], in_port_schemas={"x": S, "y": S}), "out", "dst"
            ),
            takes(S, "dst", "write_json", filepath=f"{tag}_merged"),
            chain=True,
            strategy=strategy,
        )

    bulk, big = await both(run_bigdata, data_dir, make)

    got, want = rows_of(data_dir / "big_merged"), rows_of(data_dir / "bulk_merged")
    assert len(want) == big.metrics("all").records_out == bulk.metrics("all").records_out
    assert sorted(map(key, got)) == sorted(map(key, want))


async def test_a_directory_of_csv_files_is_read_file_by_file(run_bigdata: RunBigdata, data_dir: Path) -> None:
    write_orders(data_dir / "daily" / "2024-01-01.csv", range(200))
    write_orders(data_dir / "daily" / "2024-01-02.csv", range(200, 450))
    write_orders(data_dir / "daily" / "2024-01-03.csv", range(450, 500))
    (data_dir / "daily" / "README.md").write_text("not data")
    write_orders(data_dir / "orders.csv", range(500))

    def make(source: str, out: str, strategy: str = "bigdata") -> dict[str, Any]:
        return make_job(
            component("src", "read_csv", filepath=source, out_port_schemas={"out": S}),
            takes(S, "keep", "filter", rule={"column": "qty", "operator": ">", "value": 3}),
            takes(S, "dst", "write_csv", filepath=out),
            strategy=strategy,
        )

    bulk = await run_job(make("orders.csv", "bulk.csv", "bulk"), data_dir=data_dir)
    assert bulk.status == "SUCCESS", bulk.state.error
    for source, out in (("daily", "by_dir.csv"), ("daily/*.csv", "by_glob.csv")):
        run = await run_bigdata(make(source, out), data_dir)
        assert run.status == "SUCCESS", run.state.error
        assert run.metrics("src").records_out == 500
        assert rows_of(data_dir / out) == rows_of(data_dir / "bulk.csv")


async def test_a_directory_of_json_lines_files_matches_bulk(run_bigdata: RunBigdata, data_dir: Path) -> None:
    for day, ids in (("a", range(120)), ("b", range(120, 300))):
        path = data_dir / "events" / f"{day}.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(json.dumps(order(i)) + "\n" for i in ids), encoding="utf-8")

    def make(strategy: str, tag: str) -> dict[str, Any]:
        return make_job(
            component("src", "read_json", filepath="events", out_port_schemas={"out": S}),
            takes(S, "keep", "filter", rule={"column": "city", "operator": "is_not_null"}),
            takes(S, "dst", "write_json", filepath=f"{tag}_events.jsonl"),
            strategy=strategy,
        )

    await both(run_bigdata, data_dir, make)

    assert rows_of(data_dir / "big_events.jsonl") == rows_of(data_dir / "bulk_events.jsonl")


async def test_test_components_run_and_collect_on_the_driver(run_bigdata: RunBigdata, data_dir: Path) -> None:
    records = [{"n": i} for i in range(50)]
    n = fields(n="integer")
    job = make_job(
        list_source("src", records, schema=n, batch_size=7),
        takes(n, "odd", "filter", rule={"column": "n", "operator": "in", "value": list(range(1, 50, 2))}),
        list_sink("sink", schema=n),
        strategy="bigdata",
    )

    run = await run_bigdata(job, data_dir)

    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"n": i} for i in range(1, 50, 2)]


async def test_a_database_writer_is_fed_by_every_partition_on_the_driver(
    run_bigdata: RunBigdata, data_dir: Path, orders: Path
) -> None:
    job = make_job(
        component("src", "read_csv", filepath="orders.csv", out_port_schemas={"out": S}),
        takes(S, "keep", "filter", rule={"column": "city", "operator": "==", "value": "Oslo"}),
        takes(S, "db", "write_sqlite", database="shop.db", entity_name="orders", create_table=True),
        strategy="bigdata",
    )

    run = await run_bigdata(job, data_dir)

    assert run.status == "SUCCESS", run.state.error
    with sqlite3.connect(data_dir / "shop.db") as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM orders ORDER BY id")]
    assert ids == [i for i in range(600) if CITIES[i % len(CITIES)] == "Oslo"]


async def test_aggregation_record_errors_reach_the_error_port_as_in_bulk(
    run_bigdata: RunBigdata, data_dir: Path
) -> None:
    raw = fields(city="string", amount="string")
    rows = [{"city": CITIES[i % 4] or "", "amount": "lots" if i % 50 == 7 else str(i)} for i in range(400)]
    with open(data_dir / "raw.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, ["city", "amount"])
        out.writeheader()
        out.writerows(rows)
    totals = fields(city="string", total="float")

    def make(strategy: str, tag: str) -> dict[str, Any]:
        agg = takes(
            raw, "sum", "aggregation", group_by=["city"], aggregations=[{"src": "amount", "op": "sum", "dest": "total"}]
        )
        return make_job(
            route(component("src", "read_csv", filepath="raw.csv", out_port_schemas={"out": raw}), "out", "sum"),
            route(route(agg, "out", "dst"), "error", "dead"),
            takes(totals, "dst", "write_json", filepath=f"{tag}_totals.jsonl"),
            component("dead", "write_json", filepath=f"{tag}_dead.jsonl"),
            chain=False,
            strategy=strategy,
        )

    bulk, big = await both(run_bigdata, data_dir, make)

    assert rows_of(data_dir / "big_totals.jsonl") == rows_of(data_dir / "bulk_totals.jsonl")
    assert sorted(map(key, rows_of(data_dir / "big_dead.jsonl"))) == sorted(
        map(key, rows_of(data_dir / "bulk_dead.jsonl"))
    )
    assert big.metrics("sum").errors == bulk.metrics("sum").errors == 8


async def test_a_join_with_mapping_rules_and_mapped_inputs_matches_bulk(
    run_bigdata: RunBigdata, data_dir: Path, orders: Path
) -> None:
    with open(data_dir / "cities.csv", "w", newline="", encoding="utf-8") as fh:
        fh.write("city,country\nBerlin,DE\nParis,FR\nRome,IT\nMadrid,ES\n")
    cities = fields(city="string", country="string")
    labelled = fields(order="integer", country="string")
    names = fields(label="string")

    def make(strategy: str, tag: str) -> dict[str, Any]:
        mapping = component(
            "map",
            "schema_mapping",
            extra_input_ports=["orders", "cities"],
            extra_output_ports=["labelled", "names"],
            in_port_schemas={"orders": S, "cities": cities},
            join_plan={
                "steps": [
                    {
                        "left_port": "orders",
                        "right_port": "cities",
                        "left_on": "city",
                        "right_on": "city",
                        "how": "left",
                        "output_port": "labelled",
                    }
                ]
            },
            rules_by_dest={
                "labelled": {
                    "order": {"src_port": "orders", "src_path": "id"},
                    "country": {"src_port": "cities", "src_path": "country"},
                },
                "names": {"label": {"src_port": "cities", "src_path": "city"}},
            },
        )
        route(mapping, "labelled", "dst")
        route(mapping, "names", "names_dst")
        return make_job(
            route(
                component("o", "read_csv", filepath="orders.csv", out_port_schemas={"out": S}), "out", "map", "orders"
            ),
            route(
                component("c", "read_csv", filepath="cities.csv", out_port_schemas={"out": cities}),
                "out",
                "map",
                "cities",
            ),
            mapping,
            takes(labelled, "dst", "write_json", filepath=f"{tag}_labelled.jsonl"),
            takes(names, "names_dst", "write_json", filepath=f"{tag}_names.jsonl"),
            chain=False,
            strategy=strategy,
        )

    await both(run_bigdata, data_dir, make)

    for output in ("labelled", "names"):
        got, want = rows_of(data_dir / f"big_{output}.jsonl"), rows_of(data_dir / f"bulk_{output}.jsonl")
        assert sorted(map(key, got)) == sorted(map(key, want))
    assert len(rows_of(data_dir / "big_labelled.jsonl")) == 600
    assert {r["country"] for r in rows_of(data_dir / "big_labelled.jsonl")} == {"DE", "FR", "IT", None}


async def test_json_array_files_of_a_directory_are_read_whole(run_bigdata: RunBigdata, data_dir: Path) -> None:
    (data_dir / "batches").mkdir()
    for n, ids in enumerate((range(50), range(50, 130), range(130, 140))):
        (data_dir / "batches" / f"b{n}.json").write_text(json.dumps([order(i) for i in ids]), encoding="utf-8")

    def make(strategy: str, tag: str) -> dict[str, Any]:
        return make_job(
            component("src", "read_json", filepath="batches", out_port_schemas={"out": S}),
            takes(S, "dst", "write_json", filepath=f"{tag}_batches.jsonl"),
            strategy=strategy,
        )

    _, big = await both(run_bigdata, data_dir, make)

    assert rows_of(data_dir / "big_batches.jsonl") == rows_of(data_dir / "bulk_batches.jsonl")
    assert big.metrics("src").records_out == 140


async def test_xml_files_of_a_directory_are_one_partition_each(run_bigdata: RunBigdata, data_dir: Path) -> None:
    (data_dir / "xml").mkdir()
    for n, ids in enumerate((range(30), range(30, 75))):
        rows = "".join(f"<row><id>{i}</id><city>{CITIES[i % 4] or ''}</city></row>" for i in ids)
        (data_dir / "xml" / f"part{n}.xml").write_text(f"<rows>{rows}</rows>", encoding="utf-8")
    small = fields(id="integer", city="string")

    def make(strategy: str, tag: str) -> dict[str, Any]:
        return make_job(
            component("src", "read_xml", filepath="xml", out_port_schemas={"out": small}),
            takes(small, "dst", "write_json", filepath=f"{tag}_xml.jsonl"),
            strategy=strategy,
        )

    _, big = await both(run_bigdata, data_dir, make)

    assert rows_of(data_dir / "big_xml.jsonl") == rows_of(data_dir / "bulk_xml.jsonl")
    assert big.metrics("src").batches_out == 2


def database_filter_job(source: dict[str, Any]) -> Any:
    def make(strategy: str, tag: str) -> dict[str, Any]:
        return make_job(
            {**source, "name": "src", "out_port_schemas": {"out": S}},
            takes(S, "keep", "filter", rule={"column": "amount", "operator": ">", "value": 400}),
            takes(S, "dst", "write_csv", filepath=f"{tag}-db.csv"),
            strategy=strategy,
        )

    return make


async def test_a_sqlite_source_runs_whole_in_one_partition_and_writes_what_bulk_writes(
    run_bigdata: RunBigdata, data_dir: Path
) -> None:
    with sqlite3.connect(data_dir / "orders.db") as conn:
        conn.execute("CREATE TABLE orders (id INTEGER, city TEXT, amount REAL, qty INTEGER, note TEXT)")
        conn.executemany("INSERT INTO orders VALUES (:id, :city, :amount, :qty, :note)", [order(i) for i in range(300)])
    conn.close()
    source = {"comp_type": "read_sqlite", "database": "orders.db", "query": "SELECT * FROM orders ORDER BY id"}

    bulk, big = await both(run_bigdata, data_dir, database_filter_job(source))

    assert (data_dir / "big-db.csv").read_bytes() == (data_dir / "bulk-db.csv").read_bytes()
    kept = [int(r["id"]) for r in rows_of(data_dir / "big-db.csv")]
    assert kept == [i for i in range(300) if order(i)["amount"] > 400]
    assert big.metrics("src").records_out == bulk.metrics("src").records_out == 300


async def test_a_postgresql_source_runs_under_bigdata_too(
    run_bigdata: RunBigdata, data_dir: Path, postgres_dsn: str
) -> None:
    import asyncpg

    table = f"bigdata_orders_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(
            f"CREATE TABLE {table} (id INTEGER, city TEXT, amount DOUBLE PRECISION, qty INTEGER, note TEXT)"
        )
        await conn.copy_records_to_table(table, records=[tuple(order(i).values()) for i in range(200)])
        source = {"comp_type": "read_postgresql", "dsn": postgres_dsn, "query": f"SELECT * FROM {table} ORDER BY id"}

        _, big = await both(run_bigdata, data_dir, database_filter_job(source))
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()

    assert (data_dir / "big-db.csv").read_bytes() == (data_dir / "bulk-db.csv").read_bytes()
    assert big.metrics("src").records_out == 200
