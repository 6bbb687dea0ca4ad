"""Small generated functions for per-record hot loops (filter predicates, join and mapping record builders).

A loop whose body is one dict display or one boolean expression runs several times faster than the same work
spread over closures and `zip`/`map` calls. The generated source holds only identifiers made here; every
column name, value and helper is bound as a name in the function's namespace, never spliced into the text,
so no config value can change the code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class Namespace:
    """The names a generated function sees: each bound object gets a fresh identifier."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def bind(self, obj: Any, prefix: str = "n") -> str:
        name = f"_{prefix}{len(self.values)}"
        self.values[name] = obj
        return name


def define(source: str, namespace: Namespace, name: str) -> Callable[..., Any]:
    """Compile `source` (which defines function `name`) and return that function."""
    return definitions(source, namespace)[name]


def definitions(source: str, namespace: Namespace) -> dict[str, Callable[..., Any]]:
    """Compile `source` and return every function it defines, by name."""
    scope = dict(namespace.values)
    exec(compile(source, "<etl generated>", "exec"), scope)  # the source holds only our own identifiers
    return {k: v for k, v in scope.items() if k not in namespace.values and callable(v)}


def dict_display(ns: Namespace, items: Sequence[tuple[str, str]]) -> str:
    """`{<key>: <expr>, ...}` with each key bound as a name; `items` are (key, expression source)."""
    return "{" + ", ".join(f"{ns.bind(key, 'k')}: {expr}" for key, expr in items) + "}"
