"""etl_core.connectors."""
