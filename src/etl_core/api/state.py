"""What the app's routes share: settings, store, secrets, auth, the executions service, metrics, scheduler."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from quart import current_app

from etl_core.auth.service import AuthService
from etl_core.params.secrets import SecretStore
from etl_core.services.executions import ExecutionService
from etl_core.services.metrics import ServerMetrics
from etl_core.settings import Settings
from etl_core.store.base import Store

STATE_KEY = "etl_core"


class BackgroundService(Protocol):
    """A service started after the store and executions service, and stopped before them (the scheduler)."""

    @property
    def running(self) -> bool: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass(slots=True)
class ServerState:
    settings: Settings
    store: Store
    secrets: SecretStore
    auth: AuthService
    executions: ExecutionService
    metrics: ServerMetrics
    scheduler: BackgroundService | None = None
    events_interval: float = 1.0
    # held while a mapping checks and stores its credentials ids, and while credentials are checked and deleted
    credentials_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def state() -> ServerState:
    """The state of the app serving the current request."""
    value: ServerState = current_app.extensions[STATE_KEY]
    return value
