"""Database components. Each import registers one type.

The drivers (aiosqlite, asyncpg, asyncmy) are imported only when a database component runs.
"""

from etl_core.components.databases import (
    read_mariadb,
    read_postgresql,
    read_sqlite,
    write_mariadb,
    write_postgresql,
    write_sqlite,
)

__all__ = ["read_mariadb", "read_postgresql", "read_sqlite", "write_mariadb", "write_postgresql", "write_sqlite"]
