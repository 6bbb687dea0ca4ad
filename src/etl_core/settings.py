"""Settings from the environment and a `.env` file (`ETL_ENV_FILE` names another).

Every setting is documented in `docs/configuration.md` and `.env_example`. The original etl-core's names
(`DB_PATH`, `LOG_DIR`, `EXECUTION_ENV`, `SECRET_BACKEND`, ...) keep working as aliases. A bad value stops start-up
with a message naming the setting.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from etl_core.errors import SettingsError


class Settings(BaseSettings):
    """All of etl-core's settings."""

    # no `inf` or `nan` for any number: an endless grace period or backoff is a typo, never a wish
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,
        allow_inf_nan=False,
    )

    data_dir: Path = Field(Path("data"), validation_alias=AliasChoices("ETL_DATA_DIR"))
    allowed_paths: str = Field("", validation_alias=AliasChoices("ETL_ALLOWED_PATHS"))
    log_dir: Path = Field(Path("logs"), validation_alias=AliasChoices("ETL_LOG_DIR", "LOG_DIR"))
    log_format: Literal["auto", "json", "console"] = Field("auto", validation_alias=AliasChoices("ETL_LOG_FORMAT"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias=AliasChoices("ETL_LOG_LEVEL")
    )
    component_mode: Literal["production", "test", "all"] = Field(
        "production", validation_alias=AliasChoices("ETL_COMPONENT_MODE")
    )
    execution_env: Literal["DEV", "TEST", "PROD"] = Field("DEV", validation_alias=AliasChoices("EXECUTION_ENV"))
    batch_size: int = Field(10_000, ge=1, le=1_000_000, validation_alias=AliasChoices("ETL_BATCH_SIZE"))
    batch_bytes: int = Field(4 << 20, ge=1 << 16, validation_alias=AliasChoices("ETL_BATCH_BYTES"))
    edge_capacity: int = Field(2, ge=1, le=1024, validation_alias=AliasChoices("ETL_EDGE_CAPACITY"))
    columnar: bool = Field(True, validation_alias=AliasChoices("ETL_COLUMNAR"))
    retry_backoff_seconds: float = Field(1.0, ge=0, validation_alias=AliasChoices("ETL_RETRY_BACKOFF_SECONDS"))
    retry_backoff_max_seconds: float = Field(30.0, ge=0, validation_alias=AliasChoices("ETL_RETRY_BACKOFF_MAX_SECONDS"))

    spill_dir: Path | None = Field(None, validation_alias=AliasChoices("ETL_SPILL_DIR"))
    join_memory_mb: int = Field(256, ge=1, validation_alias=AliasChoices("ETL_JOIN_MEMORY_MB"))

    # store and server
    db_url: str = Field("sqlite:///./data/etl.db", validation_alias=AliasChoices("ETL_DB_URL"))
    db_path: Path | None = Field(None, validation_alias=AliasChoices("DB_PATH"))
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("ETL_HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=AliasChoices("ETL_PORT"))
    api_url: str = Field("http://127.0.0.1:8000", validation_alias=AliasChoices("ETL_API_URL"))
    cors_allow_origins: str = Field("", validation_alias=AliasChoices("CORS_ALLOW_ORIGINS"))
    shutdown_grace_seconds: float = Field(30.0, ge=0, validation_alias=AliasChoices("ETL_SHUTDOWN_GRACE_SECONDS"))
    schedules_sync_seconds: str = Field("30", validation_alias=AliasChoices("ETL_SCHEDULES_SYNC_SECONDS"))

    # secrets
    secret_backend: Literal["memory", "keyring"] = Field("memory", validation_alias=AliasChoices("SECRET_BACKEND"))
    secret_service: str = Field("etl-core", validation_alias=AliasChoices("SECRET_SERVICE"))

    # auth (the secret policy is checked by etl_core.auth when the server starts)
    auth_client_id: str = Field("etl-core-client", validation_alias=AliasChoices("ETL_AUTH_CLIENT_ID"))
    auth_client_secret: str = Field("", repr=False, validation_alias=AliasChoices("ETL_AUTH_CLIENT_SECRET"))
    auth_signing_key: str = Field("", repr=False, validation_alias=AliasChoices("ETL_AUTH_SIGNING_KEY"))
    auth_token_expires_in: int = Field(3600, ge=60, validation_alias=AliasChoices("ETL_AUTH_TOKEN_EXPIRES_IN"))
    auth_token_issuer: str = Field("etl-core", validation_alias=AliasChoices("ETL_AUTH_TOKEN_ISSUER"))
    auth_token_audience: str | None = Field(None, validation_alias=AliasChoices("ETL_AUTH_TOKEN_AUDIENCE"))
    auth_client_scopes: str | None = Field(None, validation_alias=AliasChoices("ETL_AUTH_CLIENT_SCOPES"))

    # bigdata
    ray_address: str | None = Field(None, validation_alias=AliasChoices("ETL_RAY_ADDRESS"))

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        return tuple(Path(p).expanduser() for p in self.allowed_paths.split(os.pathsep) if p.strip())

    @property
    def include_test_components(self) -> bool:
        return self.component_mode != "production"

    @property
    def database_url(self) -> str:
        """The store's URL; the original's `DB_PATH` (a SQLite file) wins when it is set."""
        if self.db_path is not None:
            return f"sqlite:///{self.db_path}"
        return self.db_url

    @property
    def token_audience(self) -> str:
        return self.auth_token_audience or self.auth_client_id

    @property
    def schedules_sync_interval(self) -> float | None:
        """Seconds between schedule re-syncs, or None when disabled (`0`, `off`, `false`, `no`)."""
        text = self.schedules_sync_seconds.strip().lower()
        if text in ("0", "off", "false", "no", ""):
            return None
        return float(text)

    @field_validator("schedules_sync_seconds")
    @classmethod
    def _sync_seconds(cls, value: str) -> str:
        text = value.strip().lower()
        if text in ("0", "off", "false", "no", ""):
            return text
        try:
            seconds = float(text)
        except ValueError:
            seconds = math.nan
        # nan would make the sync loop spin, inf would never sync: both are refused with the words
        if not math.isfinite(seconds):
            raise ValueError(f"must be a finite number of seconds or one of 0, off, false, no (got {value!r})")
        if seconds < 0:
            raise ValueError("must not be negative")
        return text


_ALIASES = {
    "data_dir": "ETL_DATA_DIR",
    "allowed_paths": "ETL_ALLOWED_PATHS",
    "log_dir": "ETL_LOG_DIR",
    "log_format": "ETL_LOG_FORMAT",
    "log_level": "ETL_LOG_LEVEL",
    "component_mode": "ETL_COMPONENT_MODE",
    "execution_env": "EXECUTION_ENV",
    "batch_size": "ETL_BATCH_SIZE",
    "batch_bytes": "ETL_BATCH_BYTES",
    "edge_capacity": "ETL_EDGE_CAPACITY",
    "columnar": "ETL_COLUMNAR",
    "retry_backoff_seconds": "ETL_RETRY_BACKOFF_SECONDS",
    "retry_backoff_max_seconds": "ETL_RETRY_BACKOFF_MAX_SECONDS",
    "spill_dir": "ETL_SPILL_DIR",
    "join_memory_mb": "ETL_JOIN_MEMORY_MB",
    "db_url": "ETL_DB_URL",
    "db_path": "DB_PATH",
    "host": "ETL_HOST",
    "port": "ETL_PORT",
    "api_url": "ETL_API_URL",
    "cors_allow_origins": "CORS_ALLOW_ORIGINS",
    "shutdown_grace_seconds": "ETL_SHUTDOWN_GRACE_SECONDS",
    "schedules_sync_seconds": "ETL_SCHEDULES_SYNC_SECONDS",
    "secret_backend": "SECRET_BACKEND",
    "secret_service": "SECRET_SERVICE",
    "auth_client_id": "ETL_AUTH_CLIENT_ID",
    "auth_client_secret": "ETL_AUTH_CLIENT_SECRET",
    "auth_signing_key": "ETL_AUTH_SIGNING_KEY",
    "auth_token_expires_in": "ETL_AUTH_TOKEN_EXPIRES_IN",
    "auth_token_issuer": "ETL_AUTH_TOKEN_ISSUER",
    "auth_token_audience": "ETL_AUTH_TOKEN_AUDIENCE",
    "auth_client_scopes": "ETL_AUTH_CLIENT_SCOPES",
    "ray_address": "ETL_RAY_ADDRESS",
}


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a bad value raises SettingsError naming the setting (never echoing a secret)."""
    env_file = os.environ.get("ETL_ENV_FILE", ".env")
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{_ALIASES.get(field, field)}: {err['msg']}")
        raise SettingsError("bad setting(s): " + "; ".join(problems)) from None
