"""etl_core.cli."""
