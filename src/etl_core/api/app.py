"""The app factory: one Quart app per server, its services opened and closed with the app's lifespan.

    app = create_app(settings)      # checks the secret policy now: SettingsError names every unmet rule
    async with app.test_app() as test_app:   # start-up: store opened and migrated, interrupted runs marked
        client = test_app.test_client()

Start-up opens the store (migrating it forward), marks executions a dead process left running as FAILED, and
starts the scheduler when one is attached. Shutdown stops the scheduler, lets running executions finish within
`ETL_SHUTDOWN_GRACE_SECONDS`, cancels the rest (recorded CANCELLED) and closes the store.
"""

from __future__ import annotations

import structlog
from quart import Quart
from quart_schema import QuartSchema, security_scheme

import etl_core.components  # noqa: F401 - registers the built-in component types
from etl_core import __version__
from etl_core.api.cors import install_cors
from etl_core.api.errors import refuse_nul_characters, register_error_handlers
from etl_core.api.routes import auth, configs, contexts, executions, jobs, schedules, system
from etl_core.api.security import install_auth
from etl_core.api.state import STATE_KEY, ServerState
from etl_core.auth.scopes import ALL_SCOPES
from etl_core.auth.service import AuthService
from etl_core.auth.throttle import FailureThrottle
from etl_core.connectors.pools import POOLS
from etl_core.observability.logging import configure_logging
from etl_core.params.secrets import SecretStore, secret_store_from_settings
from etl_core.runtime.tuning import limit_worker_threads
from etl_core.scheduling import SchedulerService
from etl_core.services.contexts import StoreContextSource
from etl_core.services.executions import ExecutionService
from etl_core.services.metrics import ServerMetrics
from etl_core.settings import Settings, load_settings
from etl_core.store import open_store
from etl_core.store.base import Store

log = structlog.get_logger("etl_core.server")

_SCOPE_DOCS = {
    "jobs:read": "read jobs, executions, contexts and schemas",
    "jobs:write": "create, replace and delete jobs",
    "executions:run": "start and cancel executions",
    "schedules:write": "create, change and delete schedules",
    "contexts:write": "create and delete contexts and credentials",
    "admin": "everything",
}


def _openapi(app: Quart) -> None:
    QuartSchema(
        app,
        info={"title": "etl-core", "version": __version__, "description": "Run JSON-described ETL jobs."},
        openapi_path="/openapi.json",
        swagger_ui_path="/docs",
        redoc_ui_path=None,
        scalar_ui_path=None,
        security_schemes={
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearer_format": "JWT"},
            "oauth2": {
                "type": "oauth2",
                "flows": {
                    # quart-schema passes flows through as given, so they are spelled as OpenAPI wants
                    "clientCredentials": {
                        "tokenUrl": "/auth/token",
                        "scopes": {s: _SCOPE_DOCS[s] for s in ALL_SCOPES},
                    }
                },
            },
        },
        security=[{"bearerAuth": []}],
    )
    # jobs come back in the order they were written, so the JSON provider must not sort keys
    app.json.sort_keys = False  # type: ignore[attr-defined]
    security_scheme([])(auth.token)


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    secrets: SecretStore | None = None,
    throttle: FailureThrottle | None = None,
    events_interval: float = 1.0,
) -> Quart:
    """Build the app. Raises SettingsError (naming every problem, never a secret) for bad settings."""
    settings = settings or load_settings()
    configure_logging(settings.log_format, settings.log_level)
    auth_service = AuthService.from_settings(settings, throttle=throttle)
    store = store or open_store(settings.database_url)
    secrets = secrets or secret_store_from_settings(settings)
    # the collector reads the service's live executions at scrape time (the name is bound just below)
    metrics = ServerMetrics(running=lambda: service.live_states())
    service = ExecutionService(store, settings, metrics=metrics, contexts=StoreContextSource(store, secrets))
    server = ServerState(
        settings=settings,
        store=store,
        secrets=secrets,
        auth=auth_service,
        executions=service,
        metrics=metrics,
        scheduler=SchedulerService(store, service, metrics=metrics, sync_interval=settings.schedules_sync_interval),
        events_interval=events_interval,
    )

    app = Quart("etl_core")
    # `/jobs` and `/jobs/` are the same route: no redirects for clients that drop or add the slash
    app.url_map.strict_slashes = False
    app.extensions[STATE_KEY] = server
    _openapi(app)
    install_cors(app, settings.cors_allow_origins)
    install_auth(app)
    # after the bearer check: a request without a token learns nothing about its parameters
    app.before_request(refuse_nul_characters)
    register_error_handlers(app)
    for blueprint in (auth.bp, jobs.bp, executions.bp, schedules.bp, contexts.bp, configs.bp, system.bp):
        app.register_blueprint(blueprint)

    @app.before_serving
    async def _start() -> None:
        limit_worker_threads()
        await server.store.open()
        await server.executions.recover()
        if server.scheduler is not None:
            await server.scheduler.start()
        log.info("server_started", version=__version__, store=server.store.backend)

    @app.after_serving
    async def _stop() -> None:
        try:
            if server.scheduler is not None:
                await server.scheduler.stop()
            await server.executions.shutdown(settings.shutdown_grace_seconds)
        finally:
            await POOLS.close_all()
            await server.store.close()
        log.info("server_stopped")

    return app
