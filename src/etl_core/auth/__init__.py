"""etl_core.auth."""
