"""`etl_core.main:app` is an ASGI app built from the environment when first looked up."""

from __future__ import annotations

from pathlib import Path

import pytest
from apitools import SECRET, SIGNING_KEY
from quart import Quart

import etl_core.main as main
from etl_core.errors import SettingsError


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(main, "_app", None)
    monkeypatch.setenv("ETL_ENV_FILE", str(tmp_path / "none.env"))
    monkeypatch.setenv("ETL_DB_URL", f"sqlite:///{tmp_path / 'etl.db'}")


def test_app_is_built_once_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_AUTH_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("ETL_AUTH_SIGNING_KEY", SIGNING_KEY)
    app = main.app
    assert isinstance(app, Quart)
    assert main.app is app


def test_weak_settings_stop_the_app_when_it_is_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_AUTH_CLIENT_SECRET", "")
    monkeypatch.setenv("ETL_AUTH_SIGNING_KEY", "")
    with pytest.raises(SettingsError, match="ETL_AUTH_CLIENT_SECRET is not set"):
        _ = main.app


def test_other_names_are_missing() -> None:
    with pytest.raises(AttributeError):
        _ = main.nothing
