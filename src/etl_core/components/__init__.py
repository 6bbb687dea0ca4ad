"""Built-in component types, listed by explicit imports (each import registers its types).

Importing this package fills `etl_core.components.registry.REGISTRY`.
"""

from etl_core.components import databases, files, ops, testing_types
from etl_core.components.registry import REGISTRY, ComponentType, register

__all__ = ["REGISTRY", "ComponentType", "databases", "files", "ops", "register", "testing_types"]
