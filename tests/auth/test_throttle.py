"""Repeated failed authentications from one key are slowed down, more and more, up to a cap."""

from __future__ import annotations

from etl_core.auth.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_delay_starts_after_the_free_failures_and_doubles_up_to_the_cap() -> None:
    t = FailureThrottle(free_failures=2, base_delay=0.5, max_delay=3.0, clock=Clock())
    delays = []
    for _ in range(6):
        delays.append(t.delay("client:x"))
        t.failed("client:x")
    assert delays == [0.0, 0.0, 0.5, 1.0, 2.0, 3.0]


def test_the_worst_key_decides_and_other_keys_are_untouched() -> None:
    t = FailureThrottle(free_failures=1, base_delay=1.0, max_delay=10.0, clock=Clock())
    for _ in range(3):
        t.failed("caller:1.2.3.4")
    assert t.delay("client:a", "caller:1.2.3.4") == 4.0
    assert t.delay("client:a", "caller:5.6.7.8") == 0.0


def test_success_clears_the_keys() -> None:
    t = FailureThrottle(free_failures=0, base_delay=1.0, clock=Clock())
    t.failed("k")
    assert t.delay("k") == 1.0
    t.succeeded("k")
    assert t.delay("k") == 0.0


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    t = FailureThrottle(free_failures=0, base_delay=1.0, window=60.0, clock=clock)
    t.failed("k")
    t.failed("k")
    assert t.delay("k") == 2.0
    clock.now = 61.0
    assert t.delay("k") == 0.0
    t.failed("k")
    assert t.delay("k") == 1.0


def test_memory_is_bounded_by_max_keys() -> None:
    t = FailureThrottle(free_failures=0, base_delay=1.0, max_keys=3, clock=Clock())
    for i in range(10):
        t.failed(f"k{i}")
    assert t.delay("k0") == 0.0
    assert t.delay("k9") == 1.0
