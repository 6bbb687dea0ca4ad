"""etl_core.api."""
