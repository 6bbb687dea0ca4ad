"""Which bucket a record goes to in a shuffle: the same bucket in every process for keys that are equal.

Python's `hash` of text is salted per process, so Ray workers would disagree; `stable_hash` hashes text with
CRC-32 and keeps Python's numeric hash for numbers (deterministic, and equal for 1, 1.0 and True, which the
local aggregation groups together). Join keys are first normalised with the join's own `join_key`; records
whose join key is null match nothing and are spread over the buckets instead of piling up in one.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from etl_core.components.base import Batch, Record
from etl_core.components.ops._accumulators import freeze, sort_key
from etl_core.components.ops._spill import join_key
from etl_core.components.support.nesting import get_path, split_path

_MISSING: Any = object()
_NONE_HASH = 0x5BD1E995
_NAN_HASH = 0x27D4EB2F
_MASK = (1 << 61) - 1


def stable_hash(value: Any) -> int:
    """A hash equal across processes, consistent with `==` for numbers, text, None, tuples, lists and dicts."""
    kind = type(value)
    if kind is str:
        return zlib.crc32(value.encode("utf-8", "surrogatepass"))
    if kind is int or kind is bool:
        return hash(value) & _MASK
    if kind is float or isinstance(value, Decimal):
        if value != value:  # NaN equals nothing; one bucket holds them all
            return _NAN_HASH
        return hash(value) & _MASK
    if value is None:
        return _NONE_HASH
    if kind is tuple:
        acc = 0x345678
        for item in value:
            acc = ((acc * 1000003) ^ stable_hash(item)) & _MASK
        return acc
    if kind is bytes:
        return zlib.crc32(value)
    if isinstance(value, (list, dict)):
        return stable_hash(freeze(value))
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass"))


def path_getter(path: str) -> Callable[[Record], Any]:
    """The value at a dotted path (a flat record's dotted key wins, as in the data operations)."""
    if "." not in path and "[" not in path:
        return lambda record: record.get(path)
    parts = split_path(path)

    def get(record: Record) -> Any:
        value = record.get(path, _MISSING)
        return get_path(record, parts) if value is _MISSING else value

    return get


@dataclass(frozen=True, slots=True)
class ShuffleKey:
    """How an exit buckets records: by the group values (`group`), by one join key (`join`), or round robin."""

    buckets: int
    paths: tuple[str, ...] = ()
    mode: str = "group"

    def bucketize(self, batch: Batch, seed: int) -> list[tuple[int, Batch]]:
        """The batch cut into (bucket, records) pieces, records keeping their order within a bucket.

        `seed` varies the round robin (records without a key) between calls.
        """
        n = self.buckets
        if n == 1:
            return [(0, batch)]
        buckets: list[Batch] = [[] for _ in range(n)]
        if self.mode == "spread" or not self.paths:
            for i, record in enumerate(batch):
                buckets[(seed + i) % n].append(record)
        elif self.mode == "join":
            get = path_getter(self.paths[0])
            for i, record in enumerate(batch):
                key = join_key(get(record))
                bucket = (seed + i) % n if key is None else stable_hash(key) % n
                buckets[bucket].append(record)
        else:
            getters = [path_getter(p) for p in self.paths]
            if len(getters) == 1:
                get = getters[0]
                for record in batch:
                    buckets[stable_hash(get(record)) % n].append(record)
            else:
                for record in batch:
                    buckets[stable_hash(tuple(g(record) for g in getters)) % n].append(record)
        return [(b, records) for b, records in enumerate(buckets) if records]


def group_sort_key(paths: Sequence[str]) -> Callable[[Record], tuple[Any, ...]]:
    """The order of aggregated records: by their group values, ascending, nulls last (the local order)."""
    getters = [path_getter(p) for p in paths]
    return lambda record: tuple(sort_key(g(record)) for g in getters)
