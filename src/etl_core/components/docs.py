"""Markdown pages for `docs/components/`, generated from the registry (`make docs`)."""

from __future__ import annotations

import json
from typing import Any

from etl_core.components.registry import REGISTRY, ComponentType, Registry


def _type_name(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop:
        return " or ".join(_type_name(p) for p in prop["anyOf"])
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type_name(prop.get('items', {}))}"
    return str(kind)


def _ports(ctype: ComponentType, side: str) -> str:
    ports = ctype.inputs if side == "in" else ctype.outputs
    names = [p.name + (" (required)" if p.required else "") for p in ports]
    if ctype.extra_inputs if side == "in" else ctype.extra_outputs:
        names.append(f"any declared in `extra_{'input' if side == 'in' else 'output'}_ports`")
    if side == "out":
        names.append("error")
    return ", ".join(f"`{n}`" if " " not in n else n for n in names) or "none"


def component_page(ctype: ComponentType) -> str:
    """One component type's page: summary, ports, options, example."""
    schema = ctype.options.model_json_schema()
    required = set(schema.get("required", []))
    lines = [
        f"# `{ctype.name}`",
        "",
        ctype.summary,
        "",
        f"- category: {ctype.category}"
        + (" (test-only: hidden when ETL_COMPONENT_MODE=production)" if ctype.test_only else ""),
        f"- input ports: {_ports(ctype, 'in')}",
        f"- output ports: {_ports(ctype, 'out')}",
        "",
        "## Options",
        "",
    ]
    props: dict[str, Any] = schema.get("properties", {})
    if props:
        lines += ["| option | type | default | description |", "|---|---|---|---|"]
        for name, prop in props.items():
            default = "required" if name in required else json.dumps(prop.get("default"))
            desc = str(prop.get("description", "")).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{name}` | {_type_name(prop).replace('|', chr(92) + '|')} | {default} | {desc} |")
    else:
        lines.append("None beyond the common component fields.")
    lines += ["", "## Example", "", "```json", json.dumps(ctype.example, indent=2), "```", ""]
    return "\n".join(lines)


def index_page(registry: Registry = REGISTRY) -> str:
    lines = [
        "# Component types",
        "",
        "Generated from the component registry by `make docs`; a test fails when these pages are stale.",
        "",
        "| type | category | summary |",
        "|---|---|---|",
    ]
    for ctype in registry.types():
        lines.append(f"| [`{ctype.name}`]({ctype.name}.md) | {ctype.category} | {ctype.summary} |")
    return "\n".join(lines) + "\n"


def all_pages(registry: Registry = REGISTRY) -> dict[str, str]:
    """File name -> content for every page."""
    import etl_core.components  # noqa: F401 - registers the built-ins

    pages = {f"{t.name}.md": component_page(t) for t in registry.types()}
    pages["README.md"] = index_page(registry)
    return pages
