"""/health, /metrics, CORS and the handling of real faults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from apitools import get_token, job_doc, make_app, make_settings
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient

from etl_core import __version__
from etl_core.api.state import state


async def test_health_reports_store_scheduler_and_version(client: QuartClient, headers: dict[str, str]) -> None:
    response = await client.get("/health", headers=headers)
    assert response.status_code == 200
    assert await response.get_json() == {
        "status": "ok",
        "version": __version__,
        "store": {"backend": "sqlite", "reachable": True},
        "scheduler": {"configured": True, "running": True},
        "executions": {"running": 0},
    }


class FakeScheduler:
    def __init__(self) -> None:
        self.running = False
        self.calls: list[str] = []

    async def start(self) -> None:
        self.running = True
        self.calls.append("start")

    async def stop(self) -> None:
        self.running = False
        self.calls.append("stop")


async def test_an_attached_scheduler_starts_and_stops_with_the_app_and_shows_in_health(tmp_path: Path) -> None:
    app = make_app(make_settings(tmp_path))
    scheduler = FakeScheduler()
    async with app.app_context():
        state().scheduler = scheduler
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        body = await (await client.get("/health", headers=headers)).get_json()
        assert body["scheduler"] == {"configured": True, "running": True}
    assert scheduler.calls == ["start", "stop"]


async def test_health_is_503_when_the_store_does_not_answer(
    app: Quart, client: QuartClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down() -> None:
        raise OSError("connection refused")

    async with app.app_context():
        monkeypatch.setattr(state().store, "ping", down)
    response = await client.get("/health", headers=headers)
    assert response.status_code == 503
    body = await response.get_json()
    assert (body["status"], body["store"]["reachable"]) == ("unavailable", False)


async def test_metrics_export_executions_rows_and_component_throughput(
    client: QuartClient, headers: dict[str, str]
) -> None:
    job_id = (await (await client.post("/jobs/", json=job_doc(records=7), headers=headers)).get_json())["id"]
    started = await (await client.post(f"/execution/{job_id}", headers=headers)).get_json()
    await client.get(f"/execution/executions/{started['execution_id']}/events", headers=headers)
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = await response.get_data(as_text=True)
    assert 'etl_executions_total{status="SUCCESS"} 1.0' in text
    assert f'etl_rows_processed_total{{job_id="{job_id}",job_name="numbers"}} 7.0' in text
    assert f'etl_rows_written_total{{job_id="{job_id}",job_name="numbers"}} 7.0' in text
    assert re.search(
        rf'etl_component_rows_per_second\{{comp_type="test_sink",component="sink",job_id="{job_id}"\}}', text
    )
    assert "etl_executions_running 0.0" in text
    assert "etl_scheduler_lag_seconds_count 0.0" in text


async def test_scheduler_lag_hook_feeds_the_metric(app: Quart, client: QuartClient, headers: dict[str, str]) -> None:
    async with app.app_context():
        state().metrics.record_scheduler_lag(0.3)
    text = await (await client.get("/metrics", headers=headers)).get_data(as_text=True)
    assert "etl_scheduler_lag_seconds_count 1.0" in text
    assert "etl_scheduler_lag_seconds_sum 0.3" in text


async def test_a_real_fault_is_500_with_an_error_id_and_no_stack_trace(
    app: Quart, client: QuartClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> list[Any]:
        raise RuntimeError("disk on fire at /secret/path")

    async with app.app_context():
        monkeypatch.setattr(state().store, "list_jobs", broken)
    response = await client.get("/jobs/", headers=headers)
    assert response.status_code == 500
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "INTERNAL_ERROR"
    error_id = detail["context"]["error_id"]
    assert error_id in detail["message"]
    text = await response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "disk on fire" not in text


async def test_method_not_allowed_uses_the_error_shape(client: QuartClient, headers: dict[str, str]) -> None:
    response = await client.patch("/jobs/", headers=headers)
    assert response.status_code == 405
    detail = (await response.get_json())["detail"]
    assert detail["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in detail["context"]["allowed_methods"]


async def test_cors_answers_preflight_and_tags_responses_for_allowed_origins(tmp_path: Path) -> None:
    app = make_app(make_settings(tmp_path, cors_allow_origins="http://ui.example, http://other.example"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        preflight = await client.options(
            "/jobs/", headers={"Origin": "http://ui.example", "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        headers = {"Authorization": f"Bearer {await get_token(client)}", "Origin": "http://ui.example"}
        response = await client.get("/jobs/", headers=headers)
        assert response.headers["Access-Control-Allow-Origin"] == "http://ui.example"
        response = await client.get("/jobs/", headers={**headers, "Origin": "http://evil.example"})
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_options_without_a_token_is_401_unless_it_is_a_cors_preflight(tmp_path: Path) -> None:
    app = make_app(make_settings(tmp_path, cors_allow_origins="http://ui.example"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for headers in ({}, {"Origin": "http://ui.example"}, {"Access-Control-Request-Method": "POST"}):
            response = await client.options("/jobs/", headers=headers)
            assert response.status_code == 401, headers
            detail = (await response.get_json())["detail"]
            assert (detail["code"], detail["message"]) == (
                "UNAUTHORIZED",
                "this route needs an Authorization: Bearer token",
            )
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="etl-core"'
        # a preflight from an origin not listed passes the bearer check but is granted nothing
        preflight = await client.options(
            "/jobs/", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "DELETE"}
        )
        assert preflight.status_code == 200
        assert "Access-Control-Allow-Origin" not in preflight.headers
        with_token = await client.options("/jobs/", headers={"Authorization": f"Bearer {await get_token(client)}"})
        assert with_token.status_code == 200
        assert set(with_token.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


async def test_without_cors_a_preflight_shaped_options_still_needs_a_token(client: QuartClient) -> None:
    response = await client.options(
        "/jobs/", headers={"Origin": "http://ui.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 401
    assert (await response.get_json())["detail"]["code"] == "UNAUTHORIZED"
