"""Options shared by the database components (job-config.md §4 "Databases").

Validated without touching a database: entity names parse as identifiers and a read query's `:name`
placeholders all have a value in `params` (spare params are ignored; values with `${...}` references are checked
again once resolved).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from etl_core.components.base import ComponentOptions
from etl_core.connectors.identifiers import parse_table_name
from etl_core.connectors.placeholders import Style, bind, check_read_query, translate

WriteOperation = Literal["insert", "upsert", "update", "truncate", "replace"]
CommitMode = Literal["end", "batch"]


class DatabaseOptions(ComponentOptions):
    """Every database component: a table and a batch size."""

    paramstyle: ClassVar[Style] = "qmark"

    entity_name: str | None = Field(
        None,
        description="table name, optionally schema-qualified (public.orders); always quoted as an identifier, "
        "so it is case-sensitive and never spliced into SQL",
    )
    batch_size: int = Field(10_000, ge=1, le=1_000_000, description="rows per round trip to the database")

    # secure values substituted into these options by the parameter resolver, masked in every message
    _secret_values: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @field_validator("entity_name")
    @classmethod
    def _table_name(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if "${" not in value:
            parse_table_name(value)
        return value

    @property
    def secret_values(self) -> frozenset[str]:
        return self._secret_values


class DatabaseReadOptions(DatabaseOptions):
    """A database reader: a table or a parameterised query."""

    query: str | None = Field(
        None,
        description="a SELECT with :name placeholders bound from params (never formatted in); "
        "default: SELECT the schema's columns (or *) FROM entity_name",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="values bound to the query's :name placeholders")

    @field_validator("query")
    @classmethod
    def _blank_query(cls, value: str | None) -> str | None:
        return value if value is not None and value.strip() else None

    @model_validator(mode="after")
    def _source(self) -> DatabaseReadOptions:
        if self.query is None and self.entity_name is None:
            raise ValueError("give entity_name (a table to read) or query (a SELECT)")
        if self.query is not None and "${" not in self.query:
            check_read_query(self.query)
            _, names = translate(self.query, self.paramstyle)
            bind(names, self.params)
        return self


class DatabaseWriteOptions(DatabaseOptions):
    """A database writer: how rows reach the table and when they are committed."""

    entity_name: str | None = Field(
        description="the table to write, optionally schema-qualified (public.orders); always quoted as an identifier"
    )
    operation: WriteOperation = Field(
        "insert",
        description="insert; upsert (insert or update by key_columns); update (by key_columns); truncate (empty "
        "the table once at the start, then insert); replace (create the table anew from the input schema)",
    )
    key_columns: list[str] | None = Field(
        None, description="the conflict/match key for upsert and update (default: the table's primary key)"
    )
    create_table: bool = Field(False, description="create the table from the input schema when it does not exist")
    commit: CommitMode = Field(
        "end",
        description="end: one transaction, committed only when the whole run succeeds; batch: commit every batch",
    )

    @field_validator("key_columns")
    @classmethod
    def _keys(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value or any(not k for k in value):
            raise ValueError("key_columns must name at least one column, none of them empty")
        dupes = sorted({k for k in value if value.count(k) > 1})
        if dupes:
            raise ValueError(f"key_columns repeats {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _table(self) -> DatabaseWriteOptions:
        if self.entity_name is None:
            raise ValueError("entity_name (the table to write) is required")
        return self


class ServerOptions(ComponentOptions):
    """A database reached over the network: a DSN, or credentials from the component's context_id."""

    dsn_scheme: ClassVar[str] = ""

    dsn: str | None = Field(
        None,
        description="connection URL (postgresql://user:pass@host:5432/db, mysql://...); put secrets in ${...} "
        "references. Without it the component's context_id must name a credentials mapping",
        json_schema_extra={"format": "password", "writeOnly": True},
    )

    @field_validator("dsn")
    @classmethod
    def _blank_dsn(cls, value: str | None) -> str | None:
        return value if value is not None and value.strip() else None


class SqliteFileOptions(ComponentOptions):
    """A SQLite database file."""

    path_fields: ClassVar[tuple[str, ...]] = ("database",)

    database: str = Field(
        min_length=1, description="SQLite file path, absolute or relative to the data directory (ETL_DATA_DIR)"
    )
