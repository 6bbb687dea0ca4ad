"""The component registry: every type by name, with its ports, options model, summary and example.

A new type is one module:

    @register("filter", options=FilterOptions, inputs=["in"], outputs=["pass", "fail"],
              summary="...", example={...})
    async def run(ctx: ComponentContext[FilterOptions]) -> None: ...

and one line in `BUILTIN_MODULES` below. The registry imports a type's module the first time the type is asked
for, so a job loads only the modules of the types it uses (start-up time: `etl run` should not pay for
openpyxl or six database option models to copy a CSV file); listing the types (`etl components`, `/configs`,
`docs/components/`, generated from here) imports them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from etl_core.components.base import ComponentFn, ComponentOptions
from etl_core.config.schema import FieldDef, Schema

Category = Literal["file", "database", "operation", "test"]

ERROR_PORT = "error"
ERROR_SCHEMA = Schema(
    fields=[
        FieldDef(name="record", data_type="object", nullable=True),
        FieldDef(name="error", data_type="string"),
        FieldDef(name="component", data_type="string"),
        FieldDef(name="line", data_type="integer", nullable=True),
    ]
)

# derive(options, in_schemas, out_ports) -> {out_port: schema} for the ports the type can derive
SchemaDeriver = Callable[[Any, Mapping[str, Schema | None], Sequence[str]], dict[str, Schema]]
# check(options, in_ports, out_ports) -> [(option path, message)]: option references to ports that do not exist
PortChecker = Callable[[Any, Sequence[str], Sequence[str]], list[tuple[str, str]]]
# check(options, in_schemas) -> [(option path, message)]: options naming fields the input schemas do not have
FieldChecker = Callable[[Any, Mapping[str, Schema | None]], list[tuple[str, str]]]
# how a type takes `Columns` batches (columns.py) on its inputs:
#   "none":    never (it iterates its ports and gets lists of records);
#   "consume": always (it reads `batches()` and works on columns; what it sends is its own);
#   "pass":    when every receiver of its outputs (the error port aside) accepts them too, because it forwards
#              the batches it receives (filter, split, merge, a writer's pass-through `out`)
ColumnsMode = Literal["none", "consume", "pass"]


@dataclass(frozen=True, slots=True)
class PortDef:
    """A port fixed by the type. `fan` is fanin for inputs, fanout for outputs."""

    name: str
    required: bool = False
    fan: Literal["one", "many"] = "many"


@dataclass(frozen=True, slots=True)
class ComponentType:
    """A registered component type."""

    name: str
    run: ComponentFn
    options: type[ComponentOptions]
    inputs: tuple[PortDef, ...]
    outputs: tuple[PortDef, ...]
    summary: str
    example: dict[str, Any]
    category: Category
    extra_inputs: bool = False
    extra_outputs: bool = False
    derive_schemas: SchemaDeriver | None = None
    infers_output: bool = False
    accepts_any_input: bool = False
    test_only: bool = False
    icon: str = "box"
    check_ports: PortChecker | None = None
    columns: ColumnsMode = "none"
    check_fields: FieldChecker | None = None

    @property
    def is_source(self) -> bool:
        return not self.inputs and not self.extra_inputs


def _ports(spec: Sequence[str | PortDef]) -> tuple[PortDef, ...]:
    return tuple(PortDef(p) if isinstance(p, str) else p for p in spec)


def passthrough_schemas(
    _options: Any, in_schemas: Mapping[str, Schema | None], out_ports: Sequence[str]
) -> dict[str, Schema]:
    """Output ports carry the records of the (first) input unchanged."""
    source = next((s for s in in_schemas.values() if s is not None), None)
    if source is None:
        return {}
    return {port: source for port in out_ports if port != ERROR_PORT}


class Registry:
    """Component types by name. `modules` names, by type, the module whose import registers it (loaded on
    first use)."""

    def __init__(self, modules: Mapping[str, str] | None = None) -> None:
        self._types: dict[str, ComponentType] = {}
        self._modules = dict(modules or {})

    def add(self, ctype: ComponentType) -> None:
        if ctype.name in self._types:
            raise ValueError(f"component type {ctype.name!r} is registered twice")
        self._types[ctype.name] = ctype

    def _load(self, name: str) -> None:
        module = self._modules.get(name)
        if module is not None and name not in self._types:
            importlib.import_module(module)

    def load_all(self) -> None:
        for name in list(self._modules):
            self._load(name)

    def get(self, name: str) -> ComponentType | None:
        self._load(name)
        return self._types.get(name)

    def names(self, *, include_test: bool = True) -> list[str]:
        self.load_all()
        return sorted(n for n, t in self._types.items() if include_test or not t.test_only)

    def types(self, *, include_test: bool = True) -> list[ComponentType]:
        return [self._types[n] for n in self.names(include_test=include_test)]

    def __contains__(self, name: object) -> bool:
        return name in self._types or name in self._modules


_FAMILIES = {
    "files": ("read_csv", "write_csv", "read_json", "write_json", "read_excel", "write_excel", "read_xml", "write_xml"),
    "databases": (
        "read_sqlite",
        "write_sqlite",
        "read_postgresql",
        "write_postgresql",
        "read_mariadb",
        "write_mariadb",
    ),
    "ops": ("filter", "aggregation", "type_conversion", "schema_mapping", "merge", "split"),
}
BUILTIN_MODULES: dict[str, str] = {
    name: f"etl_core.components.{family}.{name}" for family, names in _FAMILIES.items() for name in names
} | dict.fromkeys(("test_source", "test_sink", "test_range"), "etl_core.components.testing_types")
"""Every built-in type and the module that registers it (a test checks this against the registrations)."""

REGISTRY = Registry(BUILTIN_MODULES)


def register(
    name: str,
    *,
    options: type[ComponentOptions],
    inputs: Sequence[str | PortDef] = ("in",),
    outputs: Sequence[str | PortDef] = ("out",),
    summary: str,
    example: dict[str, Any],
    category: Category = "operation",
    extra_inputs: bool = False,
    extra_outputs: bool = False,
    derive_schemas: SchemaDeriver | None = None,
    infers_output: bool = False,
    accepts_any_input: bool = False,
    test_only: bool = False,
    icon: str = "box",
    check_ports: PortChecker | None = None,
    columns: ColumnsMode = "none",
    check_fields: FieldChecker | None = None,
    registry: Registry | None = None,
) -> Callable[[ComponentFn], ComponentFn]:
    """Register a component coroutine under `name` (see module docstring)."""

    def deco(fn: ComponentFn) -> ComponentFn:
        (registry or REGISTRY).add(
            ComponentType(
                name=name,
                run=fn,
                options=options,
                inputs=_ports(inputs),
                outputs=_ports(outputs),
                summary=summary,
                example=example,
                category=category,
                extra_inputs=extra_inputs,
                extra_outputs=extra_outputs,
                derive_schemas=derive_schemas,
                infers_output=infers_output,
                accepts_any_input=accepts_any_input,
                test_only=test_only,
                icon=icon,
                check_ports=check_ports,
                columns=columns,
                check_fields=check_fields,
            )
        )
        return fn

    return deco
