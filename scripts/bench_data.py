"""Deterministic benchmark data: a 7-column CSV (and the same rows as JSON Lines), cached under .bench/data."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".bench" / "data"
COLUMNS = ("id", "name", "city", "amount", "created_at", "active", "note")
TYPES = ("integer", "string", "string", "float", "string", "boolean", "string")
CITIES = tuple(f"City{n:02d}" for n in range(40))
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Tim")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Lee")
WORDS = ("fast", "slow", "blue", "said", "order", "late", "ok", "check", "refund", "box")


def schema() -> dict[str, object]:
    return {"fields": [{"name": n, "data_type": t, "nullable": True} for n, t in zip(COLUMNS, TYPES, strict=True)]}


def _rows(count: int):  # type: ignore[no-untyped-def]
    rng = random.Random(42)
    for i in range(count):
        note = f'{rng.choice(WORDS)} "{rng.choice(WORDS)}", {rng.choice(WORDS)}'
        yield (
            i,
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            rng.choice(CITIES),
            round(rng.random() * 1000, 2),
            f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}",
            "true" if rng.random() < 0.5 else "false",
            note,
        )


def ensure_csv(rows: int) -> Path:
    """The benchmark CSV with `rows` rows (written once, then reused)."""
    path = DATA / f"bench-{rows}.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(COLUMNS)
            w.writerows(_rows(rows))
        tmp.replace(path)
    return path


def ensure_jsonl(rows: int) -> Path:
    """The same rows as JSON Lines, typed."""
    path = DATA / f"bench-{rows}.jsonl"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for r in _rows(rows):
                rec = dict(zip(COLUMNS, r, strict=True))
                rec["active"] = rec["active"] == "true"
                fh.write(json.dumps(rec) + "\n")
        tmp.replace(path)
    return path


def ensure_cities() -> Path:
    """A small right side for joins: city -> region."""
    path = DATA / "cities.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(("city", "region"))
            w.writerows((c, f"Region{n % 5}") for n, c in enumerate(CITIES))
    return path


BENCH_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def ensure_json_array(rows: int) -> Path:
    """The same rows as one JSON array."""
    path = DATA / f"bench-{rows}.json"
    if not path.exists():
        src = ensure_jsonl(rows)
        tmp = path.with_suffix(".tmp")
        with open(src, encoding="utf-8") as inp, open(tmp, "w", encoding="utf-8") as out:
            out.write("[\n")
            for i, line in enumerate(inp):
                out.write(("," if i else "") + line)
            out.write("]\n")
        tmp.replace(path)
    return path


def ensure_xml(rows: int) -> Path:
    """The same rows as <rows><row><id>..</id>...</row></rows>."""
    from xml.sax.saxutils import escape

    path = DATA / f"bench-{rows}.xml"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("<rows>\n")
            for r in _rows(rows):
                fh.write("<row>" + "".join(f"<{c}>{escape(str(v))}</{c}>" for c, v in zip(COLUMNS, r, strict=True)))
                fh.write("</row>\n")
            fh.write("</rows>\n")
        tmp.replace(path)
    return path


def ensure_xlsx(rows: int) -> Path:
    """The same rows as an Excel sheet (Sheet1), written with openpyxl's write-only mode."""
    from openpyxl import Workbook

    path = DATA / f"bench-{rows}.xlsx"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Sheet1")
        ws.append(list(COLUMNS))
        for r in _rows(rows):
            ws.append([*r[:5], r[5] == "true", r[6]])
        tmp = path.with_name(path.stem + ".tmp.xlsx")
        wb.save(tmp)
        tmp.replace(path)
    return path
