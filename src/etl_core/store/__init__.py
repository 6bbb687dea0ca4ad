"""etl_core.store."""
