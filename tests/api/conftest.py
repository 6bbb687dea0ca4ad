"""An app on a fresh SQLite store driven through its lifespan, and tokens for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from apitools import get_token, make_app, make_settings
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings) -> Quart:
    return make_app(settings)


@pytest.fixture
async def client(app: Quart) -> AsyncIterator[QuartClient]:
    async with app.test_app() as test_app:
        yield test_app.test_client()


@pytest.fixture
async def headers(client: QuartClient) -> dict[str, str]:
    """Authorization headers with every scope."""
    return {"Authorization": f"Bearer {await get_token(client)}"}


@pytest.fixture
def scoped(client: QuartClient) -> Callable[[str], Any]:
    """`await scoped("jobs:read")` -> Authorization headers with just that scope."""

    async def make(scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await get_token(client, scope)}"}

    return make
