"""Streaming accumulators of the aggregation, and the total order used for group keys and min/max.

Each accumulator takes a group's values of one batch at a time (`update`), so the per-record work is one
C-level pass (`sum`, `min`, `len`, ...) per batch and group. Only median, nunique and list keep values.
Numeric accumulators receive numbers only (the component turns numeric strings into numbers first and
reports the rest as record errors); every accumulator but `list` receives non-null values only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

# ranks of the total order: booleans, numbers, NaN, text, dates/times, anything else (by its repr); null last
_BOOL, _NUMBER, _NAN, _TEXT, _TIME, _OTHER = range(6)


def sort_key(value: Any) -> tuple[int, int, Any]:
    """A key that orders any values without raising: by kind, then by value; null sorts after everything."""
    if value is None:
        return (1, 0, 0)
    if isinstance(value, bool):
        return (0, _BOOL, value)
    if isinstance(value, (int, float)) or _is_decimal(value):
        if value != value:  # NaN equals nothing, so it gets a rank of its own
            return (0, _NAN, 0)
        return (0, _NUMBER, value)
    if isinstance(value, str):
        return (0, _TEXT, value)
    if isinstance(value, date):
        # dates and datetimes (naive or aware) do not compare with each other; their ISO text does
        return (0, _TIME, value.isoformat())
    return (0, _OTHER, repr(value))


def _is_decimal(value: Any) -> bool:
    return type(value).__name__ == "Decimal"


def freeze(value: Any) -> Any:
    """A hashable stand-in for lists and dicts (for group keys and nunique)."""
    if isinstance(value, list):
        return ("\x00list", tuple(freeze(v) for v in value))
    if isinstance(value, dict):
        return ("\x00dict", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    return value


class Accumulator:
    """One aggregation of one group. `wants_nulls` accumulators get every value, the others non-null ones."""

    __slots__ = ()
    wants_nulls = False
    numeric = False

    def update(self, values: Sequence[Any]) -> None:
        raise NotImplementedError

    def result(self) -> Any:
        raise NotImplementedError


class CountRows(Accumulator):
    __slots__ = ("n",)
    wants_nulls = True

    def __init__(self) -> None:
        self.n = 0

    def update(self, values: Sequence[Any]) -> None:
        self.n += len(values)

    def result(self) -> Any:
        return self.n


class Count(CountRows):
    __slots__ = ()
    wants_nulls = False


class Sum(Accumulator):
    __slots__ = ("total",)
    numeric = True

    def __init__(self) -> None:
        self.total: Any = None

    def update(self, values: Sequence[Any]) -> None:
        if values:
            part = sum(values)
            self.total = part if self.total is None else self.total + part

    def result(self) -> Any:
        # a sum of booleans counts the true values
        return int(self.total) if isinstance(self.total, bool) else self.total


class Mean(Accumulator):
    __slots__ = ("n", "total")
    numeric = True

    def __init__(self) -> None:
        self.n = 0
        self.total: Any = 0

    def update(self, values: Sequence[Any]) -> None:
        self.n += len(values)
        self.total += sum(values)

    def result(self) -> Any:
        return float(self.total) / self.n if self.n else None


class Std(Accumulator):
    """Sample standard deviation (ddof 1), merged batch by batch (Chan et al.) for numerical stability."""

    __slots__ = ("m2", "mean", "n")
    numeric = True

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def update(self, values: Sequence[Any]) -> None:
        nb = len(values)
        if not nb:
            return
        floats = [float(v) for v in values]
        mean_b = math.fsum(floats) / nb
        m2_b = math.fsum((v - mean_b) ** 2 for v in floats)
        n = self.n + nb
        delta = mean_b - self.mean
        self.m2 += m2_b + delta * delta * self.n * nb / n
        self.mean += delta * nb / n
        self.n = n

    def result(self) -> Any:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None


class Median(Accumulator):
    __slots__ = ("values",)
    numeric = True

    def __init__(self) -> None:
        self.values: list[Any] = []

    def update(self, values: Sequence[Any]) -> None:
        self.values.extend(values)

    def result(self) -> Any:
        return float(statistics.median(self.values)) if self.values else None


class _Extreme(Accumulator):
    __slots__ = ("best",)
    pick: Callable[..., Any] = min

    def __init__(self) -> None:
        self.best: Any = None

    def update(self, values: Sequence[Any]) -> None:
        if not values:
            return
        candidates = list(values) if self.best is None else [self.best, *values]
        try:
            self.best = type(self).pick(candidates)
        except TypeError:  # mixed kinds: fall back to the total order
            self.best = type(self).pick(candidates, key=sort_key)

    def result(self) -> Any:
        return self.best


class Min(_Extreme):
    __slots__ = ()
    pick = min


class Max(_Extreme):
    __slots__ = ()
    pick = max


class NUnique(Accumulator):
    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: set[Any] = set()

    def update(self, values: Sequence[Any]) -> None:
        try:
            self.seen.update(values)
        except TypeError:
            self.seen.update(map(freeze, values))

    def result(self) -> Any:
        return len(self.seen)


class First(Accumulator):
    __slots__ = ("seen", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.seen = False

    def update(self, values: Sequence[Any]) -> None:
        if values and not self.seen:
            self.value = values[0]
            self.seen = True

    def result(self) -> Any:
        return self.value


class Last(Accumulator):
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Any = None

    def update(self, values: Sequence[Any]) -> None:
        if values:
            self.value = values[-1]

    def result(self) -> Any:
        return self.value


class ListOf(Accumulator):
    __slots__ = ("values",)
    wants_nulls = True

    def __init__(self) -> None:
        self.values: list[Any] = []

    def update(self, values: Sequence[Any]) -> None:
        self.values.extend(values)

    def result(self) -> Any:
        return self.values


ACCUMULATORS: dict[str, type[Accumulator]] = {
    "count": Count,
    "sum": Sum,
    "min": Min,
    "max": Max,
    "mean": Mean,
    "median": Median,
    "std": Std,
    "nunique": NUnique,
    "first": First,
    "last": Last,
    "list": ListOf,
}
