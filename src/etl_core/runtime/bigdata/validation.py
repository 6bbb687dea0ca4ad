"""What the distributed runtime can run, checked when a `bigdata` job is planned (no Ray import here).

Every component type has a role on Ray, or none:

    source      read_csv, read_json (files, directories, globs; one large CSV/JSONL split into byte ranges),
                read_xml, read_excel (one partition per file), database readers, test_source, test_range
                (one partition: the source runs whole, once)
    narrow      filter, type_conversion, merge, split, schema_mapping without joins: run per partition
    join        schema_mapping with join steps: both sides hash-partitioned by the join key
    aggregate   aggregation: hash-partitioned by the group key, groups merged in key order on the driver
    writer      file writers: a directory target gets one part file per partition, a file target one file
    gathered    database writers, test_sink: one instance on the driver, fed by every partition

A type with no role (any type registered later) is refused with an issue on its `comp_type`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from enum import Enum
from typing import Any

from etl_core.errors import ConfigIssue
from etl_core.graph.plan import PlanNode


class Role(Enum):
    SOURCE = "source"
    NARROW = "narrow"
    JOIN = "join"
    AGGREGATE = "aggregate"
    WRITER = "writer"
    GATHERED = "gathered"


SPLIT_SOURCES = frozenset({"read_csv", "read_json"})
FILE_SOURCES = frozenset({"read_xml", "read_excel"})
WHOLE_SOURCES = frozenset({"test_source", "test_range", "read_sqlite", "read_postgresql", "read_mariadb"})
NARROW_TYPES = frozenset({"filter", "type_conversion", "merge", "split"})
FILE_WRITERS = frozenset({"write_csv", "write_json", "write_xml", "write_excel"})
GATHERED_TYPES = frozenset({"write_sqlite", "write_postgresql", "write_mariadb", "test_sink"})

_SUPPORTED = sorted(
    SPLIT_SOURCES
    | FILE_SOURCES
    | WHOLE_SOURCES
    | NARROW_TYPES
    | FILE_WRITERS
    | GATHERED_TYPES
    | {"schema_mapping", "aggregation"}
)


def role_of(comp_type: str, options: Any) -> Role | None:
    """The role of a component on Ray, or None when its type has no distributed form."""
    if comp_type in SPLIT_SOURCES or comp_type in FILE_SOURCES or comp_type in WHOLE_SOURCES:
        return Role.SOURCE
    if comp_type in NARROW_TYPES:
        return Role.NARROW
    if comp_type == "schema_mapping":
        steps = getattr(getattr(options, "join_plan", None), "steps", None)
        return Role.JOIN if steps else Role.NARROW
    if comp_type == "aggregation":
        return Role.AGGREGATE
    if comp_type in FILE_WRITERS:
        return Role.WRITER
    if comp_type in GATHERED_TYPES:
        return Role.GATHERED
    return None


def join_partitioning(options: Any) -> tuple[dict[str, str], str | None]:
    """The key path each input port of a joining schema_mapping is hash-partitioned by, or why none exists.

    Every join step must find all its matches in one partition: a port is partitioned by the key it is joined
    on, so a port joined on two different keys cannot be. A step's output can be joined again only on the key
    column it carries once (the step joined `left_on == right_on`). Input ports used by mapping rules alone
    are not keyed (any partition will do).
    """
    keys: dict[str, str] = {}
    produced: set[str] = set()
    for i, step in enumerate(options.join_plan.steps):
        for port, path in ((step.left_port, step.left_on), (step.right_port, step.right_on)):
            if port in produced:
                carried = keys.get(port)
                if carried != path:
                    why = (
                        f"it carries its key as {carried!r}"
                        if carried is not None
                        else "that step joined columns of different names"
                    )
                    return {}, (
                        f"join_plan.steps[{i}] joins {port!r} on {path!r}, but {port!r} is the output of an "
                        f"earlier step and {why}: a distributed join needs every step on the same key"
                    )
                continue
            have = keys.setdefault(port, path)
            if have != path:
                return {}, (
                    f"join_plan.steps[{i}] joins {port!r} on {path!r}, but another step joins it on {have!r}: "
                    "a distributed join partitions each input by one key"
                )
        produced.add(step.output_port)
        if step.left_on == step.right_on and "." not in step.left_on and "[" not in step.left_on:
            keys[step.output_port] = step.left_on
    return {port: path for port, path in keys.items() if port not in produced}, None


def bigdata_issues(nodes: Iterable[PlanNode]) -> list[ConfigIssue]:
    """Every reason the planned components cannot run with `strategy_type: "bigdata"` (empty when they can)."""
    issues: list[ConfigIssue] = []
    if importlib.util.find_spec("ray") is None:
        issues.append(
            ConfigIssue(
                "strategy_type",
                "strategy_type 'bigdata' runs on Ray, which is not installed: pip install 'etl-core[ray]'",
            )
        )
    for node in nodes:
        where = f"components[{node.index}]"
        role = role_of(node.comp_type, node.options)
        if role is None:
            issues.append(
                ConfigIssue(
                    f"{where}.comp_type",
                    f"{node.comp_type!r} has no distributed form yet, so it cannot run with strategy_type "
                    f"'bigdata' (distributed types: {', '.join(_SUPPORTED)})",
                    node.name,
                )
            )
        elif role is Role.JOIN and node.options is not None:
            _, why = join_partitioning(node.options)
            if why is not None:
                issues.append(ConfigIssue(f"{where}.join_plan", f"no distributed form yet: {why}", node.name))
    return issues
