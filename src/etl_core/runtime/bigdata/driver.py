"""The driver's share of a bigdata attempt: the components that run once, over all the data, in this process.

They are wired as the executor wires a local attempt (bounded streams, broadcast, the same contexts) and run by
the executor's own `_run_component`; what reaches them from Ray comes through one sender per exit (an edge from
a Ray component into a driver component), fed by the runner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from etl_core.components.base import AnyBatch, ComponentContext
from etl_core.components.support.files import resolve_data_path
from etl_core.graph.plan import Plan, PlanNode
from etl_core.observability.metrics import ComponentMetrics
from etl_core.runtime.bigdata.layout import Layout
from etl_core.runtime.bigdata.outputs import write_parts_on_driver
from etl_core.runtime.edges import InPort, OutPort, new_stream

# the executor's own pieces, so that driver components behave exactly as in a local run
from etl_core.runtime.executor import RunOptions, _checked, _CommitBarrier

component_log = structlog.get_logger("etl_core.component")

Senders = dict[int, MemoryObjectSendStream[AnyBatch]]


def wire_driver(
    plan: Plan,
    layout: Layout,
    options: Mapping[str, Any],
    run_options: RunOptions,
    metrics: Mapping[str, ComponentMetrics],
    attempt: int,
    barrier: _CommitBarrier,
) -> tuple[dict[str, ComponentContext[Any]], Senders]:
    """Contexts of the driver components, and a sender into a driver port for every exit (by edge index)."""
    driver = set(layout.driver)
    capacity = max(1, run_options.edge_capacity)
    senders: dict[tuple[str, str], MemoryObjectSendStream[AnyBatch]] = {}
    receivers: dict[tuple[str, str], MemoryObjectReceiveStream[AnyBatch]] = {}
    for name in layout.driver:
        for port in plan.nodes[name].inputs:
            senders[(name, port)], receivers[(name, port)] = new_stream(capacity)
    outs: dict[tuple[str, str], list[MemoryObjectSendStream[AnyBatch]]] = {
        (n, p): [] for n in layout.driver for p in plan.nodes[n].outputs
    }
    feeds: Senders = {}
    for i, edge in enumerate(plan.edges):
        if edge.dst not in driver:
            continue
        target = senders[(edge.dst, edge.in_port)]
        if edge.src in driver:
            outs[(edge.src, edge.out_port)].append(target.clone())
        else:
            feeds[i] = target.clone()
    for send in senders.values():
        send.close()
    resolve = partial(resolve_data_path, data_dir=run_options.data_dir, allowed_roots=run_options.allowed_roots)
    contexts: dict[str, ComponentContext[Any]] = {}
    for name in layout.driver:
        node = plan.nodes[name]
        m = metrics[name]
        contexts[name] = ComponentContext(
            name=name,
            comp_type=node.comp_type,
            options=options[name],
            inputs={p: InPort(p, receivers[(name, p)], m) for p in node.inputs},
            outputs={p: OutPort(p, outs[(name, p)], m) for p in node.outputs},
            metrics=m,
            log=component_log,
            strategy=plan.job.strategy_type,
            attempt=attempt,
            batch_size=run_options.batch_size,
            batch_bytes=run_options.batch_bytes,
            in_schemas=node.in_schemas,
            out_schemas=node.out_schemas,
            resolve_path=_checked(resolve, name),
            commit_barrier=partial(barrier.wait, name),
            resources=run_options.resources,
        )
    return contexts, feeds


def driver_node(node: PlanNode, layout: Layout, staging: Mapping[str, Path], targets: Mapping[str, Path]) -> PlanNode:
    """The node a driver component runs as: itself, or a directory writer writing one part, then publishing."""
    if node.name not in layout.driver_writers:
        return node
    run = partial(write_parts_on_driver, staging=staging[node.name], target=targets[node.name])
    return dataclasses.replace(node, spec=dataclasses.replace(node.spec, run=run))
