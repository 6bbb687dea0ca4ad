"""Join state that may outgrow memory: a FIFO of batches and the indexed right side, both spilling to disk.

- `MemoryBudget` is shared by every store of one component; a store that pushes it over its limit moves what it
  holds to disk. Sizes are estimates (a sample of each batch, `sys.getsizeof` one level deep).
- `BatchSpool` keeps batches in arrival order (the left side of a join while its right side is still being
  read); spilled, it is a file of pickled batches written and read in a worker thread.
- `RightStore` is the right side of a join: rows in arrival order with a hash index on the join key; spilled,
  it is a SQLite database in the spill directory (rows keyed by sequence number, indexed by key), probed once
  per left batch with all of that batch's keys.

All disk work runs in worker threads, one hop per batch. Spill files live in one private directory that is
removed when the component ends, whether it succeeds, fails or is cancelled.
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import anyio

from etl_core.components.base import Batch, Record
from etl_core.components.ops._accumulators import freeze

DEFAULT_BUDGET = 256 * 1024 * 1024
_SAMPLE = 8
_FETCH = 5_000


def join_key(value: Any) -> Any:
    """The value a join matches on: None never matches; 1, 1.0 and Decimal('1') are one key; "1" is another;
    True is not 1; lists and dicts match by content."""
    kind = type(value)
    if kind is str or kind is int or value is None:
        return value
    if kind is bool:
        return ("\x00bool", value)
    if kind is float:
        if value != value:  # NaN equals nothing
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (list, dict)):
        return freeze(value)
    return value


def estimate_bytes(batch: Sequence[Record]) -> int:
    """A rough size of a batch of records in memory (a sample, one level deep)."""
    n = len(batch)
    if not n:
        return 0
    sample = batch[:: max(1, n // _SAMPLE)][:_SAMPLE]
    total = 0
    for record in sample:
        total += sys.getsizeof(record)
        for value in record.values():
            total += sys.getsizeof(value)
            if isinstance(value, (dict, list)):
                inner = value.values() if isinstance(value, dict) else value
                total += sum(sys.getsizeof(v) for v in inner)
    return total * n // len(sample)


class SpillDir:
    """One private directory for a component's spill files, created on first use."""

    def __init__(self, parent: str | Path | None) -> None:
        self._parent = parent
        self.path: Path | None = None

    def file(self, name: str) -> Path:
        if self.path is None:
            if self._parent is not None:
                Path(self._parent).mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix="etl-join-", dir=self._parent))
        return self.path / name

    def remove(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None


class MemoryBudget:
    """Bytes the join state of one component may hold in memory before it spills."""

    def __init__(self, limit: int, spill_dir: SpillDir) -> None:
        self.limit = limit
        self.used = 0
        self.spill_dir = spill_dir
        self.spills = 0

    def take(self, n: int) -> bool:
        """Count `n` more bytes; False when that goes over the limit."""
        self.used += n
        return self.used <= self.limit

    def give(self, n: int) -> None:
        self.used -= n


class BatchSpool:
    """Batches kept in order, in memory up to the budget and in a file beyond it; drained once."""

    def __init__(self, budget: MemoryBudget, name: str) -> None:
        self._budget = budget
        self._name = name
        self._batches: list[Batch] = []
        self._bytes = 0
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self.records = 0

    @property
    def spilled(self) -> bool:
        return self._file is not None

    async def append(self, batch: Batch) -> None:
        if not batch:
            return
        self.records += len(batch)
        if self._file is not None:
            await anyio.to_thread.run_sync(self._write, [batch])
            return
        size = estimate_bytes(batch)
        self._batches.append(batch)
        self._bytes += size
        if not self._budget.take(size):
            self._budget.spills += 1
            held, self._batches = self._batches, []
            self._budget.give(self._bytes)
            self._bytes = 0
            await anyio.to_thread.run_sync(self._open_and_write, held)

    def _open_and_write(self, batches: list[Batch]) -> None:
        self._path = self._budget.spill_dir.file(f"{self._name}.spool")
        self._file = open(self._path, "wb")  # noqa: SIM115 - closed in drain/close
        self._write(batches)

    def _write(self, batches: list[Batch]) -> None:
        assert self._file is not None
        for batch in batches:
            pickle.dump(batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    async def drain(self) -> AsyncIterator[Batch]:
        """Every batch in arrival order, then the spool is empty (and its file gone)."""
        if self._file is not None:
            await anyio.to_thread.run_sync(self._file.close)
            assert self._path is not None
            reader = await anyio.to_thread.run_sync(open, self._path, "rb")
            try:
                while True:
                    batch = await anyio.to_thread.run_sync(_load_or_none, reader)
                    if batch is None:
                        break
                    yield batch
            finally:
                reader.close()
            self._file = None
        held, self._batches = self._batches, []
        self._budget.give(self._bytes)
        self._bytes = 0
        for batch in held:
            yield batch

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _load_or_none(fh: IO[bytes]) -> Batch | None:
    try:
        batch: Batch = pickle.load(fh)  # our own spill file
    except EOFError:
        return None
    return batch


Match = tuple[int, Record]


class RightStore:
    """The right side of one join: rows by arrival order, found by key; on disk beyond the budget."""

    def __init__(self, keys_of: Callable[[Batch], Sequence[Any]], budget: MemoryBudget, name: str) -> None:
        self._keys_of = keys_of
        self._budget = budget
        self._name = name
        self.rows: list[Record] = []
        self.index: dict[Any, int | list[int]] = {}
        self._bytes = 0
        self._db: sqlite3.Connection | None = None
        self.count = 0
        self.first: Record | None = None
        self._matched_memory: bytearray | None = None

    @property
    def spilled(self) -> bool:
        return self._db is not None

    async def add(self, batch: Batch) -> None:
        if not batch:
            return
        if self.first is None:
            self.first = batch[0]
        start = self.count
        self.count += len(batch)
        if self._db is not None:
            await anyio.to_thread.run_sync(self._insert, batch, start)
            return
        self._index(batch, start)
        size = estimate_bytes(batch)
        self._bytes += size
        if not self._budget.take(size):
            self._budget.spills += 1
            await anyio.to_thread.run_sync(self._spill)

    def _index(self, batch: Batch, start: int) -> None:
        index = self.index
        self.rows.extend(batch)
        for seq, key in enumerate(map(join_key, self._keys_of(batch)), start):
            if key is None:
                continue
            hit = index.get(key)
            if hit is None:
                index[key] = seq
            elif isinstance(hit, int):
                index[key] = [hit, seq]
            else:
                hit.append(seq)

    def _spill(self) -> None:
        path = self._budget.spill_dir.file(f"{self._name}.sqlite")
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE r (seq INTEGER PRIMARY KEY, k TEXT, rec BLOB)")
        db.execute("CREATE INDEX r_k ON r (k)")
        db.execute("CREATE TABLE matched (seq INTEGER PRIMARY KEY)")
        db.execute("CREATE TABLE probe (k TEXT PRIMARY KEY)")
        self._db = db
        rows, self.rows, self.index = self.rows, [], {}
        self._budget.give(self._bytes)
        self._bytes = 0
        for start in range(0, len(rows), _FETCH):
            self._insert(rows[start : start + _FETCH], start)

    def _insert(self, batch: Batch, start: int) -> None:
        assert self._db is not None
        keys = map(join_key, self._keys_of(batch))
        dump = pickle.dumps
        proto = pickle.HIGHEST_PROTOCOL
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO r (seq, k, rec) VALUES (?, ?, ?)",
            (
                (seq, _db_key(key), dump(rec, proto))
                for seq, (rec, key) in enumerate(zip(batch, keys, strict=True), start)
            ),
        )
        self._db.execute("COMMIT")

    def matched_flags(self) -> bytearray:
        """In memory: one flag per right row, set when a left row matched it."""
        if self._matched_memory is None:
            self._matched_memory = bytearray(len(self.rows))
        return self._matched_memory

    async def probe(self, keys: Iterable[Any]) -> dict[Any, list[Match]]:
        """Spilled: the matches of every key, in right order (by the keys as `join_key` made them)."""
        wanted = {k for k in keys if k is not None}
        if not wanted:
            return {}
        return await anyio.to_thread.run_sync(self._probe, wanted)

    def _probe(self, wanted: set[Any]) -> dict[Any, list[Match]]:
        assert self._db is not None
        db = self._db
        by_text = {_db_key(k): k for k in wanted}
        db.execute("BEGIN")
        db.executemany("INSERT INTO probe (k) VALUES (?)", ((t,) for t in by_text))
        found: dict[Any, list[Match]] = {}
        cursor = db.execute("SELECT r.k, r.seq, r.rec FROM probe JOIN r ON r.k = probe.k ORDER BY r.seq")
        for text, seq, blob in cursor:
            found.setdefault(by_text[text], []).append((seq, pickle.loads(blob)))  # our own spill file
        db.execute("DELETE FROM probe")
        db.execute("COMMIT")
        return found

    async def mark_matched(self, seqs: list[int]) -> None:
        """Spilled: remember which right rows found a partner (for right and outer joins)."""
        if seqs and self._db is not None:
            await anyio.to_thread.run_sync(self._mark, seqs)

    def _mark(self, seqs: list[int]) -> None:
        assert self._db is not None
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR IGNORE INTO matched (seq) VALUES (?)", ((s,) for s in seqs))
        self._db.execute("COMMIT")

    async def unmatched(self, size: int) -> AsyncIterator[Batch]:
        """The right rows no left row matched, in right order, in batches of `size`."""
        if self._db is None:
            flags = self.matched_flags()
            rows = [r for r, hit in zip(self.rows, flags, strict=True) if not hit]
            for start in range(0, len(rows), size):
                yield rows[start : start + size]
            return
        cursor = await anyio.to_thread.run_sync(
            self._db.execute, "SELECT rec FROM r WHERE seq NOT IN (SELECT seq FROM matched) ORDER BY seq"
        )
        while True:
            chunk = await anyio.to_thread.run_sync(cursor.fetchmany, size)
            if not chunk:
                break
            yield [pickle.loads(blob) for (blob,) in chunk]  # our own spill file

    def close(self) -> None:
        self._budget.give(self._bytes)
        self._bytes = 0
        self.rows, self.index = [], {}
        if self._db is not None:
            self._db.close()
            self._db = None


def _db_key(key: Any) -> str | None:
    # repr is canonical for the key kinds join_key returns (str, int, float, tuples of them, dates, ...)
    return None if key is None else repr(key)
