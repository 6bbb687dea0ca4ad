"""The options of `schema_mapping`, the checks of its port references, and the schemas it derives.

Sources of records are the input ports and the output ports of join steps (a step may read an earlier step's
output). Port references can only be checked against the component's declared ports, which an options model
does not see: `check_mapping_ports` runs in the planner (through the registry's `check_ports`) and again when
the component starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import Field, field_validator

from etl_core.components.base import ComponentOptions
from etl_core.components.ops._join import KEY, LEFT, How, join_layout
from etl_core.components.ops._paths import field_at, schema_from_paths
from etl_core.config.schema import FieldDef, Schema, StrictModel


class SourceRef(StrictModel):
    """Where one output field comes from."""

    src_port: str = Field(min_length=1, description="the input port (or join output) the value comes from")
    src_path: str = Field(min_length=1, description="the field in that port's records (dotted for nested)")


class JoinStep(StrictModel):
    """One join: `left_port` records (streamed) with matching `right_port` records (held), to `output_port`."""

    left_port: str = Field(min_length=1, description="input port or earlier step output streamed as the left side")
    right_port: str = Field(min_length=1, description="input port or earlier step output held as the right side")
    left_on: str = Field(min_length=1, description="the key field of left records (dotted for nested)")
    right_on: str = Field(min_length=1, description="the key field of right records (dotted for nested)")
    how: How = Field("inner", description="inner, left, right or outer")
    output_port: str = Field(
        min_length=1, description="where joined records go: an output port or a name a later step reads"
    )


class JoinPlan(StrictModel):
    """The join steps, run in order."""

    steps: list[JoinStep] = Field(
        default_factory=list, description="join steps; a step may read an earlier one's output"
    )


class SchemaMappingOptions(ComponentOptions):
    """Options of `schema_mapping`."""

    rules_by_dest: dict[str, dict[str, SourceRef]] = Field(
        default_factory=dict, description="{output port: {dest path: {src_port, src_path}}}"
    )
    join_plan: JoinPlan = Field(default_factory=JoinPlan, description="joins between the inputs")
    join_memory_bytes: int | None = Field(
        None,
        ge=0,
        description="bytes of join state held in memory before spilling to disk "
        "(default: the server's join_memory_bytes resource, 256 MiB)",
    )

    @field_validator("rules_by_dest")
    @classmethod
    def _dest_paths(cls, value: dict[str, dict[str, SourceRef]]) -> dict[str, dict[str, SourceRef]]:
        for port, rules in value.items():
            for dest in rules:
                if "[" in dest or any(not part for part in dest.split(".")):
                    raise ValueError(f"{port}: dest path {dest!r} must be a dotted path without empty parts or [i]")
            placeholder = FieldDef(data_type="string")
            if schema_from_paths((d, placeholder) for d in rules) is None:
                raise ValueError(f"{port}: a dest field and a nested field under it share a name")
        return value


def check_mapping_ports(
    options: SchemaMappingOptions, inputs: Sequence[str], outputs: Sequence[str]
) -> list[tuple[str, str]]:
    """Every reference to a port that does not exist or is not available yet, as (option path, message)."""
    issues: list[tuple[str, str]] = []
    ins = set(inputs)
    outs = set(outputs)
    steps = options.join_plan.steps
    produced: dict[str, int] = {}
    known_in = ", ".join(inputs) or "none"
    known_out = ", ".join(outputs) or "none"
    for i, step in enumerate(steps):
        where = f"join_plan.steps[{i}]"
        for attr in ("left_port", "right_port"):
            port = getattr(step, attr)
            if port in ins or port in produced:
                continue
            later = next((j for j in range(i, len(steps)) if steps[j].output_port == port), None)
            if later is not None:
                issues.append(
                    (
                        f"{where}.{attr}",
                        f"{port!r} is the output of steps[{later}], which does not run before this step",
                    )
                )
            else:
                issues.append(
                    (f"{where}.{attr}", f"{port!r} is neither an input port ({known_in}) nor an earlier step's output")
                )
        out = step.output_port
        if out in produced:
            issues.append((f"{where}.output_port", f"{out!r} is already the output of steps[{produced[out]}]"))
        elif out in ins:
            issues.append((f"{where}.output_port", f"{out!r} is an input port; a step's output needs its own name"))
        else:
            produced[out] = i
    mapped_from = {ref.src_port for rules in options.rules_by_dest.values() for ref in rules.values()}
    for i, step in enumerate(steps):
        read_later = any(s.left_port == step.output_port or s.right_port == step.output_port for s in steps[i + 1 :])
        if step.output_port not in outs and not read_later and step.output_port not in mapped_from:
            issues.append(
                (
                    f"join_plan.steps[{i}].output_port",
                    f"{step.output_port!r} is neither an output port ({known_out}) "
                    "nor read by a later step or a mapping rule",
                )
            )
    by_output = {s.output_port: s for s in steps}
    for port, rules in options.rules_by_dest.items():
        if port not in outs:
            issues.append((f"rules_by_dest.{port}", f"{port!r} is not an output port (ports: {known_out})"))
            continue
        producer = by_output.get(port)
        for dest, ref in rules.items():
            if producer is not None:
                sides = (producer.left_port, producer.right_port, port)
                if ref.src_port not in sides:
                    issues.append(
                        (
                            f"rules_by_dest.{port}.{dest}.src_port",
                            f"{ref.src_port!r} is not a side of the join producing {port!r} "
                            f"(use {', '.join(map(repr, sides))})",
                        )
                    )
            elif ref.src_port not in ins and ref.src_port not in produced:
                issues.append(
                    (
                        f"rules_by_dest.{port}.{dest}.src_port",
                        f"{ref.src_port!r} is neither an input port ({known_in}) nor a join step's output",
                    )
                )
    return issues


def source_schemas(options: SchemaMappingOptions, in_schemas: Mapping[str, Schema | None]) -> dict[str, Schema | None]:
    """The schema of every record source: the input ports' and each join step's output (None when unknown)."""
    known: dict[str, Schema | None] = dict(in_schemas)
    for step in options.join_plan.steps:
        left, right = known.get(step.left_port), known.get(step.right_port)
        known[step.output_port] = join_schema(left, right, step) if left is not None and right is not None else None
    return known


def join_schema(left: Schema, right: Schema, step: JoinStep) -> Schema | None:
    """The records a join step produces, from its two sides' schemas."""
    nullable_left = step.how in ("right", "outer")
    nullable_right = step.how in ("left", "outer")
    fields: list[FieldDef] = []
    for name, side, column in join_layout(left.names(), right.names(), step.left_on, step.right_on):
        if side == KEY:
            f = left.field(column) or right.field(step.right_on)
            nullable = False
        else:
            f = (left if side == LEFT else right).field(column)
            nullable = nullable_left if side == LEFT else nullable_right
        if f is None:
            return None
        fields.append(f.model_copy(update={"name": name, "nullable": f.nullable or nullable}))
    return Schema(fields=fields)


