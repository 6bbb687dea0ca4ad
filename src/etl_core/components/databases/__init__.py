"""Database components, one module per type (registered on first use: `registry.BUILTIN_MODULES`).

The drivers (aiosqlite, asyncpg, asyncmy) are imported only when a database component runs.
"""
