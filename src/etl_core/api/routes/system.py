"""GET /health (liveness and readiness) and GET /metrics (Prometheus text). Both need a bearer token."""

from __future__ import annotations

from typing import Any

import structlog
from quart import Blueprint, Response
from quart_schema import document_response, tag

from etl_core import __version__
from etl_core.api.models import Health
from etl_core.api.state import state
from etl_core.services.metrics import CONTENT_TYPE

bp = Blueprint("system", __name__)
log = structlog.get_logger("etl_core.api")


@bp.get("/health")
@document_response(Health, 200)
@document_response(Health, 503)
@tag(["system"])
async def health() -> tuple[dict[str, Any], int]:
    """Liveness and readiness: the store answers, the scheduler runs, the version. 503 when the store is down."""
    s = state()
    store: dict[str, Any] = {"backend": s.store.backend, "reachable": True}
    try:
        await s.store.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is logged, not returned
        log.error("health_store_unreachable", error_type=type(exc).__name__, error=str(exc))
        store["reachable"] = False
    scheduler = {"configured": s.scheduler is not None, "running": bool(s.scheduler and s.scheduler.running)}
    ok = store["reachable"]
    body = {
        "status": "ok" if ok else "unavailable",
        "version": __version__,
        "store": store,
        "scheduler": scheduler,
        "executions": {"running": len(s.executions.running())},
    }
    return body, 200 if ok else 503


@bp.get("/metrics")
@tag(["system"])
async def metrics() -> Response:
    """Prometheus text: executions by status, rows processed, component throughput, scheduler lag."""
    return Response(state().metrics.render(), status=200, content_type=CONTENT_TYPE)
