"""The registry: every built-in type is documented, has a valid example, and its docs are current."""

from __future__ import annotations

from pathlib import Path

import pytest

import etl_core.components  # noqa: F401 - registers the built-ins
from etl_core.components.docs import all_pages
from etl_core.components.registry import REGISTRY
from etl_core.config.models import ComponentConfig

DOCS = Path(__file__).resolve().parents[2] / "docs" / "components"
TYPES = REGISTRY.types()


@pytest.mark.parametrize("ctype", TYPES, ids=[t.name for t in TYPES])
def test_every_example_config_is_a_valid_component_of_its_type(ctype) -> None:  # type: ignore[no-untyped-def]
    comp = ComponentConfig.model_validate(ctype.example)
    assert comp.comp_type == ctype.name
    ctype.options.model_validate(comp.options)


@pytest.mark.parametrize("ctype", TYPES, ids=[t.name for t in TYPES])
def test_every_option_has_a_description(ctype) -> None:  # type: ignore[no-untyped-def]
    props = ctype.options.model_json_schema().get("properties", {})
    undocumented = [name for name, prop in props.items() if not prop.get("description")]
    assert undocumented == []


def test_generated_component_docs_are_current() -> None:
    stale = [
        name
        for name, text in all_pages().items()
        if not (DOCS / name).exists() or (DOCS / name).read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"run `make docs`: stale pages {stale}"


def test_built_in_file_components_are_registered() -> None:
    assert {"read_csv", "write_csv"} <= set(REGISTRY.names())
