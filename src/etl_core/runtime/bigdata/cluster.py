"""The Ray instance this process drives: connected once, reused by every bigdata execution.

With an address (`ETL_RAY_ADDRESS`: `auto`, `host:6379` of a running cluster) the process joins that cluster;
without one it starts a local instance with this machine's cores. Ray is imported here and nowhere at module
level, so the engine runs without it.

`ray.init` runs in a thread of its own that lives as long as the process: the helper processes of a local
instance are tied to the thread that started them (they are killed when it ends), so neither a short-lived
worker thread nor the event loop may start them (the event loop would also block for the seconds start-up
takes).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

_lock = threading.Lock()
_ready = threading.Event()
_keeper: threading.Thread | None = None
_error: list[BaseException] = []


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    cpus: int
    address: str | None


def _keep(address: str | None) -> None:
    """Start or join Ray, then stay alive: the local instance's processes live as long as this thread."""
    import ray

    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        "namespace": "etl-core",
        "ignore_reinit_error": True,
    }
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller waiting in connect()
        _error.append(exc)
        _ready.set()
        return
    _ready.set()
    threading.Event().wait()


def connect(address: str | None) -> ClusterInfo:
    """Join or start Ray (once per process; blocking: run it in a worker thread) and describe the cluster.

    A Ray that is already initialised in this process (a test session, an embedding application) is used as
    it is. A failed start is reported and tried again by the next call.
    """
    global _keeper
    import ray

    if not ray.is_initialized():
        with _lock:
            if not ray.is_initialized():
                # a keeper that is done (failed, or its Ray was shut down since) is replaced
                if _keeper is None or _ready.is_set():
                    _error.clear()
                    _ready.clear()
                    _keeper = threading.Thread(target=_keep, args=(address,), name="etl-ray", daemon=True)
                    _keeper.start()
                _ready.wait()
                if _error:
                    exc = _error[0]
                    raise RuntimeError(f"cannot start or reach Ray ({address or 'local'}): {exc}") from exc
    api: Any = ray  # typed loosely: parts of Ray's API are untyped
    cpus = int(api.cluster_resources().get("CPU", 1)) or 1
    return ClusterInfo(cpus=cpus, address=address)
