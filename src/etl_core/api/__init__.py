"""The HTTP API: a Quart app factory, one blueprint per resource, error mapping in one place."""

from etl_core.api.app import create_app

__all__ = ["create_app"]
