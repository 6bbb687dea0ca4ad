"""BUILTIN_MODULES: every built-in type is registered by the module listed for it, and loaded only when asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest

from etl_core.components.registry import BUILTIN_MODULES, REGISTRY

NAMES = sorted(BUILTIN_MODULES)

# run in a fresh interpreter: which built-in modules are imported, and which types registered, by one `get`
PROBE = """
import json, sys
from etl_core.components.registry import BUILTIN_MODULES, REGISTRY
name = sys.argv[1]
before = sorted(m for m in set(BUILTIN_MODULES.values()) if m in sys.modules)
ctype = REGISTRY.get(name)
after = sorted(m for m in set(BUILTIN_MODULES.values()) if m in sys.modules)
print(json.dumps({"before": before, "after": after, "name": ctype.name, "module": ctype.run.__module__}))
"""


def by_module(pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for name, module in pairs:
        grouped[module].add(name)
    return dict(grouped)


@pytest.mark.parametrize("name", NAMES)
def test_each_listed_module_registers_the_type_listed_for_it(name: str) -> None:
    ctype = REGISTRY.get(name)

    assert ctype is not None
    assert ctype.name == name
    assert ctype.run.__module__ == BUILTIN_MODULES[name]


def test_the_registered_names_are_exactly_the_keys_of_builtin_modules() -> None:
    assert REGISTRY.names() == NAMES


def test_every_module_registers_exactly_the_types_listed_for_it_and_no_other() -> None:
    registered = by_module([(t.name, t.run.__module__) for t in REGISTRY.types()])

    assert registered == by_module(list(BUILTIN_MODULES.items()))


def test_test_only_types_are_listed_but_left_out_of_the_production_names() -> None:
    test_only = {t.name for t in REGISTRY.types() if t.test_only}

    assert test_only == {"test_source", "test_sink", "test_range"}
    assert REGISTRY.names(include_test=False) == sorted(set(NAMES) - test_only)


def test_every_listed_type_is_known_to_the_registry_before_it_is_loaded() -> None:
    assert all(name in REGISTRY for name in NAMES)
    assert "no_such_type" not in REGISTRY
    assert REGISTRY.get("no_such_type") is None


@pytest.mark.parametrize("name", NAMES)
def test_asking_for_one_type_in_a_fresh_process_imports_its_module_alone(name: str) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, name], capture_output=True, text=True, check=False, timeout=60)

    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout)
    module = BUILTIN_MODULES[name]
    assert probe["before"] == []
    assert probe["after"] == [module]
    assert (probe["name"], probe["module"]) == (name, module)
