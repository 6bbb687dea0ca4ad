"""The planner's output: validated nodes and edges, ready for the runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(slots=True)
class Plan:
    """A job ready to run: nodes in topological order and every edge."""

    job: JobConfig
    nodes: dict[str, PlanNode]
    edges: list[PlanEdge]

    def edges_from(self, name: str, port: str | None = None) -> list[PlanEdge]:
        return [e for e in self.edges if e.src == name and (port is None or e.out_port == port)]

    def edges_into(self, name: str, port: str | None = None) -> list[PlanEdge]:
        return [e for e in self.edges if e.dst == name and (port is None or e.in_port == port)]

    @property
    def sources(self) -> list[PlanNode]:
        return [n for n in self.nodes.values() if not self.edges_into(n.name)]

    @property
    def sinks(self) -> list[PlanNode]:
        return [n for n in self.nodes.values() if not [e for e in self.edges_from(n.name) if e.out_port != "error"]]
