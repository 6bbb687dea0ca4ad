"""Columnar batches: the same records held as one list per field, for components that work on columns.

A record is a mapping, and building one `dict` per record costs about as much as parsing the row it came from.
Between components that can work on whole columns (a CSV reader, the filter, the aggregation, the CSV and
database writers) a batch therefore travels as `Columns`: the field names and one value list per field, all
of one length. The planner decides which out ports may carry them (`Plan.columnar_ports`): only ports whose
every receiver declared it accepts columns. Every other component keeps seeing lists of records, and a
component that accepts columns accepts plain record lists on the same port as well.

`Columns` is immutable by contract, like every batch: an out port with several edges hands the same object to
every receiver. Methods that select build new value lists; they never change the ones they were given.

A producer that knows the exact type of every value of a column (a CSV reader that converted the column in one
pass: all `int`, all `float`, all `str` without nulls) says so in `kinds`, so that a consumer may use a C-level
operation on the whole column (`map(operator.gt, column, repeat(500))`) where it would otherwise test value by
value. `None` means "not known" (mixed, or nulls among the values).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

Record = dict[str, Any]


class Columns:
    """A batch of records stored column by column: `names[i]` holds the values `data[i]`."""

    __slots__ = ("_index", "_n", "data", "kinds", "names")

    def __init__(
        self, names: Sequence[str], data: Sequence[Sequence[Any]], kinds: Sequence[type | None] | None = None
    ) -> None:
        if len(names) != len(data) or not names:
            raise ValueError(f"columns need one value list per name, got {len(names)} names and {len(data)} lists")
        self.names: tuple[str, ...] = tuple(names)
        self.data: list[Sequence[Any]] = list(data)
        self.kinds: tuple[type | None, ...] = tuple(kinds) if kinds is not None else (None,) * len(self.names)
        if len(self.kinds) != len(self.names):
            raise ValueError(f"columns need one kind per name, got {len(self.kinds)} for {len(self.names)} names")
        lengths = set(map(len, self.data))
        if len(lengths) != 1:
            raise ValueError(f"columns need value lists of one length, got lengths {sorted(lengths)}")
        self._n = lengths.pop()
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n > 0

    def __repr__(self) -> str:
        return f"Columns({list(self.names)!r}, {self._n} rows)"

    def __iter__(self) -> Iterator[Record]:
        """Records one at a time (each a fresh dict)."""
        names = self.names
        return map(dict, map(zip, repeat(names), zip(*self.data, strict=True)))

    def __getitem__(self, i: int) -> Record:
        """Record `i`, built on demand (for error reports: the common paths never ask for single records)."""
        return {name: column[i] for name, column in zip(self.names, self.data, strict=True)}

    def has(self, name: str) -> bool:
        return name in self._positions()

    def column(self, name: str) -> Sequence[Any]:
        """The values of field `name` (KeyError when the batch has no such field)."""
        return self.data[self._positions()[name]]

    def kind(self, name: str) -> type | None:
        """The exact type of every value of field `name`, when the producer knew it (else None)."""
        return self.kinds[self._positions()[name]]

    def _positions(self) -> dict[str, int]:
        if self._index is None:
            self._index = {name: i for i, name in enumerate(self.names)}
        return self._index

    def records(self) -> list[Record]:
        """The batch as a list of records (what components that do not work on columns receive)."""
        return list(iter(self))

    def take(self, indexes: Sequence[int]) -> Columns:
        """The records at `indexes`, in that order."""
        return Columns(self.names, [pick(indexes, column) for column in self.data], self.kinds)

    def slice(self, start: int, stop: int) -> Columns:
        return Columns(self.names, [column[start:stop] for column in self.data], self.kinds)

    @staticmethod
    def concat(batches: Sequence[Columns]) -> Columns:
        """One batch holding the records of `batches` (which share their field names), in order."""
        first = batches[0]
        if len(batches) == 1:
            return first
        data: list[list[Any]] = [[] for _ in first.names]
        kinds = list(first.kinds)
        for batch in batches:
            if batch.names != first.names:
                raise ValueError(f"cannot concatenate columns {batch.names} to {first.names}")
            for out, column in zip(data, batch.data, strict=True):
                out.extend(column)
            kinds = [k if k is other else None for k, other in zip(kinds, batch.kinds, strict=True)]
        return Columns(first.names, data, kinds)


def pick(indexes: Sequence[int], values: Sequence[Any]) -> list[Any]:
    """`values` at `indexes`, in that order (one C-level call)."""
    if len(indexes) > 1:
        return list(itemgetter(*indexes)(values))
    return [values[indexes[0]]] if indexes else []


def batch_slice(batch: list[Record] | Columns, start: int, stop: int) -> list[Record] | Columns:
    """Records `start:stop` of a batch of either kind, as a batch of the same kind."""
    return batch.slice(start, stop) if isinstance(batch, Columns) else batch[start:stop]


def batch_concat(batches: Sequence[list[Record] | Columns]) -> list[Record] | Columns:
    """One batch holding the records of `batches` in order: `Columns` when they all are, with the same
    fields; a list of records otherwise (an empty list for no batches)."""
    if batches and all(isinstance(b, Columns) for b in batches):
        columnar = [b for b in batches if isinstance(b, Columns)]
        if all(b.names == columnar[0].names for b in columnar):
            return Columns.concat(columnar)
    records: list[Record] = []
    for b in batches:
        records.extend(b.records() if isinstance(b, Columns) else b)
    return records


def as_records(batch: list[Record] | Columns) -> list[Record]:
    """A batch of either kind as a list of records."""
    return batch.records() if isinstance(batch, Columns) else batch
