"""Connection pools shared per DSN within a process, closed when idle.

Every component run that talks to the same server with the same DSN leases the same pool; when the last lease
ends, the pool is closed after `idle_s` seconds unless a new lease comes first. Pools belong to the event loop
that created them (asyncpg and asyncmy pools cannot cross loops), so the registry is kept per loop.
Call `close_all()` on shutdown (the server's lifespan, a test fixture) to close them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

DEFAULT_IDLE_SECONDS = 30.0


@dataclass(slots=True)
class _Entry:
    pool: Any
    close: Callable[[Any], Awaitable[None]]
    users: int = 0
    timer: asyncio.TimerHandle | None = None


@dataclass(slots=True)
class _LoopPools:
    entries: dict[str, _Entry] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    closing: set[asyncio.Task[None]] = field(default_factory=set)


class SharedPools:
    """Pools by key (a DSN, secrets included: other credentials are another pool), per event loop."""

    def __init__(self, idle_s: float = DEFAULT_IDLE_SECONDS) -> None:
        self.idle_s = idle_s
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPools] = weakref.WeakKeyDictionary()

    def _state(self) -> tuple[asyncio.AbstractEventLoop, _LoopPools]:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopPools()
        return loop, state

    def open_count(self) -> int:
        """Pools open on the running loop (for tests and health checks)."""
        return len(self._state()[1].entries)

    @asynccontextmanager
    async def lease(
        self, key: str, create: Callable[[], Awaitable[Any]], close: Callable[[Any], Awaitable[None]]
    ) -> AsyncIterator[Any]:
        """The pool for `key`, created with `create()` when there is none; released when the block ends."""
        loop, state = self._state()
        lock = state.locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = state.entries.get(key)
            if entry is None:
                entry = _Entry(await create(), close)
                state.entries[key] = entry
            entry.users += 1
            if entry.timer is not None:
                entry.timer.cancel()
                entry.timer = None
        try:
            yield entry.pool
        finally:
            entry.users -= 1
            if entry.users == 0 and state.entries.get(key) is entry:
                entry.timer = loop.call_later(self.idle_s, self._expire, state, key, entry)

    def _expire(self, state: _LoopPools, key: str, entry: _Entry) -> None:
        if entry.users or state.entries.get(key) is not entry:
            return
        del state.entries[key]
        task = asyncio.get_running_loop().create_task(_close_quietly(entry))
        state.closing.add(task)
        task.add_done_callback(state.closing.discard)

    async def close_all(self) -> None:
        """Close every pool of the running loop now (leases in progress lose their pool)."""
        _, state = self._state()
        entries = list(state.entries.values())
        state.entries.clear()
        for entry in entries:
            if entry.timer is not None:
                entry.timer.cancel()
        await asyncio.gather(*(_close_quietly(e) for e in entries), *state.closing)


async def _close_quietly(entry: _Entry) -> None:
    # a pool that cannot close cleanly is dropped; the server ends its sessions
    with contextlib.suppress(Exception):
        await asyncio.wait_for(entry.close(entry.pool), timeout=10)


POOLS = SharedPools()
"""The process-wide registry; a component may be given another one in `ctx.resources["db_pools"]`."""


def pools_for(resources: dict[str, Any]) -> SharedPools:
    found = resources.get("db_pools")
    return found if isinstance(found, SharedPools) else POOLS
