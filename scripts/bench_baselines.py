"""Hand-written baselines for `make bench`: the same work as the engine's jobs, written as plain loops.

    python scripts/bench_baselines.py csv_copy IN OUT
Each reads the benchmark CSV, converts the declared non-string columns once (as the engine must), does its
work, and writes the result.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from typing import Any

FILTER_CITIES = frozenset(f"City{n:02d}" for n in range(10))


def _typed(path: str) -> Iterator[tuple[Any, ...]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for r in reader:
            yield (int(r[0]), r[1], r[2], float(r[3]), r[4], r[5] == "true", r[6])


def _writer(path: str):  # type: ignore[no-untyped-def]
    fh = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    return fh, csv.writer(fh, lineterminator="\n")


def csv_copy(src: str, dst: str) -> None:
    fh, w = _writer(dst)
    with fh:
        w.writerow(("id", "name", "city", "amount", "created_at", "active", "note"))
        w.writerows(_typed(src))


def csv_filter(src: str, dst: str) -> None:
    fh, w = _writer(dst)
    with fh:
        w.writerow(("id", "name", "city", "amount", "created_at", "active", "note"))
        w.writerows(r for r in _typed(src) if r[3] > 500 and r[2] in FILTER_CITIES)


def csv_groupby(src: str, dst: str) -> None:
    groups: dict[str, list[float]] = {}
    for r in _typed(src):
        acc = groups.get(r[2])
        if acc is None:
            groups[r[2]] = acc = [0, 0.0]
        acc[0] += 1
        acc[1] += r[3]
    fh, w = _writer(dst)
    with fh:
        w.writerow(("city", "n", "total", "avg"))
        for city in sorted(groups):
            n, total = groups[city]
            w.writerow((city, int(n), total, total / n))


def csv_join(src: str, cities: str, dst: str) -> None:
    with open(cities, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        right: dict[str, list[str]] = {}
        for city, region in reader:
            right.setdefault(city, []).append(region)
    fh, w = _writer(dst)
    with fh:
        w.writerow(("city", "id", "name", "amount", "created_at", "active", "note", "region"))
        for r in _typed(src):
            for region in right.get(r[2], ()):
                w.writerow((r[2], r[0], r[1], r[3], r[4], r[5], r[6], region))


def csv_to_pg(src: str, dsn: str) -> None:
    import asyncio

    import asyncpg

    async def load() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                await conn.execute("TRUNCATE bench_rows")
                batch: list[tuple[Any, ...]] = []
                for r in _typed(src):
                    batch.append(r)
                    if len(batch) == 10_000:
                        await conn.copy_records_to_table("bench_rows", records=batch)
                        batch = []
                if batch:
                    await conn.copy_records_to_table("bench_rows", records=batch)
        finally:
            await conn.close()

    asyncio.run(load())


def pg_to_csv(dsn: str, dst: str) -> None:
    import asyncio

    import asyncpg

    async def dump() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.copy_from_query("SELECT * FROM bench_rows", output=dst, format="csv", header=True)
        finally:
            await conn.close()

    asyncio.run(dump())


def jsonl_to_csv(src: str, dst: str) -> None:
    import orjson

    cols = ("id", "name", "city", "amount", "created_at", "active", "note")
    fh, w = _writer(dst)
    with fh, open(src, "rb") as inp:
        w.writerow(cols)
        for line in inp:
            rec = orjson.loads(line)
            w.writerow([rec.get(c) for c in cols])


COLS = ("id", "name", "city", "amount", "created_at", "active", "note")


def json_to_csv(src: str, dst: str) -> None:
    import ijson

    fh, w = _writer(dst)
    with fh, open(src, "rb") as inp:
        w.writerow(COLS)
        for rec in ijson.items(inp, "item", use_float=True):
            w.writerow([rec.get(c) for c in COLS])


def xml_to_csv(src: str, dst: str) -> None:
    import xml.etree.ElementTree as ET

    fh, w = _writer(dst)
    with fh:
        w.writerow(COLS)
        for _, el in ET.iterparse(src):
            if el.tag == "row":
                w.writerow(
                    (
                        int(el.findtext("id") or 0),
                        el.findtext("name"),
                        el.findtext("city"),
                        float(el.findtext("amount") or 0),
                        el.findtext("created_at"),
                        el.findtext("active") == "true",
                        el.findtext("note"),
                    )
                )
                el.clear()


def xlsx_to_csv(src: str, dst: str) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(src, read_only=True)
    fh, w = _writer(dst)
    with fh:
        rows = wb["Sheet1"].iter_rows(values_only=True)
        w.writerow(next(rows))
        w.writerows(rows)
    wb.close()


BASELINES = {
    f.__name__: f
    for f in (
        csv_copy,
        csv_filter,
        csv_groupby,
        csv_join,
        csv_to_pg,
        pg_to_csv,
        jsonl_to_csv,
        json_to_csv,
        xml_to_csv,
        xlsx_to_csv,
    )
}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    BASELINES[name](*args)
