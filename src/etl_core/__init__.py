"""etl-core: an async streaming dataflow engine for JSON-described jobs."""

__version__ = "0.1.0"
