"""etl_core.observability."""
