"""JSON Schemas for UIs, generated from the job models and the component registry.

- `job_schema`: the job document; components are described by their common fields, and `comp_type` lists the
  types available in this mode (each type's own options are in its component schema).
- `component_schema(type, view)`: one type's component object. `full` is everything; `form` is what a user fills
  in (name, description, context, the type's options); `hidden` is what a graph editor manages (routes, port
  schemas, extra ports, layout, metadata). Every view carries `x-ports`, `x-category`, `x-icon`, `x-summary` and
  `x-example`.

Schemas are computed once per (type, view, mode) and cached: the registry does not change while serving.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any, Literal

from etl_core.components.registry import ERROR_PORT, REGISTRY, ComponentType, PortDef
from etl_core.config.models import ComponentConfig, JobConfig

View = Literal["form", "full", "hidden"]
HIDDEN_FIELDS = (
    "routes",
    "out_port_schemas",
    "in_port_schemas",
    "extra_output_ports",
    "extra_input_ports",
    "layout",
    "metadata",
)
_DEFS = "$defs"


def component_types(include_test: bool) -> list[str]:
    return REGISTRY.names(include_test=include_test)


def find_type(name: str, include_test: bool) -> ComponentType | None:
    """The registered type, or None when unknown (or test-only while test types are hidden)."""
    spec = REGISTRY.get(name)
    if spec is None or (spec.test_only and not include_test):
        return None
    return spec


def _common_schema() -> dict[str, Any]:
    schema = ComponentConfig.model_json_schema()
    schema["properties"].pop("options", None)
    return schema


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite_refs(v, renames) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in renames:
            out["$ref"] = "#/$defs/" + renames[ref[8:]]
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def _merge_defs(target: dict[str, Any], schema: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Move `schema`'s $defs into `target`, renaming a def whose name is taken by a different one."""
    defs = schema.pop(_DEFS, {})
    renames = {name: f"{prefix}_{name}" for name, d in defs.items() if name in target and target[name] != d}
    for name, d in defs.items():
        target[renames.get(name, name)] = _rewrite_refs(d, renames)
    return _rewrite_refs(schema, renames)  # type: ignore[no-any-return]


def _ports(ports: tuple[PortDef, ...]) -> list[dict[str, Any]]:
    return [{"name": p.name, "required": p.required, "fan": p.fan} for p in ports]


def _extensions(spec: ComponentType) -> dict[str, Any]:
    return {
        "comp-type": spec.name,
        "icon": spec.icon,
        "x-category": spec.category,
        "x-icon": spec.icon,
        "x-summary": spec.summary,
        "x-example": spec.example,
        "x-test-only": spec.test_only,
        "x-ports": {
            "inputs": _ports(spec.inputs),
            "outputs": [*_ports(spec.outputs), {"name": ERROR_PORT, "required": False, "fan": "many"}],
            "extra_inputs": spec.extra_inputs,
            "extra_outputs": spec.extra_outputs,
            "error_port": ERROR_PORT,
        },
    }


def _build_component(spec: ComponentType) -> dict[str, Any]:
    common = _common_schema()
    defs: dict[str, Any] = dict(common.pop(_DEFS, {}))
    options = _merge_defs(defs, copy.deepcopy(spec.options.model_json_schema()), spec.name)
    props: dict[str, Any] = dict(common["properties"])
    props["comp_type"] = {**props["comp_type"], "const": spec.name, "default": spec.name}
    props["name"] = {**props["name"], "default": spec.name}
    for key, value in options.get("properties", {}).items():
        props[key] = value
    required = list(dict.fromkeys([*common.get("required", []), *options.get("required", [])]))
    schema: dict[str, Any] = {
        "title": spec.name,
        "description": spec.summary,
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }
    if defs:
        schema[_DEFS] = defs
    schema.update(_extensions(spec))
    return schema


def _select(full: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    out = copy.deepcopy(full)
    out["properties"] = {k: v for k, v in full["properties"].items() if k in keep}
    out["required"] = [k for k in full["required"] if k in keep]
    text = json.dumps(out["properties"])
    if _DEFS in out and "#/$defs/" not in text:
        del out[_DEFS]
    return out


@functools.lru_cache(maxsize=256)
def _component_json(name: str, view: View) -> str:
    spec = REGISTRY.get(name)
    assert spec is not None
    full = _build_component(spec)
    if view == "hidden":
        schema = _select(full, set(HIDDEN_FIELDS))
    elif view == "form":
        schema = _select(full, {k for k in full["properties"] if k not in HIDDEN_FIELDS})
    else:
        schema = full
    return json.dumps(schema)


def component_schema(spec: ComponentType, view: View) -> dict[str, Any]:
    """A fresh copy of one view of a type's schema (callers may change it)."""
    result: dict[str, Any] = json.loads(_component_json(spec.name, view))
    return result


@functools.lru_cache(maxsize=4)
def _job_json(include_test: bool) -> str:
    schema = JobConfig.model_json_schema()
    comp = schema[_DEFS]["ComponentConfig"]
    comp["properties"].pop("options", None)
    comp["additionalProperties"] = True
    comp["description"] = (
        "a component: these common fields plus its type's options at the same level (see /configs/{comp_type}/full)"
    )
    types = component_types(include_test)
    comp["properties"]["comp_type"] = {**comp["properties"]["comp_type"], "enum": types}
    schema["x-component-types"] = types
    return json.dumps(schema)


def job_schema(include_test: bool) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(_job_json(include_test))
    return result
