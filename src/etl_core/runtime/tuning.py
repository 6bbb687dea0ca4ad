"""Process-wide tuning for a process whose job is moving records (the CLI's `run`, the server).

Batches of records live for milliseconds while they cross the pipeline, long enough to survive CPython's
young-generation collections (every 700 allocations) and be scanned again in the older generations. Raising
the thresholds lets a batch die before any collection looks at it, and freezing moves the objects created at
start-up (modules, models, the registry) out of every future collection. Library users are left alone: only
the process owners call this.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Freeze start-up objects and raise the collection thresholds (idempotent)."""
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, max(gen1, 20), max(gen2, 20))
