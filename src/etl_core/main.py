"""The ASGI app for any ASGI server: `hypercorn etl_core.main:app`, `uvicorn etl_core.main:app`.

The app is built from the settings (environment and `.env`) the first time `app` is looked up, so importing this
module has no side effects; bad settings stop the server at that point with a message naming each problem.
"""

from __future__ import annotations

from typing import Any

from quart import Quart

_app: Quart | None = None


def get_app() -> Quart:
    global _app
    if _app is None:
        from etl_core.api import create_app

        _app = create_app()
    return _app


def __getattr__(name: str) -> Any:
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
