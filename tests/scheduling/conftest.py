"""A store on each backend (a SQLite file, a fresh PostgreSQL schema), and a scheduler started on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from schedtools import make_settings

from etl_core.observability.logging import configure_logging
from etl_core.scheduling import SchedulerService
from etl_core.services.executions import ExecutionService
from etl_core.services.metrics import ServerMetrics
from etl_core.settings import Settings
from etl_core.store import Store, open_store


@pytest.fixture
async def store(store_url: tuple[str, str | None]) -> AsyncIterator[Store]:
    url, schema = store_url
    s = open_store(url, schema=schema)
    await s.open()
    yield s
    await s.close()


@pytest.fixture(autouse=True)
def info_logging() -> None:
    """Events at INFO reach `capture_logs`, whatever level an earlier test configured."""
    configure_logging("json", "INFO")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def metrics() -> ServerMetrics:
    return ServerMetrics()


@pytest.fixture
async def executions(store: Store, settings: Settings, metrics: ServerMetrics) -> AsyncIterator[ExecutionService]:
    service = ExecutionService(store, settings, metrics=metrics)
    yield service
    await service.shutdown(0.0)


@pytest.fixture
async def scheduler(
    store: Store, executions: ExecutionService, metrics: ServerMetrics
) -> AsyncIterator[SchedulerService]:
    """A started scheduler without periodic sync (tests call `sync()` when they mean it)."""
    service = SchedulerService(store, executions, metrics=metrics, sync_interval=None)
    await service.start()
    yield service
    await service.stop()
