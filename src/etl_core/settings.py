"""Settings from the environment and a `.env` file (`ETL_ENV_FILE` names another).

Every setting is documented in `docs/configuration.md` and `.env_example`. The original etl-core's names
(`DB_PATH`, `LOG_DIR`, `EXECUTION_ENV`, `SECRET_BACKEND`, ...) keep working as aliases. A bad value stops start-up
with a message naming the setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from etl_core.errors import SettingsError


class Settings(BaseSettings):
    """All of etl-core's settings."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

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
    edge_capacity: int = Field(4, ge=1, le=1024, validation_alias=AliasChoices("ETL_EDGE_CAPACITY"))
    retry_backoff_seconds: float = Field(1.0, ge=0, validation_alias=AliasChoices("ETL_RETRY_BACKOFF_SECONDS"))
    retry_backoff_max_seconds: float = Field(
        30.0, ge=0, validation_alias=AliasChoices("ETL_RETRY_BACKOFF_MAX_SECONDS")
    )

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


_ALIASES = {
    "data_dir": "ETL_DATA_DIR",
    "allowed_paths": "ETL_ALLOWED_PATHS",
    "log_dir": "ETL_LOG_DIR",
    "log_format": "ETL_LOG_FORMAT",
    "log_level": "ETL_LOG_LEVEL",
    "component_mode": "ETL_COMPONENT_MODE",
    "execution_env": "EXECUTION_ENV",
    "batch_size": "ETL_BATCH_SIZE",
    "edge_capacity": "ETL_EDGE_CAPACITY",
    "retry_backoff_seconds": "ETL_RETRY_BACKOFF_SECONDS",
    "retry_backoff_max_seconds": "ETL_RETRY_BACKOFF_MAX_SECONDS",
}


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a bad value raises SettingsError naming the setting (never echoing a secret)."""
    env_file = os.environ.get("ETL_ENV_FILE", ".env")
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{_ALIASES.get(field, field)}: {err['msg']}")
        raise SettingsError("bad setting(s): " + "; ".join(problems)) from None
