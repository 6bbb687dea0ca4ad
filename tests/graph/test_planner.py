"""The planner: every wiring rule of job-config.md §2, each reported with its JSON path and component."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_core.components.base import ComponentContext, ComponentOptions
from etl_core.components.registry import ERROR_SCHEMA, PortDef, Registry, passthrough_schemas, register
from etl_core.config import parse_job
from etl_core.errors import ConfigError
from etl_core.graph import Plan, PlanOptions, plan_job

REG = Registry()


class NoOptions(ComponentOptions):
    pass


class SizeOptions(ComponentOptions):
    size: int = 1


class PathOptions(ComponentOptions):
    path_fields = ("filepath",)
    filepath: str


async def _noop(ctx: ComponentContext[Any]) -> None:
    return None


def _reg(name: str, **kw: Any) -> None:
    register(name, options=kw.pop("options", NoOptions), summary=name, example={}, registry=REG, **kw)(_noop)


_reg("src", inputs=(), outputs=("out",))
_reg("inferring_src", inputs=(), outputs=("out",), infers_output=True, options=PathOptions)
_reg("pipe", options=SizeOptions)
_reg("pass_through", derive_schemas=passthrough_schemas)
_reg("two_in", inputs=(PortDef("left", required=True, fan="one"), PortDef("right")), outputs=("out",))
_reg("one_out", outputs=(PortDef("out", fan="one"),))
_reg("sink", outputs=())
_reg("fanin", inputs=("in",), outputs=("out",), extra_inputs=True)
_reg("only_test", inputs=(), outputs=("out",), test_only=True)

SCHEMA = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "name", "data_type": "string"}]}


def comp(name: str, comp_type: str, routes: dict[str, list[Any]] | None = None, **extra: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "comp_type": comp_type, **extra}
    if routes:
        c["routes"] = routes
    return c


def src(name: str = "a", to: str = "b", **extra: Any) -> dict[str, Any]:
    return comp(name, "src", {"out": [to]}, out_port_schemas={"out": SCHEMA}, **extra)


def sink(name: str = "b", **extra: Any) -> dict[str, Any]:
    extra.setdefault("in_port_schemas", {"in": SCHEMA})
    return comp(name, "sink", **extra)


def plan(*components: dict[str, Any], options: PlanOptions | None = None) -> Plan:
    job = parse_job({"name": "j", "components": list(components)})
    return plan_job(job, options or PlanOptions(check_paths=False), registry=REG)


def issues(*components: dict[str, Any], options: PlanOptions | None = None) -> list[tuple[str, str, str | None]]:
    with pytest.raises(ConfigError) as info:
        plan(*components, options=options)
    return [(i.path, i.message, i.component) for i in info.value.issues]


def only_issue(*components: dict[str, Any], options: PlanOptions | None = None) -> tuple[str, str, str | None]:
    found = issues(*components, options=options)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_chain_plans_in_topological_order() -> None:
    p = plan(
        sink("c"),
        comp("b", "pipe", {"out": ["c"]}, in_port_schemas={"in": SCHEMA}, out_port_schemas={"out": SCHEMA}),
        src("a", "b"),
    )
    assert list(p.nodes) == ["a", "b", "c"]
    assert [(e.src, e.out_port, e.dst, e.in_port) for e in p.edges] == [
        ("b", "out", "c", "in"),
        ("a", "out", "b", "in"),
    ]
    assert [n.name for n in p.sources] == ["a"]
    assert [n.name for n in p.sinks] == ["c"]


def test_duplicate_names_point_at_the_second_component() -> None:
    path, message, name = issues(src("a", "b"), sink("b"), sink("b"))[0]
    assert (path, name) == ("components[2].name", "b")
    assert "already used by components[1]" in message


def test_unknown_type_lists_the_known_ones() -> None:
    path, message, name = only_issue(comp("x", "frobnicate"))
    assert (path, name) == ("components[0].comp_type", "x")
    assert "unknown component type 'frobnicate'" in message
    assert "read_csv" not in message
    assert "sink" in message


def test_test_only_types_are_refused_in_production_mode() -> None:
    path, message, _ = only_issue(
        comp("t", "only_test"), options=PlanOptions(include_test_components=False, check_paths=False)
    )
    assert path == "components[0].comp_type"
    assert "ETL_COMPONENT_MODE=test" in message


def test_bad_option_values_are_reported_at_the_option_path() -> None:
    bad = comp("b", "pipe", in_port_schemas={"in": SCHEMA}, size="big")
    path, message, name = only_issue(src("a", "b"), bad)
    assert (path, name) == ("components[1].size", "b")
    assert "'big'" in message


def test_unknown_option_is_an_unknown_key() -> None:
    assert only_issue(sink("b", colour="red"), src("a", "b"))[:2] == ("components[0].colour", "unknown key")


def test_route_keys_must_be_declared_output_ports() -> None:
    bad = comp("a", "src", {"sideways": ["b"]}, out_port_schemas={"out": SCHEMA})
    path, message, _ = only_issue(bad, sink("b"))
    assert path == "components[0].routes.sideways"
    assert "'sideways' is not an output port of src (ports: out, error)" in message


def test_an_edge_must_name_an_existing_component() -> None:
    path, message, name = only_issue(src("a", "ghost"))
    assert (path, name) == ("components[0].routes.out[0].to", "a")
    assert "'ghost' does not exist" in message


def test_an_edge_in_port_must_exist_on_the_target() -> None:
    a = comp("a", "src", {"out": [{"to": "b", "in_port": "side"}]}, out_port_schemas={"out": SCHEMA})
    path, message, _ = only_issue(a, sink("b"))
    assert path == "components[0].routes.out[0].in_port"
    assert "'side' is not an input port of 'b' (ports: in)" in message


def test_an_edge_without_in_port_needs_a_target_with_one_input() -> None:
    two = comp("t", "two_in", in_port_schemas={"left": SCHEMA, "right": SCHEMA})
    found = issues(src("a", "t"), two)
    assert (
        "components[0].routes.out[0].in_port",
        "'t' has several input ports (left, right): name one with in_port",
        "a",
    ) in found


def test_a_source_takes_no_incoming_edge() -> None:
    path, message, _ = only_issue(src("a", "z"), src("z", "b"), sink("b"))
    assert path == "components[0].routes.out[0].to"
    assert "'z' is a source (src) and takes no input" in message


def test_a_required_input_port_needs_an_edge() -> None:
    two = comp("t", "two_in", in_port_schemas={"left": SCHEMA, "right": SCHEMA})
    a = comp("a", "src", {"out": [{"to": "t", "in_port": "right"}]}, out_port_schemas={"out": SCHEMA})
    path, message, name = only_issue(a, two)
    assert (path, name) == ("components[1]", "t")
    assert message == "input port 'left' is required but has no incoming edge"


def test_a_fanin_one_port_takes_a_single_edge() -> None:
    two = comp("t", "two_in", in_port_schemas={"left": SCHEMA})
    a = comp("a", "src", {"out": [{"to": "t", "in_port": "left"}]}, out_port_schemas={"out": SCHEMA})
    b = comp("b", "src", {"out": [{"to": "t", "in_port": "left"}]}, out_port_schemas={"out": SCHEMA})
    path, message, _ = only_issue(a, b, two)
    assert path == "components[2]"
    assert message == "input port 'left' takes one edge but has 2 (from a, b)"


def test_a_fanout_one_port_takes_a_single_edge() -> None:
    one = comp("o", "one_out", {"out": ["b", "c"]}, in_port_schemas={"in": SCHEMA}, out_port_schemas={"out": SCHEMA})
    path, message, _ = only_issue(src("a", "o"), one, sink("b"), sink("c"))
    assert path == "components[1].routes.out"
    assert "takes one edge but has 2" in message


def test_a_cycle_is_refused_and_drawn() -> None:
    a = comp("a", "pipe", {"out": ["b"]}, in_port_schemas={"in": SCHEMA}, out_port_schemas={"out": SCHEMA})
    b = comp("b", "pipe", {"out": ["a"]}, in_port_schemas={"in": SCHEMA}, out_port_schemas={"out": SCHEMA})
    path, message, name = only_issue(a, b)
    assert (path, name) == ("components[0]", "a")
    assert message == "the graph has a cycle: a -> b -> a"


def test_a_self_loop_is_a_cycle() -> None:
    a = comp("a", "pipe", {"out": ["a"]}, in_port_schemas={"in": SCHEMA}, out_port_schemas={"out": SCHEMA})
    assert only_issue(a)[1] == "the graph has a cycle: a -> a"


def test_an_output_port_with_an_edge_needs_a_schema() -> None:
    a = comp("a", "src", {"out": ["b"]})
    path, message, _ = only_issue(a, sink("b"))
    assert path == "components[0].out_port_schemas.out"
    assert message == "output port 'out' has an edge but no schema"


def test_a_source_that_infers_its_schema_needs_none() -> None:
    a = comp("a", "inferring_src", {"out": ["b"]}, filepath="in.csv")
    assert list(plan(a, sink("b")).nodes) == ["a", "b"]


def test_an_input_port_with_an_edge_needs_a_schema() -> None:
    path, message, _ = only_issue(src("a", "b"), comp("b", "sink"))
    assert path == "components[1].in_port_schemas.in"
    assert message == "input port 'in' has an edge but no schema"


def test_connected_schemas_must_have_the_same_fields() -> None:
    other = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "title", "data_type": "string"}]}
    path, message, name = only_issue(src("a", "b"), sink("b", in_port_schemas={"in": other}))
    assert (path, name) == ("components[1].in_port_schemas.in", "b")
    assert "'title' missing upstream" in message
    assert "'name' not declared downstream" in message


def test_connected_schemas_name_the_field_whose_type_differs() -> None:
    other = {"fields": [{"name": "id", "data_type": "object"}, {"name": "name", "data_type": "string"}]}
    message = only_issue(src("a", "b"), sink("b", in_port_schemas={"in": other}))[1]
    assert "field 'id' is integer upstream but object downstream" in message


def test_convertible_types_are_compatible() -> None:
    floats = {
        "fields": [{"name": "id", "data_type": "float"}, {"name": "name", "data_type": "enum", "enum_values": ["x"]}]
    }
    assert len(plan(src("a", "b"), sink("b", in_port_schemas={"in": floats})).edges) == 1


def test_a_schema_for_an_undeclared_port_is_refused() -> None:
    a = comp("a", "src", {"out": ["b"]}, out_port_schemas={"out": SCHEMA, "zz": SCHEMA})
    path, message, _ = only_issue(a, sink("b"))
    assert path == "components[0].out_port_schemas.zz"
    assert "src has no port 'zz'" in message


def test_extra_ports_need_a_type_that_takes_them() -> None:
    bad = sink("b", extra_input_ports=["more"])
    path, message, _ = only_issue(src("a", "b"), bad)
    assert path == "components[1].extra_input_ports"
    assert message == "sink takes no extra input ports"


def test_extra_input_ports_become_real_ports() -> None:
    f = comp(
        "f",
        "fanin",
        {"out": ["s"]},
        extra_input_ports=["side"],
        in_port_schemas={"in": SCHEMA, "side": SCHEMA},
        out_port_schemas={"out": SCHEMA},
    )
    a = comp("a", "src", {"out": [{"to": "f", "in_port": "side"}]}, out_port_schemas={"out": SCHEMA})
    p = plan(a, f, sink("s"))
    assert p.nodes["f"].inputs == ["in", "side"]


def test_error_port_edges_need_no_schema_on_either_side() -> None:
    a = comp("a", "src", {"out": ["b"], "error": ["dead"]}, out_port_schemas={"out": SCHEMA})
    p = plan(a, sink("b"), comp("dead", "sink"))
    assert p.nodes["dead"].in_schemas["in"] == ERROR_SCHEMA
    assert p.nodes["a"].out_schemas["error"] == ERROR_SCHEMA


def test_derived_schemas_flow_downstream_and_are_checked() -> None:
    mid = comp("m", "pass_through", {"out": ["b"]}, in_port_schemas={"in": SCHEMA})
    other = {"fields": [{"name": "id", "data_type": "integer"}]}
    path, message, _ = only_issue(src("a", "m"), mid, sink("b", in_port_schemas={"in": other}))
    assert path == "components[2].in_port_schemas.in"
    assert "'name' not declared downstream" in message


def test_file_paths_outside_the_allowed_roots_are_refused(tmp_path: Path) -> None:
    a = comp("a", "inferring_src", {"out": ["b"]}, filepath="../../etc/passwd")
    options = PlanOptions(data_dir=tmp_path / "data", allowed_roots=(tmp_path / "extra",))
    path, message, _ = only_issue(a, sink("b"), options=options)
    assert path == "components[0].filepath"
    assert "outside the allowed roots" in message


def test_file_paths_inside_an_extra_root_are_allowed(tmp_path: Path) -> None:
    a = comp("a", "inferring_src", {"out": ["b"]}, filepath=str(tmp_path / "extra" / "in.csv"))
    options = PlanOptions(data_dir=tmp_path / "data", allowed_roots=(tmp_path / "extra",))
    assert "a" in plan(a, sink("b"), options=options).nodes


def test_path_references_are_left_for_execution_time(tmp_path: Path) -> None:
    a = comp("a", "inferring_src", {"out": ["b"]}, filepath="/${dir}/in.csv")
    assert "a" in plan(a, sink("b"), options=PlanOptions(data_dir=tmp_path)).nodes


def test_every_issue_is_reported_at_once() -> None:
    found = issues(
        comp("a", "src", {"out": ["ghost"], "nowhere": ["b"]}, out_port_schemas={"out": SCHEMA}),
        comp("b", "sink", size=3),
        comp("c", "mystery"),
    )
    assert {p for p, _, _ in found} == {
        "components[0].routes.out[0].to",
        "components[0].routes.nowhere",
        "components[1].size",
        "components[2].comp_type",
    }
