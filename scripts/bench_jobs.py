"""The benchmark's workloads: a job for the engine and the name of the hand-written baseline doing the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench_data import (
    BENCH_PG_DSN,
    COLUMNS,
    ensure_cities,
    ensure_csv,
    ensure_json_array,
    ensure_jsonl,
    ensure_xlsx,
    ensure_xml,
    schema,
)

Inputs = dict[str, Any]
ROW_SPEEDUP = 30  # engine.md §6: row mode at least 30x the original etl-core's row mode
FILTER_CITIES = [f"City{n:02d}" for n in range(10)]
AGG_FIELDS = [
    {"name": "city", "data_type": "string", "nullable": True},
    {"name": "n", "data_type": "integer", "nullable": True},
    {"name": "total", "data_type": "float", "nullable": True},
    {"name": "avg", "data_type": "float", "nullable": True},
]
JOIN_FIELDS = [
    {"name": "city", "data_type": "string", "nullable": True},
    *[f for f in schema()["fields"] if f["name"] != "city"],  # type: ignore[index, attr-defined]
    {"name": "region", "data_type": "string", "nullable": True},
]


def _registered(*types: str) -> bool:
    import etl_core.components  # noqa: F401 - registers the built-ins
    from etl_core.components.registry import REGISTRY

    return all(t in REGISTRY for t in types)


def _reader(path: str, to: str, in_port: str | None = None) -> dict[str, Any]:
    edge: dict[str, Any] = {"to": to} if in_port is None else {"to": to, "in_port": in_port}
    return {
        "name": "read",
        "comp_type": "read_csv",
        "filepath": path,
        "routes": {"out": [edge]},
        "out_port_schemas": {"out": schema()},
    }


def _writer(path: str, fields: list[Any] | None = None) -> dict[str, Any]:
    return {
        "name": "write",
        "comp_type": "write_csv",
        "filepath": path,
        "in_port_schemas": {"in": {"fields": fields} if fields else schema()},
    }


@dataclass
class Workload:
    """`bulk_max`: the engine/baseline time ratio engine.md §6 allows in bulk mode (None: no target);
    `original_row`: the original etl-core's row-mode rows/s for this work (shared/notes/measured.md), which row
    mode must beat 30x; `note`: what the baseline is, when that needs saying."""

    name: str
    baseline: str
    bulk_max: float | None
    original_row: int | None
    types: tuple[str, ...]
    make_inputs: Callable[[int], Inputs]
    make_job: Callable[[str, Inputs], dict[str, Any]]
    make_baseline_args: Callable[[Inputs], list[str]]
    note: str = ""
    skip_reason: str = ""

    def target(self, strategy: str) -> str:
        if strategy == "bulk" and self.bulk_max is not None:
            return f"within {self.bulk_max:g}x"
        if strategy == "row" and self.original_row is not None:
            return f">= 30x original row mode ({ROW_SPEEDUP * self.original_row:,} rows/s)"
        return self.note or "(no target)"

    def met(self, strategy: str, ratio: float, rows_per_s: float) -> bool | None:
        if strategy == "bulk" and self.bulk_max is not None:
            return ratio <= self.bulk_max
        if strategy == "row" and self.original_row is not None:
            return rows_per_s >= ROW_SPEEDUP * self.original_row
        return None

    def prepare(self, rows: int) -> Inputs | None:
        if not _registered(*self.types):
            self.skip_reason = f"component types {', '.join(self.types)} not all registered"
            return None
        try:
            return self.make_inputs(rows)
        except Exception as exc:  # noqa: BLE001 - a missing service skips the workload with its reason
            self.skip_reason = f"{type(exc).__name__}: {exc}"
            return None

    def job(self, strategy: str, inputs: Inputs) -> dict[str, Any]:
        job = self.make_job(strategy, inputs)
        job.update(name=f"bench {self.name}", strategy_type=strategy)
        return job

    def baseline_args(self, inputs: Inputs) -> list[str]:
        return self.make_baseline_args(inputs)


def _csv_inputs(rows: int) -> Inputs:
    src = ensure_csv(rows)
    return {"rows": rows, "src": str(src), "rel": f"data/{src.name}", "out": f"out/{src.stem}"}


def _csv_copy(strategy: str, i: Inputs) -> dict[str, Any]:
    return {"components": [_reader(i["rel"], "write"), _writer(i["out"] + "-copy.csv")]}


def _csv_filter(strategy: str, i: Inputs) -> dict[str, Any]:
    rule = {
        "logical_operator": "AND",
        "rules": [
            {"column": "amount", "operator": ">", "value": 500},
            {"column": "city", "operator": "in", "value": FILTER_CITIES},
        ],
    }
    flt = {
        "name": "keep",
        "comp_type": "filter",
        "rule": rule,
        "routes": {"pass": ["write"]},
        "in_port_schemas": {"in": schema()},
        "out_port_schemas": {"pass": schema()},
    }
    return {"components": [_reader(i["rel"], "keep"), flt, _writer(i["out"] + "-filter.csv")]}


def _csv_agg(strategy: str, i: Inputs) -> dict[str, Any]:
    agg = {
        "name": "agg",
        "comp_type": "aggregation",
        "group_by": ["city"],
        "routes": {"out": ["write"]},
        "aggregations": [
            {"src": "*", "op": "count", "dest": "n"},
            {"src": "amount", "op": "sum", "dest": "total"},
            {"src": "amount", "op": "mean", "dest": "avg"},
        ],
        "in_port_schemas": {"in": schema()},
        "out_port_schemas": {"out": {"fields": AGG_FIELDS}},
    }
    return {"components": [_reader(i["rel"], "agg"), agg, _writer(i["out"] + "-agg.csv", AGG_FIELDS)]}


def _join_inputs(rows: int) -> Inputs:
    i = _csv_inputs(rows)
    i["cities"] = str(ensure_cities())
    return i


def _csv_join(strategy: str, i: Inputs) -> dict[str, Any]:
    cities_schema = {
        "fields": [
            {"name": "city", "data_type": "string", "nullable": True},
            {"name": "region", "data_type": "string", "nullable": True},
        ]
    }
    right = {
        "name": "cities",
        "comp_type": "read_csv",
        "filepath": "data/cities.csv",
        "routes": {"out": [{"to": "join", "in_port": "R"}]},
        "out_port_schemas": {"out": cities_schema},
    }
    join = {
        "name": "join",
        "comp_type": "schema_mapping",
        "extra_input_ports": ["L", "R"],
        "extra_output_ports": ["J"],
        "routes": {"J": ["write"]},
        "in_port_schemas": {"L": schema(), "R": cities_schema},
        "out_port_schemas": {"J": {"fields": JOIN_FIELDS}},
        "join_plan": {
            "steps": [
                {
                    "left_port": "L",
                    "right_port": "R",
                    "left_on": "city",
                    "right_on": "city",
                    "how": "inner",
                    "output_port": "J",
                }
            ]
        },
    }
    return {"components": [_reader(i["rel"], "join", "L"), right, join, _writer(i["out"] + "-join.csv", JOIN_FIELDS)]}


def _pg_inputs(rows: int) -> Inputs:
    import asyncio

    import asyncpg

    async def prepare() -> None:
        conn = await asyncpg.connect(BENCH_PG_DSN, timeout=5)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_rows (id bigint, name text, city text, amount double precision,"
                " created_at text, active boolean, note text)"
            )
        finally:
            await conn.close()

    asyncio.run(prepare())
    i = _csv_inputs(rows)
    i["dsn"] = BENCH_PG_DSN
    return i


def _csv_pg(strategy: str, i: Inputs) -> dict[str, Any]:
    write = {
        "name": "write",
        "comp_type": "write_postgresql",
        "dsn": i["dsn"],
        "entity_name": "bench_rows",
        "operation": "truncate",
        "in_port_schemas": {"in": schema()},
    }
    return {"components": [_reader(i["rel"], "write"), write]}


def _pg_csv(strategy: str, i: Inputs) -> dict[str, Any]:
    read = {
        "name": "read",
        "comp_type": "read_postgresql",
        "dsn": i["dsn"],
        "entity_name": "bench_rows",
        "routes": {"out": ["write"]},
        "out_port_schemas": {"out": schema()},
    }
    return {"components": [read, _writer(i["out"] + "-from-pg.csv")]}


def _jsonl_inputs(rows: int) -> Inputs:
    src = ensure_jsonl(rows)
    return {"rows": rows, "src": str(src), "rel": f"data/{src.name}", "out": f"out/{src.stem}"}


def _jsonl_csv(strategy: str, i: Inputs) -> dict[str, Any]:
    read = {
        "name": "read",
        "comp_type": "read_json",
        "filepath": i["rel"],
        "routes": {"out": ["write"]},
        "out_port_schemas": {"out": schema()},
    }
    return {"components": [read, _writer(i["out"] + "-from-jsonl.csv")]}


EXCEL_MAX_ROWS = 100_000  # openpyxl parses cell by cell: a million rows would take minutes per run


def _format_inputs(make: Callable[[int], Any]) -> Callable[[int], Inputs]:
    def inputs(rows: int) -> Inputs:
        src = make(rows)
        real = min(rows, EXCEL_MAX_ROWS) if src.suffix == ".xlsx" else rows
        return {"rows": real, "src": str(src), "rel": f"data/{src.name}", "out": f"out/{src.name}"}

    return inputs


def _format_csv(comp_type: str) -> Callable[[str, Inputs], dict[str, Any]]:
    def job(strategy: str, i: Inputs) -> dict[str, Any]:
        read = {
            "name": "read",
            "comp_type": comp_type,
            "filepath": i["rel"],
            "routes": {"out": ["write"]},
            "out_port_schemas": {"out": schema()},
        }
        return {"components": [read, _writer(i["out"] + ".csv")]}

    return job


def _out(i: Inputs, suffix: str) -> str:
    from bench_data import ROOT

    return str(ROOT / ".bench" / (i["out"] + suffix))


WORKLOADS: list[Workload] = [
    Workload(
        "csv->csv",
        "csv_copy",
        None,
        3_300,
        ("read_csv", "write_csv"),
        _csv_inputs,
        _csv_copy,
        lambda i: [i["src"], _out(i, "-copy-base.csv")],
    ),
    Workload(
        "csv->filter->csv",
        "csv_filter",
        2.0,
        1_600,
        ("read_csv", "filter", "write_csv"),
        _csv_inputs,
        _csv_filter,
        lambda i: [i["src"], _out(i, "-filter-base.csv")],
    ),
    Workload(
        "csv->aggregation->csv",
        "csv_groupby",
        2.0,
        6_400,
        ("read_csv", "aggregation", "write_csv"),
        _csv_inputs,
        _csv_agg,
        lambda i: [i["src"], _out(i, "-agg-base.csv")],
    ),
    Workload(
        "csv->join->csv",
        "csv_join",
        None,
        None,
        ("read_csv", "schema_mapping", "write_csv"),
        _join_inputs,
        _csv_join,
        lambda i: [i["src"], i["cities"], _out(i, "-join-base.csv")],
    ),
    Workload(
        "csv->postgresql",
        "csv_to_pg",
        1.5,
        None,
        ("read_csv", "write_postgresql"),
        _pg_inputs,
        _csv_pg,
        lambda i: [i["src"], i["dsn"]],
    ),
    Workload(
        "postgresql->csv",
        "pg_to_csv",
        None,
        None,
        ("read_postgresql", "write_csv"),
        _pg_inputs,
        _pg_csv,
        lambda i: [i["dsn"], _out(i, "-from-pg-base.csv")],
        note="(no target; baseline is COPY)",
    ),
    Workload(
        "jsonl->csv",
        "jsonl_to_csv",
        None,
        None,
        ("read_json", "write_csv"),
        _jsonl_inputs,
        _jsonl_csv,
        lambda i: [i["src"], _out(i, "-from-jsonl-base.csv")],
    ),
    Workload(
        "json->csv",
        "json_to_csv",
        None,
        None,
        ("read_json", "write_csv"),
        _format_inputs(ensure_json_array),
        _format_csv("read_json"),
        lambda i: [i["src"], _out(i, "-base.csv")],
    ),
    Workload(
        "xml->csv",
        "xml_to_csv",
        None,
        None,
        ("read_xml", "write_csv"),
        _format_inputs(ensure_xml),
        _format_csv("read_xml"),
        lambda i: [i["src"], _out(i, "-base.csv")],
    ),
    Workload(
        "xlsx->csv",
        "xlsx_to_csv",
        None,
        None,
        ("read_excel", "write_csv"),
        _format_inputs(lambda rows: ensure_xlsx(min(rows, EXCEL_MAX_ROWS))),
        _format_csv("read_excel"),
        lambda i: [i["src"], _out(i, "-base.csv")],
        note=f"(no target; {EXCEL_MAX_ROWS:,} rows max)",
    ),
]

__all__ = ["COLUMNS", "WORKLOADS", "Workload"]
