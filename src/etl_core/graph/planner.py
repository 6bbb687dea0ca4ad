"""The planner: a validated `JobConfig` becomes a `Plan`, or a `ConfigError` listing every issue.

Pure and synchronous: it checks names, types, options, ports, routes, multiplicities, cycles, schemas and
file paths (job-config.md §2), collecting every problem with its JSON path before anything runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from etl_core.components.registry import ERROR_PORT, ERROR_SCHEMA, REGISTRY, PortDef, Registry
from etl_core.components.support.files import PathNotAllowed, resolve_data_path
from etl_core.config.loader import issues_from_validation, parse_job
from etl_core.config.models import ComponentConfig, JobConfig
from etl_core.config.schema import Schema, schema_difference
from etl_core.errors import ConfigError, ConfigIssue
from etl_core.graph.plan import Plan, PlanEdge, PlanNode


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """What the planner needs to know of its surroundings."""

    data_dir: Path = Path("data")
    allowed_roots: tuple[Path, ...] = ()
    include_test_components: bool = True
    check_paths: bool = True


@dataclass(slots=True)
class _Ports:
    inputs: dict[str, PortDef]
    outputs: dict[str, PortDef]


class _Planner:
    def __init__(self, job: JobConfig, registry: Registry, options: PlanOptions) -> None:
        self.job = job
        self.registry = registry
        self.options = options
        self.issues: list[ConfigIssue] = []
        self.nodes: dict[str, PlanNode] = {}
        self.ports: dict[str, _Ports] = {}
        self.edges: list[PlanEdge] = []
        self.index: dict[str, int] = {}
        self._misnamed: set[str] = set()  # components whose options name fields their input does not have

    def issue(self, path: str, message: str, component: str | None = None) -> None:
        self.issues.append(ConfigIssue(path, message, component))

    def run(self) -> Plan:
        self._names()
        for i, comp in enumerate(self.job.components):
            self._node(i, comp)
        for name in list(self.nodes):
            self._routes(name)
        self._index_edges()
        self._multiplicities()
        self._strategy()
        order = self._topological_order()
        if order is not None:
            self._schemas(order)
        if self.issues:
            raise ConfigError(self.issues)
        assert order is not None
        return Plan(job=self.job, nodes={n: self.nodes[n] for n in order}, edges=self.edges)

    # -- nodes ------------------------------------------------------------------------------------
    def _names(self) -> None:
        for i, comp in enumerate(self.job.components):
            if comp.name in self.index:
                first = self.index[comp.name]
                self.issue(
                    f"components[{i}].name", f"name {comp.name!r} is already used by components[{first}]", comp.name
                )
            else:
                self.index[comp.name] = i

    def _node(self, i: int, comp: ComponentConfig) -> None:
        where = f"components[{i}]"
        spec = self.registry.get(comp.comp_type)
        if spec is None or (spec.test_only and not self.options.include_test_components):
            known = ", ".join(self.registry.names(include_test=self.options.include_test_components))
            hint = " (a test-only type: set ETL_COMPONENT_MODE=test to use it)" if spec is not None else ""
            self.issue(
                f"{where}.comp_type", f"unknown component type {comp.comp_type!r}{hint}; known: {known}", comp.name
            )
            return
        options: object = None
        try:
            options = spec.options.model_validate(comp.options)
        except ValidationError as exc:
            self.issues.extend(issues_from_validation(exc, prefix=where, component=comp.name))
        else:
            self._paths(where, comp.name, options)
        if self.index.get(comp.name) != i:
            return  # a duplicate name: checked on its own, but not wired
        inputs = {p.name: p for p in spec.inputs}
        outputs = {p.name: p for p in spec.outputs}
        for key, extra, allowed, fixed in (
            ("extra_input_ports", comp.extra_input_ports, spec.extra_inputs, inputs),
            ("extra_output_ports", comp.extra_output_ports, spec.extra_outputs, outputs),
        ):
            if extra and not allowed:
                self.issue(f"{where}.{key}", f"{spec.name} takes no {key.replace('_', ' ')}", comp.name)
                continue
            for k, port in enumerate(extra):
                if port.name in fixed or port.name == ERROR_PORT:
                    self.issue(f"{where}.{key}[{k}]", f"port {port.name!r} is declared twice", comp.name)
                    continue
                multiplicity = port.fanin if key == "extra_input_ports" else port.fanout
                fixed[port.name] = PortDef(port.name, port.required, multiplicity)
        if spec.check_ports is not None and options is not None:
            for path, message in spec.check_ports(options, list(inputs), list(outputs)):
                self.issue(f"{where}.{path}", message, comp.name)
        outputs[ERROR_PORT] = PortDef(ERROR_PORT)
        self.ports[comp.name] = _Ports(inputs, outputs)
        self.nodes[comp.name] = PlanNode(
            name=comp.name,
            comp_type=spec.name,
            spec=spec,
            options=options,
            config=comp,
            index=i,
            inputs=list(inputs),
            outputs=list(outputs),
        )
        for side, declared, ports in (
            ("out_port_schemas", comp.out_port_schemas, outputs),
            ("in_port_schemas", comp.in_port_schemas, inputs),
        ):
            for declared_port in declared:
                if declared_port not in ports:
                    self.issue(
                        f"{where}.{side}.{declared_port}",
                        f"{spec.name} has no port {declared_port!r} (ports: {', '.join(ports) or 'none'})",
                        comp.name,
                    )

    def _paths(self, where: str, name: str, options: object) -> None:
        if not self.options.check_paths:
            return
        for attr in getattr(options, "path_fields", ()):
            value = getattr(options, attr, None)
            if not isinstance(value, str) or "${" in value:
                continue  # references resolve at execution time, where the path is checked again
            try:
                resolve_data_path(value, self.options.data_dir, self.options.allowed_roots)
            except PathNotAllowed as exc:
                self.issue(f"{where}.{attr}", str(exc), name)

    # -- wiring -----------------------------------------------------------------------------------
    def _routes(self, name: str) -> None:
        node = self.nodes[name]
        where = f"components[{node.index}]"
        ports = self.ports[name]
        for port, edges in node.config.routes.items():
            if port not in ports.outputs:
                self.issue(
                    f"{where}.routes.{port}",
                    f"{port!r} is not an output port of {node.comp_type} (ports: {', '.join(ports.outputs)})",
                    name,
                )
                continue
            for k, edge in enumerate(edges):
                epath = f"{where}.routes.{port}[{k}]"
                target = self.nodes.get(edge.to)
                if target is None:
                    known = edge.to in self.index
                    why = "is not a valid component" if known else "does not exist"
                    self.issue(f"{epath}.to", f"target component {edge.to!r} {why}", name)
                    continue
                tports = self.ports[edge.to].inputs
                if not tports:
                    self.issue(f"{epath}.to", f"{edge.to!r} is a source ({target.comp_type}) and takes no input", name)
                    continue
                in_port = edge.in_port
                if in_port is None:
                    if len(tports) != 1:
                        self.issue(
                            f"{epath}.in_port",
                            f"{edge.to!r} has several input ports ({', '.join(tports)}): name one with in_port",
                            name,
                        )
                        continue
                    in_port = next(iter(tports))
                elif in_port not in tports:
                    self.issue(
                        f"{epath}.in_port",
                        f"{in_port!r} is not an input port of {edge.to!r} (ports: {', '.join(tports)})",
                        name,
                    )
                    continue
                self.edges.append(PlanEdge(name, port, edge.to, in_port))

    def _strategy(self) -> None:
        """A strategy that runs elsewhere refuses what it cannot run (bigdata: types with no distributed form)."""
        if self.job.strategy_type == "bigdata":
            # imported only for bigdata jobs; it checks whether Ray is installed without importing it
            from etl_core.runtime.bigdata.validation import bigdata_issues

            self.issues.extend(bigdata_issues(self.nodes.values()))

    def _index_edges(self) -> None:
        """Edges by (component, port) both ways and by source component: lookups stay linear in the graph."""
        self._into: dict[tuple[str, str], list[PlanEdge]] = {}
        self._from: dict[tuple[str, str], list[PlanEdge]] = {}
        self._from_node: dict[str, list[PlanEdge]] = {}
        for e in self.edges:
            self._into.setdefault((e.dst, e.in_port), []).append(e)
            self._from.setdefault((e.src, e.out_port), []).append(e)
            self._from_node.setdefault(e.src, []).append(e)

    def _multiplicities(self) -> None:
        for name, node in self.nodes.items():
            where = f"components[{node.index}]"
            ports = self.ports[name]
            for port, pdef in ports.inputs.items():
                incoming = self._into.get((name, port), [])
                if pdef.required and not incoming:
                    self.issue(where, f"input port {port!r} is required but has no incoming edge", name)
                if pdef.fan == "one" and len(incoming) > 1:
                    srcs = ", ".join(e.src for e in incoming)
                    self.issue(where, f"input port {port!r} takes one edge but has {len(incoming)} (from {srcs})", name)
            for port, pdef in ports.outputs.items():
                outgoing = self._from.get((name, port), [])
                if pdef.fan == "one" and len(outgoing) > 1:
                    self.issue(
                        f"{where}.routes.{port}", f"output port {port!r} takes one edge but has {len(outgoing)}", name
                    )

    def _topological_order(self) -> list[str] | None:
        indegree = dict.fromkeys(self.nodes, 0)
        for e in self.edges:
            indegree[e.dst] += 1
        ready = deque(n for n in self.nodes if indegree[n] == 0)
        order: list[str] = []
        while ready:
            n = ready.popleft()
            order.append(n)
            for e in self._from_node.get(n, ()):
                indegree[e.dst] -= 1
                if indegree[e.dst] == 0:
                    ready.append(e.dst)
        if len(order) == len(self.nodes):
            return order
        placed = set(order)
        left = [n for n in self.nodes if n not in placed]
        cycle = self._find_cycle(set(left))
        first = self.nodes[cycle[0]]
        self.issue(f"components[{first.index}]", f"the graph has a cycle: {' -> '.join(cycle)}", first.name)
        return None

    def _find_cycle(self, members: set[str]) -> list[str]:
        start = sorted(members, key=lambda n: self.nodes[n].index)[0]
        path = [start]
        seen = {start}
        while True:
            nxt = next(e.dst for e in self._from_node.get(path[-1], ()) if e.dst in members)
            if nxt in seen:
                return [*path[path.index(nxt) :], nxt]
            path.append(nxt)
            seen.add(nxt)

    # -- schemas ----------------------------------------------------------------------------------
    def _schemas(self, order: Sequence[str]) -> None:
        for name in order:
            node = self.nodes[name]
            cfg = node.config
            node.in_schemas = dict(cfg.in_port_schemas)
            for port in node.inputs:
                incoming = self._into.get((name, port), [])
                if port not in node.in_schemas and incoming and all(e.out_port == ERROR_PORT for e in incoming):
                    node.in_schemas[port] = ERROR_SCHEMA
            node.out_schemas = dict(cfg.out_port_schemas)
            node.out_schemas[ERROR_PORT] = ERROR_SCHEMA
            if node.spec.check_fields is not None and node.options is not None:
                in_schemas = {p: node.in_schemas.get(p) for p in node.inputs}
                for path, message in node.spec.check_fields(node.options, in_schemas):
                    self.issue(f"components[{node.index}].{path}", message, node.name)
                    self._misnamed.add(node.name)
            if node.spec.derive_schemas is not None and node.options is not None:
                derived = node.spec.derive_schemas(
                    node.options, {p: node.in_schemas.get(p) for p in node.inputs}, node.outputs
                )
                for port, schema in derived.items():
                    node.out_schemas.setdefault(port, schema)
        for name in order:
            self._check_edges(self.nodes[name])

    def _check_edges(self, node: PlanNode) -> None:
        where = f"components[{node.index}]"
        for port in node.outputs:
            if port in node.out_schemas or node.spec.infers_output or node.name in self._misnamed:
                continue  # (an option naming an unknown field was reported: the missing schema follows from it)
            if self._from.get((node.name, port)):
                self.issue(
                    f"{where}.out_port_schemas.{port}", f"output port {port!r} has an edge but no schema", node.name
                )
        for port in node.inputs:
            incoming = self._into.get((node.name, port), [])
            if not incoming:
                continue
            target = node.in_schemas.get(port)
            if target is None and (node.spec.accepts_any_input or all(e.src in self._misnamed for e in incoming)):
                continue
            if target is None:
                self.issue(
                    f"{where}.in_port_schemas.{port}", f"input port {port!r} has an edge but no schema", node.name
                )
                continue
            for e in incoming:
                src = self.nodes[e.src]
                source: Schema | None = src.out_schemas.get(e.out_port)
                if source is None:
                    continue
                diff = schema_difference(source, target)
                if diff is not None:
                    self.issue(
                        f"{where}.in_port_schemas.{port}",
                        f"does not fit {e.src!r} port {e.out_port!r}: {diff}",
                        node.name,
                    )


def plan_document(data: Any, options: PlanOptions | None = None, registry: Registry | None = None) -> Plan:
    """Read and plan a decoded job document, reporting every issue of both steps at once: when only job-level
    fields are wrong, the components and their wiring are still checked (`parse_job`'s salvage)."""
    try:
        job = parse_job(data)
    except ConfigError as exc:
        if exc.salvage is None:
            raise
        try:
            plan_job(exc.salvage, options, registry)
        except ConfigError as more:
            raise ConfigError([*exc.issues, *more.issues]) from None
        raise
    return plan_job(job, options, registry)


def plan_job(job: JobConfig, options: PlanOptions | None = None, registry: Registry | None = None) -> Plan:
    """Validate the wiring of `job` and build its plan; raise ConfigError listing every issue."""
    if registry is None:
        import etl_core.components  # noqa: F401 - registers the built-in types

        registry = REGISTRY
    return _Planner(job, registry, options or PlanOptions()).run()
