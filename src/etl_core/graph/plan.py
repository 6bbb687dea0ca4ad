"""The planner's output: validated nodes and edges, ready for the runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from etl_core.components.registry import ComponentType
from etl_core.config.models import ComponentConfig, JobConfig
from etl_core.config.schema import Schema


@dataclass(frozen=True, slots=True)
class PlanEdge:
    """One edge: `src.out_port -> dst.in_port`."""

    src: str
    out_port: str
    dst: str
    in_port: str


@dataclass(slots=True)
class PlanNode:
    """One component instance as planned: validated options, its ports and their schemas."""

    name: str
    comp_type: str
    spec: ComponentType
    options: Any
    config: ComponentConfig
    index: int
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    in_schemas: dict[str, Schema] = field(default_factory=dict)
    out_schemas: dict[str, Schema] = field(default_factory=dict)


@dataclass
class Plan:
    """A job ready to run: nodes in topological order and every edge."""

    job: JobConfig
    nodes: dict[str, PlanNode]
    edges: list[PlanEdge]

    def edges_from(self, name: str, port: str | None = None) -> list[PlanEdge]:
        edges = self._by_source.get(name, [])
        return list(edges) if port is None else [e for e in edges if e.out_port == port]

    def edges_into(self, name: str, port: str | None = None) -> list[PlanEdge]:
        edges = self._by_target.get(name, [])
        return list(edges) if port is None else [e for e in edges if e.in_port == port]

    @cached_property
    def _by_source(self) -> dict[str, list[PlanEdge]]:
        out: dict[str, list[PlanEdge]] = {}
        for e in self.edges:
            out.setdefault(e.src, []).append(e)
        return out

    @cached_property
    def _by_target(self) -> dict[str, list[PlanEdge]]:
        out: dict[str, list[PlanEdge]] = {}
        for e in self.edges:
            out.setdefault(e.dst, []).append(e)
        return out

    @property
    def sources(self) -> list[PlanNode]:
        return [n for n in self.nodes.values() if not self.edges_into(n.name)]

    @cached_property
    def columnar_ports(self) -> frozenset[tuple[str, str]]:
        """The out ports (component, port) that may send `Columns`: every edge leaving them ends at an input
        that accepts columns. A "consume" type accepts them always; a "pass" type when its own outputs (the
        error port aside) are columnar or unconnected. Computed sinks first (nodes are in topological order)."""
        columnar: set[tuple[str, str]] = set()
        accepts: dict[str, bool] = {}
        for node in reversed(self.nodes.values()):
            for port in node.outputs:
                edges = self.edges_from(node.name, port)
                if edges and all(accepts.get(e.dst, False) for e in edges):
                    columnar.add((node.name, port))
            mode = node.spec.columns
            if mode == "pass":
                accepts[node.name] = all(
                    (node.name, port) in columnar
                    for port in node.outputs
                    if port != "error" and self.edges_from(node.name, port)
                )
            else:
                accepts[node.name] = mode == "consume"
        return frozenset(columnar)

    @property
    def sinks(self) -> list[PlanNode]:
        return [n for n in self.nodes.values() if not [e for e in self.edges_from(n.name) if e.out_port != "error"]]
