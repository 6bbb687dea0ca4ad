"""Helpers of the API tests: settings, apps, tokens and small jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core.api import create_app
from etl_core.auth.throttle import FailureThrottle
from etl_core.settings import Settings

CLIENT_ID = "etl-test-client"
SECRET = "Client-Secret-For-Tests-0123456789!"
SIGNING_KEY = "Signing-Key-For-Tests-9876543210#xyz"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "log_dir": tmp_path / "logs",
        "db_url": f"sqlite:///{tmp_path / 'etl.db'}",
        "component_mode": "test",
        "auth_client_id": CLIENT_ID,
        "auth_client_secret": SECRET,
        "auth_signing_key": SIGNING_KEY,
        "retry_backoff_seconds": 0.0,
        "retry_backoff_max_seconds": 0.0,
        "shutdown_grace_seconds": 0.2,
        "log_format": "json",
    }
    values.update(overrides)
    (tmp_path / "data").mkdir(exist_ok=True)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_app(settings: Settings, **kw: Any) -> Quart:
    kw.setdefault("throttle", FailureThrottle(free_failures=3, base_delay=0.0, max_delay=0.0))
    kw.setdefault("events_interval", 0.02)
    return create_app(settings, **kw)


async def get_token(client: QuartClient, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}
    if scope is not None:
        form["scope"] = scope
    response = await client.post("/auth/token", form=form)
    assert response.status_code == 200, await response.get_data(as_text=True)
    token: str = (await response.get_json())["access_token"]
    return token


def job_doc(name: str = "numbers", records: int = 3, **job: Any) -> dict[str, Any]:
    """A small job: test_source -> test_sink, with options to slow or fail it."""
    src: dict[str, Any] = {
        "name": "src",
        "comp_type": "test_source",
        "records": [{"n": i} for i in range(records)],
        "out_port_schemas": {"out": {"fields": [{"name": "n", "data_type": "integer", "nullable": True}]}},
        "routes": {"out": [{"to": "sink"}]},
    }
    src.update(job.pop("source", {}))
    sink: dict[str, Any] = {
        "name": "sink",
        "comp_type": "test_sink",
        "in_port_schemas": {"in": {"fields": [{"name": "n", "data_type": "integer", "nullable": True}]}},
    }
    sink.update(job.pop("sink", {}))
    return {"name": name, "strategy_type": "bulk", **job, "components": [src, sink]}
