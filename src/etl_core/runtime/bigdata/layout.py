"""Where each component of a plan runs on Ray, cut into segments: pure, no Ray, no I/O.

    source ──narrow──narrow──> part writer           one segment: a Ray task per source partition runs it all
       │                  └──> (shuffle) join/agg    an exit: records hashed into the head's buckets
       └──────────────────────> (driver) test_sink   an exit: batches to the driver, in partition order

A segment is a head (a source, a join or an aggregation) with the narrow components and directory writers
reachable from it without crossing another head or the driver. Each partition of the head (a byte range or
file of a source, a hash bucket of a join or aggregation) is one Ray task running the whole segment with the
components' own coroutines. Edges leaving a segment are exits: into a join or aggregation (shuffled by key)
or into a driver component (gathered).

The driver runs what needs one instance over all the data: file writers with a file target, database writers,
test sinks, and everything downstream of them or of an aggregation (whose groups are merged in key order on
the driver, so what follows sees them in the order the local aggregation gives).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from etl_core.graph.plan import Plan, PlanEdge
from etl_core.runtime.bigdata.validation import Role, role_of

ExitKind = Literal["driver", "shuffle"]


@dataclass(frozen=True, slots=True)
class Exit:
    """An edge leaving a segment; `id` is the edge's index in the plan."""

    id: int
    edge: PlanEdge
    kind: ExitKind


@dataclass(slots=True)
class Segment:
    """A head and the components its partitions run, in plan (topological) order."""

    index: int
    head: str
    nodes: list[str]
    edges: list[PlanEdge] = field(default_factory=list)
    exits: list[Exit] = field(default_factory=list)
    upstream: set[int] = field(default_factory=set)


@dataclass(slots=True)
class Layout:
    """The plan cut for Ray: segments in dependency order and the components the driver runs."""

    segments: list[Segment]
    driver: list[str]
    roles: dict[str, Role]
    ray_writers: set[str]
    driver_writers: set[str]

    def segments_of(self, name: str) -> list[Segment]:
        return [s for s in self.segments if name in s.nodes]

    def feeding(self, head: str) -> list[Segment]:
        """The segments with an exit into `head`."""
        return [s for s in self.segments if any(x.edge.dst == head for x in s.exits)]


def build_layout(plan: Plan, directory_writers: set[str], options: Mapping[str, object] | None = None) -> Layout:
    """Place every component of a validated bigdata plan (see the module docstring).

    `directory_writers` names the file writers whose target is a directory of part files (known only once
    paths are resolved); `options` are the resolved options by component (the planned ones by default).
    """
    roles: dict[str, Role] = {}
    for node in plan.nodes.values():
        role = role_of(node.comp_type, (options or {}).get(node.name, node.options))
        if role is None:
            raise ValueError(f"component {node.name!r} ({node.comp_type}) has no distributed form")
        roles[node.name] = role
    on_driver: set[str] = set()
    for name in plan.nodes:  # topological order: every upstream component is placed first
        role = roles[name]
        gathered = role is Role.GATHERED or (role is Role.WRITER and name not in directory_writers)
        after_driver = any(e.src in on_driver or roles[e.src] is Role.AGGREGATE for e in plan.edges_into(name))
        if gathered or after_driver:
            on_driver.add(name)
    heads = [n for n in plan.nodes if n not in on_driver and roles[n] in (Role.SOURCE, Role.JOIN, Role.AGGREGATE)]
    segments: list[Segment] = []
    for index, head in enumerate(heads):
        members = {head}
        frontier = [head]
        while frontier:
            for edge in plan.edges_from(frontier.pop()):
                dst = edge.dst
                if dst in members or dst in on_driver or roles[dst] not in (Role.NARROW, Role.WRITER):
                    continue
                members.add(dst)
                frontier.append(dst)
        segment = Segment(index, head, [n for n in plan.nodes if n in members])
        for i, edge in enumerate(plan.edges):
            if edge.src not in members:
                continue
            if edge.dst in members:
                segment.edges.append(edge)
            else:
                segment.exits.append(Exit(i, edge, "driver" if edge.dst in on_driver else "shuffle"))
        segments.append(segment)
    by_head = {s.head: s for s in segments}
    for segment in segments:
        for exit_ in segment.exits:
            if exit_.kind == "shuffle":
                by_head[exit_.edge.dst].upstream.add(segment.index)
    writers = {n for n in plan.nodes if roles[n] is Role.WRITER and n in directory_writers}
    return Layout(
        segments=segments,
        driver=[n for n in plan.nodes if n in on_driver],
        roles=roles,
        ray_writers={n for n in writers if n not in on_driver},
        driver_writers={n for n in writers if n in on_driver},
    )
