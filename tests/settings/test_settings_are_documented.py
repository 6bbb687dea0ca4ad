"""Every setting the server reads is documented in docs/configuration.md and listed in .env_example."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_core.settings import _ALIASES, Settings

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = sorted(_ALIASES.values())


def test_every_settings_field_has_its_environment_variable() -> None:
    assert sorted(_ALIASES) == sorted(Settings.model_fields)


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_setting_is_documented_in_the_configuration_page(variable: str) -> None:
    assert f"`{variable}`" in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_setting_appears_in_the_env_example(variable: str) -> None:
    lines = (ROOT / ".env_example").read_text(encoding="utf-8").splitlines()
    assert any(line.lstrip("# ").startswith(f"{variable}=") for line in lines)
