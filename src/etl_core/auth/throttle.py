"""Slowing down repeated failed client authentications.

Each key (the client id, and separately the caller's address) may fail a few times freely; after that every
further attempt from that key waits `base * 2**n` seconds (capped) before it is even checked, whatever its
outcome, so guessing gets slower and slower. A success clears the key; failures older than `window` are forgotten.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class FailureThrottle:
    def __init__(
        self,
        *,
        free_failures: int = 5,
        base_delay: float = 0.25,
        max_delay: float = 2.0,
        window: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_failures = free_failures
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, _Failures] = OrderedDict()

    def _current(self, key: str) -> int:
        entry = self._failures.get(key)
        if entry is None:
            return 0
        if self._clock() - entry.last > self.window:
            del self._failures[key]
            return 0
        return entry.count

    def delay(self, *keys: str) -> float:
        """Seconds an attempt from these keys waits before it is checked (0 while under the free failures)."""
        worst = max((self._current(k) for k in keys), default=0)
        excess = worst - max(self.free_failures, 1)
        if excess < 0:
            return 0.0
        return float(min(self.max_delay, self.base_delay * 2**excess))

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            entry = self._failures.pop(key, None)
            count = 1 if entry is None or now - entry.last > self.window else entry.count + 1
            self._failures[key] = _Failures(count, now)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
