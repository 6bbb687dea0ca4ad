"""The description of every partition task of an attempt: components, edges, exits and their shuffles.

Pure data, built on the driver and sent with each Ray task: resolved options, ports and schemas of the
segment's components, the edges between them, and for every exit how its records reach the driver or the
buckets of the join or aggregation it feeds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from etl_core.graph.plan import Plan, PlanEdge
from etl_core.runtime.bigdata.hashing import ShuffleKey
from etl_core.runtime.bigdata.layout import Layout, Segment
from etl_core.runtime.bigdata.partitions import FilePart
from etl_core.runtime.bigdata.segment import PartitionTask, TaskEnv, TaskExit, TaskNode
from etl_core.runtime.bigdata.validation import Role, join_partitioning
from etl_core.runtime.executor import RunOptions

PART_STRIDE = 1_000_000  # part file index = segment * stride + partition: partition order across segments
_TASK_RESOURCES = ("spill_dir", "join_memory_bytes")


class TaskBuilder:
    """Builds the `PartitionTask`s of one attempt; `buckets` is the bucket count of every join and aggregation."""

    def __init__(
        self,
        plan: Plan,
        layout: Layout,
        options: Mapping[str, Any],
        run_options: RunOptions,
        *,
        attempt: int,
        staging: Mapping[str, Path],
        shuffle_partitions: int,
    ) -> None:
        self.plan = plan
        self.layout = layout
        self.options = options
        self.staging = staging
        self.buckets: dict[str, int] = {}
        for segment in layout.segments:
            role = layout.roles[segment.head]
            if role is Role.AGGREGATE:
                grouped = bool(options[segment.head].group_by)
                self.buckets[segment.head] = shuffle_partitions if grouped else 1  # a global group: one bucket
            elif role is Role.JOIN:
                self.buckets[segment.head] = shuffle_partitions
        self.env = TaskEnv(
            # absolute: a Ray worker's working directory is not the driver's
            data_dir=Path(os.path.abspath(run_options.data_dir)),
            allowed_roots=tuple(Path(os.path.abspath(r)) for r in run_options.allowed_roots),
            batch_size=run_options.batch_size,
            edge_capacity=run_options.edge_capacity,
            attempt=attempt,
            resources={k: v for k, v in run_options.resources.items() if k in _TASK_RESOURCES},
        )
        self._nodes: dict[str, TaskNode] = {}

    def task(self, segment: Segment, p: int, source: FilePart | None, feeds: dict[str, list[Any]]) -> PartitionTask:
        """Partition `p` of `segment`: a source's file part, or a join/aggregation bucket's chunks (`feeds`)."""
        exits = tuple(
            TaskExit(x.id, x.edge.src, x.edge.out_port, self._shuffle_key(x.edge) if x.kind == "shuffle" else None)
            for x in segment.exits
        )
        return PartitionTask(
            segment=segment.index,
            partition=p,
            part_index=segment.index * PART_STRIDE + p,
            head=segment.head,
            nodes=tuple(self._node(n) for n in segment.nodes),
            edges=tuple((e.src, e.out_port, e.dst, e.in_port) for e in segment.edges),
            exits=exits,
            env=self.env,
            source=source,
            feeds=feeds,
            staging={n: str(self.staging[n]) for n in segment.nodes if n in self.layout.ray_writers},
        )

    def _node(self, name: str) -> TaskNode:
        node = self._nodes.get(name)
        if node is None:
            planned = self.plan.nodes[name]
            node = self._nodes[name] = TaskNode(
                name=name,
                comp_type=planned.comp_type,
                options=self.options[name],
                inputs=tuple(planned.inputs),
                outputs=tuple(planned.outputs),
                in_schemas=dict(planned.in_schemas),
                out_schemas=dict(planned.out_schemas),
            )
        return node

    def _shuffle_key(self, edge: PlanEdge) -> ShuffleKey:
        """How records on an edge into a join or aggregation are bucketed (by group values or the join key)."""
        count = self.buckets[edge.dst]
        options = self.options[edge.dst]
        if self.plan.nodes[edge.dst].comp_type == "aggregation":
            return ShuffleKey(count, tuple(options.group_by), "group")
        keys, _ = join_partitioning(options)
        path = keys.get(edge.in_port)
        return ShuffleKey(count, (path,), "join") if path else ShuffleKey(count, (), "spread")
