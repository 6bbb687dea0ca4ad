"""A setting with a bad value stops start-up with a message naming it; numbers must be finite."""

from __future__ import annotations

import pytest

from etl_core.errors import SettingsError
from etl_core.settings import load_settings


@pytest.fixture(autouse=True)
def no_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: no `.env` from the working directory."""
    monkeypatch.setenv("ETL_ENV_FILE", "/nonexistent/.env")
    monkeypatch.delenv("ETL_SCHEDULES_SYNC_SECONDS", raising=False)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "Infinity", "-inf", "1e999"])
def test_a_non_finite_schedules_sync_interval_stops_start_up_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ETL_SCHEDULES_SYNC_SECONDS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == (
        "bad setting(s): ETL_SCHEDULES_SYNC_SECONDS: Value error, must be a finite number of seconds "
        f"or one of 0, off, false, no (got {value!r})"
    )


@pytest.mark.parametrize(("value", "interval"), [("2.5", 2.5), ("30", 30.0), ("off", None), ("0", None)])
def test_a_finite_schedules_sync_interval_or_off_is_accepted(
    monkeypatch: pytest.MonkeyPatch, value: str, interval: float | None
) -> None:
    monkeypatch.setenv("ETL_SCHEDULES_SYNC_SECONDS", value)
    assert load_settings().schedules_sync_interval == interval


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("shutdown_grace_seconds", "ETL_SHUTDOWN_GRACE_SECONDS"),
        ("retry_backoff_seconds", "ETL_RETRY_BACKOFF_SECONDS"),
        ("retry_backoff_max_seconds", "ETL_RETRY_BACKOFF_MAX_SECONDS"),
    ],
)
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_no_number_setting_takes_inf_or_nan(field: str, variable: str, value: float) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(**{field: value})
    assert str(caught.value) == f"bad setting(s): {variable}: Input should be a finite number"
