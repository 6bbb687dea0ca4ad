"""Pydantic models of the job dialect (job-config.md §1-2). No I/O, no knowledge of component types.

A component object mixes the common fields below with its type's own options at the same level
(`{"name": ..., "comp_type": "read_csv", "filepath": ...}`). `ComponentConfig` keeps the common
fields and collects the rest in `options`; the planner validates `options` against the type's model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from etl_core.config.schema import Schema, StrictModel

Strategy = Literal["row", "bulk", "bigdata"]
Environment = Literal["DEV", "TEST", "PROD"]


class Edge(StrictModel):
    """One outgoing edge: the target component and, optionally, its input port."""

    to: str = Field(min_length=1, description="name of the target component")
    in_port: str | None = Field(None, description="target input port; optional when the target has one")


class PortSpec(StrictModel):
    """An extra port: a bare name, or a name with its multiplicity."""

    name: str = Field(min_length=1)
    required: bool = Field(False, description="an input port that must have at least one edge")
    fanout: Literal["one", "many"] = Field("many", description="output: how many edges may leave")
    fanin: Literal["one", "many"] = Field("many", description="input: how many edges may arrive")


COMMON_FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "comp_type",
        "description",
        "routes",
        "out_port_schemas",
        "in_port_schemas",
        "extra_output_ports",
        "extra_input_ports",
        "context_id",
        "layout",
        "metadata",
        "metadata_",
    }
)


class ComponentConfig(StrictModel):
    """A component's common fields; its type's own options are kept raw in `options`."""

    name: str = Field(min_length=1, description="unique within the job")
    comp_type: str = Field(min_length=1, description="a registered component type")
    description: str = ""
    routes: dict[str, list[Edge]] = Field(default_factory=dict)
    out_port_schemas: dict[str, Schema] = Field(default_factory=dict)
    in_port_schemas: dict[str, Schema] = Field(default_factory=dict)
    extra_output_ports: list[PortSpec] = Field(default_factory=list)
    extra_input_ports: list[PortSpec] = Field(default_factory=list)
    context_id: str | None = None
    layout: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _split_options(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        common = {k: v for k, v in data.items() if k in COMMON_FIELDS}
        if "metadata_" in common:
            meta = common.pop("metadata_")
            common.setdefault("metadata", meta)
        common["options"] = {k: v for k, v in data.items() if k not in COMMON_FIELDS}
        return common

    @field_validator("routes", mode="before")
    @classmethod
    def _bare_edges(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                port: [{"to": e} if isinstance(e, str) else e for e in edges] if isinstance(edges, list) else edges
                for port, edges in value.items()
            }
        return value

    @field_validator("extra_output_ports", "extra_input_ports", mode="before")
    @classmethod
    def _bare_ports(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": p} if isinstance(p, str) else p for p in value]
        return value


class JobConfig(StrictModel):
    """A whole job (job-config.md §1)."""

    id: str | None = Field(None, description="ignored on input; present when a stored job is sent back")
    name: str = Field(min_length=1, description="human name; need not be unique")
    strategy_type: Strategy = Field("row", description="how data moves; applies to every component")
    num_of_retries: int = Field(0, ge=0, description="attempts = retries + 1")
    max_concurrent_runs: int = Field(1, ge=1, description="executions of this job allowed at once")
    file_logging: bool = Field(False, description="also write this execution's log to its own file")
    context_id: str | None = Field(None, description="default context for ${...} references")
    metadata: dict[str, Any] = Field(default_factory=dict)
    components: list[ComponentConfig] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _metadata_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "metadata_" in data:
            data = dict(data)
            meta = data.pop("metadata_")
            data.setdefault("metadata", meta)
        return data
