"""etl_core.scheduling."""