def mapping_schema(options: SchemaMappingOptions, port: str, known: Mapping[str, Schema | None]) -> Schema | None:
    """The records `rules_by_dest[port]` builds (every field nullable: a missing source value gives null)."""
    step = next((s for s in options.join_plan.steps if s.output_port == port), None)
    items: list[tuple[str, FieldDef]] = []
    for dest, ref in options.rules_by_dest.get(port, {}).items():
        if step is not None and ref.src_port not in (step.left_port, step.right_port, port):
            return None
        f = field_at(known.get(ref.src_port), ref.src_path)
        if f is None:
            return None
        items.append((dest, f.model_copy(update={"nullable": True})))
    return schema_from_paths(items)


def derive_mapping_schemas(
    options: SchemaMappingOptions, in_schemas: Mapping[str, Schema | None], out_ports: Sequence[str]
) -> dict[str, Schema]:
    """Join outputs from their sides' schemas, mapped outputs from their rules (where the sources are known)."""
    known = source_schemas(options, in_schemas)
    derived: dict[str, Schema] = {}
    for port in out_ports:
        schema: Schema | None
        if port in options.rules_by_dest:
            schema = mapping_schema(options, port, known)
        elif any(s.output_port == port for s in options.join_plan.steps):
            schema = known.get(port)
        else:
            continue
        if schema is not None:
            derived[port] = schema
    return derived
