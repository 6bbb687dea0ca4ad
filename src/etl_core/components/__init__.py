"""Component types: the registry (registry.py), the context every component runs with (base.py), columnar
batches (columns.py) and the built-in types, one module each, in families (files, databases, ops).

A built-in type's module is imported the first time the type is asked for (`registry.BUILTIN_MODULES`).
"""

from etl_core.components.registry import REGISTRY, ComponentType, register

__all__ = ["REGISTRY", "ComponentType", "register"]
