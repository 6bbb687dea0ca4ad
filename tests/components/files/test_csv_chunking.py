"""Wherever the reader's chunks happen to end (inside a quoted field with line breaks, after a stray quote, in the
middle of a CRLF), it reads the same rows as `csv.reader` over the whole text: seeded random files, every chunk
size from one byte up."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest

from etl_core.components.files.csv_format import CsvBatchReader, CsvDialect

PIECES = ["a", "b c", "x,y", 'say "hi"', "line\nbreak", "two\n\nlines", "", "ü", '12" pipe']


def random_csv(rnd: random.Random) -> str:
    rows = [[rnd.choice(PIECES) for _ in range(3)] for _ in range(rnd.randint(1, 40))]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator=rnd.choice(["\n", "\r\n"]))
    writer.writerow(["c1", "c2", "c3"])
    writer.writerows(rows)
    text = buf.getvalue()
    if rnd.random() < 0.3:
        text = text.replace("\nb c", '\n12" b c', 1)  # a stray quote in an unquoted field breaks quote parity
    return text


def read_rows(path: Path, chunk_size: int, batch_size: int) -> list[list[str | None]]:
    reader = CsvBatchReader(path, CsvDialect(), None, batch_size=batch_size, chunk_size=chunk_size)
    rows: list[list[str | None]] = []
    try:
        while (batch := reader.next_batch()) is not None:
            assert not batch.errors
            rows.extend(list(record.values()) for record in batch.records)
    finally:
        reader.close()
    return rows


@pytest.mark.parametrize("seed", range(40))
def test_rows_are_the_same_whatever_the_chunk_size(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    text = random_csv(rnd)
    path = tmp_path / "random.csv"
    path.write_bytes(text.encode("utf-8"))
    expected = [
        [None if value == "" else value for value in row]
        for row in csv.reader(io.StringIO(text, newline=""), strict=False)
        if row
    ][1:]

    for chunk_size in (1, 2, 3, 7, 16, 64, 300, 1 << 17):
        assert read_rows(path, chunk_size, rnd.randint(1, 50)) == expected, f"chunk size {chunk_size}"
