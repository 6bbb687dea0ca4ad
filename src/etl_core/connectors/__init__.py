"""Database access for the database components: SQLite, PostgreSQL, MariaDB/MySQL.

    base.py          Backend, ReadSession / WriteSession protocols, Dialect (quoting, types, DDL)
    sqlite.py        aiosqlite: read-only reads, BEGIN IMMEDIATE writes
    postgres.py      asyncpg: server-side cursors, binary COPY, staged merges
    mariadb.py       asyncmy: streaming SSCursor reads, multi-row inserts, atomic RENAME swaps
    pools.py         pools shared per DSN within a process, closed when idle
    dsn.py           URL DSNs, shown without their password
    identifiers.py   entity names -> quoted identifiers
    placeholders.py  `:name` placeholders -> each driver's parameters; one read statement
    values.py        values between records and drivers, a column at a time

The driver modules are imported by the components only when they run (see components/databases).
"""
