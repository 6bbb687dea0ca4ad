"""schema_mapping: field mapping, joins (every `how`, duplicates, unmatched rows), spilling, config errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_core.components.ops import _spill
from etl_core.errors import ConfigError
from etl_core.testing import JobRun, fields, list_sink, list_source, run_job

ID_NAME = fields(id="integer", name="string")

LEFT = [
    {"id": 1, "name": "a"},
    {"id": 2, "name": "b"},
    {"id": 2, "name": "b2"},
    {"id": 4, "name": "d"},
    {"id": None, "name": "n"},
]
RIGHT = [
    {"id": 2, "name": "X"},
    {"id": 1, "name": "Y"},
    {"id": 2, "name": "Z"},
    {"id": 3, "name": "W"},
    {"id": None, "name": "rn"},
]
MATCHED = [(1, "a", "Y"), (2, "b", "X"), (2, "b", "Z"), (2, "b2", "X"), (2, "b2", "Z")]
LEFT_ONLY = [(4, "d", None), (None, "n", None)]
RIGHT_ONLY = [(3, None, "W"), (None, None, "rn")]
EXPECTED = {
    "inner": MATCHED,
    "left": MATCHED + LEFT_ONLY,
    "right": MATCHED + RIGHT_ONLY,
    "outer": MATCHED + LEFT_ONLY + RIGHT_ONLY,
}


def source(name: str, records: list[dict[str, Any]], to: str, port: str, schema: Any, size: int = 2) -> dict[str, Any]:
    comp = list_source(name, records, schema=schema, batch_size=size)
    comp["routes"] = {"out": [{"to": to, "in_port": port}]}
    return comp


def mapping(
    name: str = "map",
    *,
    inputs: dict[str, Any],
    outputs: dict[str, Any | None],
    routes: dict[str, str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    comp: dict[str, Any] = {
        "name": name,
        "comp_type": "schema_mapping",
        "extra_input_ports": list(inputs),
        "extra_output_ports": list(outputs),
        "in_port_schemas": inputs,
        "routes": {port: [sink] for port, sink in (routes or {}).items()},
        **options,
    }
    declared = {port: schema for port, schema in outputs.items() if schema is not None}
    if declared:
        comp["out_port_schemas"] = declared
    return comp


def job(*components: dict[str, Any]) -> dict[str, Any]:
    return {"name": "mapping test", "strategy_type": "bulk", "components": list(components)}


def step(left: str, right: str, on: str | tuple[str, str], how: str, out: str) -> dict[str, Any]:
    left_on, right_on = (on, on) if isinstance(on, str) else on
    return {
        "left_port": left,
        "right_port": right,
        "left_on": left_on,
        "right_on": right_on,
        "how": how,
        "output_port": out,
    }


def join_job(how: str, *, size: int = 2, budget: int | None = None, declared: Any = None) -> dict[str, Any]:
    options: dict[str, Any] = {"join_plan": {"steps": [step("L", "R", "id", how, "J")]}}
    if budget is not None:
        options["join_memory_bytes"] = budget
    return job(
        source("left", LEFT, "map", "L", ID_NAME, size),
        source("right", RIGHT, "map", "R", ID_NAME, size),
        mapping(inputs={"L": ID_NAME, "R": ID_NAME}, outputs={"J": declared}, routes={"J": "out"}, **options),
        list_sink("out"),
    )


def rows(run: JobRun, sink: str = "out") -> list[tuple[Any, ...]]:
    assert run.status == "SUCCESS", run.state.error
    return [tuple(r.values()) for r in run.records(sink)]


@pytest.fixture
def spills(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts how often a join store or spool moved to disk."""
    seen: list[str] = []
    right_spill = _spill.RightStore._spill
    spool_spill = _spill.BatchSpool._open_and_write

    def count_right(self: _spill.RightStore) -> None:
        seen.append("right")
        right_spill(self)

    def count_spool(self: _spill.BatchSpool, batches: list[Any]) -> None:
        seen.append("left")
        spool_spill(self, batches)

    monkeypatch.setattr(_spill.RightStore, "_spill", count_right)
    monkeypatch.setattr(_spill.BatchSpool, "_open_and_write", count_spool)
    return seen


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
async def test_join_matches_duplicates_and_keeps_unmatched_rows_in_order(how: str, spills: list[str]) -> None:
    run = await run_job(join_job(how))
    assert rows(run) == EXPECTED[how]
    assert list(run.records("out")[0]) == ["id", "name_x", "name_y"]
    assert spills == []


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
async def test_join_spilled_to_disk_gives_the_same_rows(how: str, spills: list[str]) -> None:
    run = await run_job(join_job(how, size=1, budget=0))
    assert rows(run) == EXPECTED[how]
    assert "right" in spills
    assert "left" in spills


@pytest.mark.parametrize("budget", [None, 0], ids=["memory", "spilled"])
@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
async def test_join_with_rules_maps_every_pair(how: str, budget: int | None) -> None:
    comps = join_job(how, budget=budget)
    comps["components"][2]["rules_by_dest"] = {
        "J": {
            "id": {"src_port": "L", "src_path": "id"},
            "lname": {"src_port": "L", "src_path": "name"},
            "rname": {"src_port": "R", "src_path": "name"},
        }
    }
    run = await run_job(comps)
    # each rule reads its own side: a right-only row has no left values
    expected = [(None, None, row[2]) if row in RIGHT_ONLY else row for row in EXPECTED[how]]
    assert rows(run) == expected


async def test_join_larger_than_its_memory_budget_completes(spills: list[str], tmp_path: Path) -> None:
    left = [{"id": i, "name": f"l{i}"} for i in range(3000)]
    right = [{"id": i % 1000, "name": f"r{i}"} for i in range(2000)]
    spill_dir = tmp_path / "spill"
    comps = job(
        source("left", left, "map", "L", ID_NAME, 100),
        source("right", right, "map", "R", ID_NAME, 100),
        mapping(
            inputs={"L": ID_NAME, "R": ID_NAME},
            outputs={"J": None},
            routes={"J": "out"},
            join_plan={"steps": [step("L", "R", "id", "left", "J")]},
        ),
        list_sink("out"),
    )

    def small_budget(executor: Any) -> None:
        executor.options.resources.update(join_memory_bytes=20_000, spill_dir=str(spill_dir))

    run = await run_job(comps, executor_hook=small_budget)
    out = rows(run)
    assert "right" in spills
    assert len(out) == 2000 + 2000  # ids 0..999 match twice; 1000..2999 stay unmatched
    assert out[:3] == [(0, "l0", "r0"), (0, "l0", "r1000"), (1, "l1", "r1")]
    assert out[-1] == (2999, "l2999", None)
    assert list(spill_dir.iterdir()) == []  # spill files are removed at the end


async def test_join_removes_its_spill_files_when_the_run_fails(tmp_path: Path, spills: list[str]) -> None:
    spill_dir = tmp_path / "spill"
    comps = join_job("outer", size=1, budget=0)
    comps["components"][3]["fail_after"] = 2

    def use_spill_dir(executor: Any) -> None:
        executor.options.resources["spill_dir"] = str(spill_dir)

    run = await run_job(comps, executor_hook=use_spill_dir)
    assert run.status == "FAILED"
    assert "failing on purpose" in (run.state.error or "")
    assert "right" in spills
    assert list(spill_dir.iterdir()) == []


async def test_join_with_different_key_names_keeps_both_key_columns() -> None:
    left_schema = fields(cust="integer", v="string")
    right_schema = fields(cid="integer", v="string", tier="string")
    comps = job(
        source("left", [{"cust": 1, "v": "l1"}, {"cust": 9, "v": "l9"}], "map", "L", left_schema),
        source(
            "right",
            [{"cid": 1, "v": "r1", "tier": "gold"}, {"cid": 5, "v": "r5", "tier": "x"}],
            "map",
            "R",
            right_schema,
        ),
        mapping(
            inputs={"L": left_schema, "R": right_schema},
            outputs={"J": None},
            routes={"J": "out"},
            join_plan={"steps": [step("L", "R", ("cust", "cid"), "outer", "J")]},
        ),
        list_sink("out"),
    )
    run = await run_job(comps)
    assert run.records("out") == [
        {"cust": 1, "v_x": "l1", "cid": 1, "v_y": "r1", "tier": "gold"},
        {"cust": 9, "v_x": "l9", "cid": None, "v_y": None, "tier": None},
        {"cust": None, "v_x": None, "cid": 5, "v_y": "r5", "tier": "x"},
    ]


async def test_join_on_nested_keys() -> None:
    left_schema = {
        "fields": [
            {"name": "who", "data_type": "string"},
            {"name": "address", "data_type": "object", "children": [{"name": "city", "data_type": "string"}]},
        ]
    }
    right_schema = fields(city="string", region="string")
    comps = job(
        source(
            "left", [{"who": "a", "address": {"city": "Rome"}}, {"who": "b", "address": None}], "map", "L", left_schema
        ),
        source("right", [{"city": "Rome", "region": "Lazio"}], "map", "R", right_schema),
        mapping(
            inputs={"L": left_schema, "R": right_schema},
            outputs={"J": None},
            routes={"J": "out"},
            join_plan={"steps": [step("L", "R", ("address.city", "city"), "left", "J")]},
        ),
        list_sink("out"),
    )
    run = await run_job(comps)
    assert run.records("out") == [
        {"who": "a", "address": {"city": "Rome"}, "city": "Rome", "region": "Lazio"},
        {"who": "b", "address": None, "city": None, "region": None},
    ]


JOIN_KEYS = [
    pytest.param(1, 1.0, True, id="int-matches-integral-float"),
    pytest.param(1, "1", False, id="int-does-not-match-text"),
    pytest.param(True, 1, False, id="bool-does-not-match-int"),
    pytest.param(None, None, False, id="null-never-matches"),
    pytest.param("a", "A", False, id="text-is-exact"),
    pytest.param([1, 2], [1, 2], True, id="lists-match-by-content"),
]


@pytest.mark.parametrize(("left_key", "right_key", "match"), JOIN_KEYS)
@pytest.mark.parametrize("budget", [None, 0], ids=["memory", "spilled"])
async def test_join_key_equality(left_key: Any, right_key: Any, match: bool, budget: int | None) -> None:
    schema = {"fields": [{"name": "k", "data_type": "string", "nullable": True}, {"name": "v", "data_type": "string"}]}
    options: dict[str, Any] = {"join_plan": {"steps": [step("L", "R", "k", "inner", "J")]}}
    if budget is not None:
        options["join_memory_bytes"] = budget
    comps = job(
        source("left", [{"k": left_key, "v": "l"}], "map", "L", schema),
        source("right", [{"k": right_key, "v": "r"}], "map", "R", schema),
        mapping(inputs={"L": schema, "R": schema}, outputs={"J": None}, routes={"J": "out"}, **options),
        list_sink("out"),
    )
    run = await run_job(comps)
    assert run.status == "SUCCESS", run.state.error
    assert len(run.records("out")) == (1 if match else 0)


async def test_join_output_with_rules_picks_fields_from_either_side() -> None:
    # the shape of tests/combinations_jobs/mongodb/mongo_bulk_join_people_orders.json of the original etl-core
    people = {
        "fields": [
            {"name": "user_id", "data_type": "string"},
            {"name": "name", "data_type": "string"},
            {"name": "address", "data_type": "object", "children": [{"name": "city", "data_type": "string"}]},
        ]
    }
    orders = fields(order_id="string", user_id="string", amount="integer")
    out = fields(user_id="string", name="string", city="string", order_id="string", amount="integer")
    comps = job(
        source(
            "people",
            [
                {"user_id": "u1", "name": "Ann", "address": {"city": "Oslo"}},
                {"user_id": "u2", "name": "Bo", "address": {"city": "Rome"}},
            ],
            "map_join",
            "A",
            people,
        ),
        source(
            "orders",
            [
                {"order_id": "o1", "user_id": "u2", "amount": 5},
                {"order_id": "o2", "user_id": "u1", "amount": 7},
                {"order_id": "o3", "user_id": "u2", "amount": 9},
            ],
            "map_join",
            "B",
            orders,
        ),
        mapping(
            "map_join",
            inputs={"A": people, "B": orders},
            outputs={"out": out},
            routes={"out": "write_joined"},
            join_plan={"steps": [step("A", "B", "user_id", "inner", "out")]},
            rules_by_dest={
                "out": {
                    "user_id": {"src_port": "A", "src_path": "user_id"},
                    "name": {"src_port": "A", "src_path": "name"},
                    "city": {"src_port": "A", "src_path": "address.city"},
                    "order_id": {"src_port": "B", "src_path": "order_id"},
                    "amount": {"src_port": "B", "src_path": "amount"},
                }
            },
        ),
        list_sink("write_joined", schema=out),
    )
    run = await run_job(comps)
    assert rows(run, "write_joined") == [
        ("u1", "Ann", "Oslo", "o2", 7),
        ("u2", "Bo", "Rome", "o1", 5),
        ("u2", "Bo", "Rome", "o3", 9),
    ]


async def test_join_rules_may_read_the_joined_record() -> None:
    comps = job(
        source("left", LEFT[:2], "map", "L", ID_NAME),
        source("right", RIGHT[:2], "map", "R", ID_NAME),
        mapping(
            inputs={"L": ID_NAME, "R": ID_NAME},
            outputs={"J": None},
            routes={"J": "out"},
            join_plan={"steps": [step("L", "R", "id", "inner", "J")]},
            rules_by_dest={
                "J": {"key": {"src_port": "J", "src_path": "id"}, "other": {"src_port": "J", "src_path": "name_y"}}
            },
        ),
        list_sink("out"),
    )
    run = await run_job(comps)
    assert run.records("out") == [{"key": 1, "other": "Y"}, {"key": 2, "other": "X"}]


async def test_join_steps_chain_through_an_intermediate_output() -> None:
    third = fields(id="integer", extra="string")
    comps = job(
        source("left", LEFT[:3], "map", "L", ID_NAME),
        source("right", RIGHT[:3], "map", "R", ID_NAME),
        source("third", [{"id": 2, "extra": "e2"}, {"id": 1, "extra": "e1"}], "map", "S", third),
        mapping(
            inputs={"L": ID_NAME, "R": ID_NAME, "S": third},
            outputs={"J2": None},
            routes={"J2": "out"},
            join_plan={"steps": [step("L", "R", "id", "inner", "J1"), step("J1", "S", "id", "left", "J2")]},
        ),
        list_sink("out", schema=fields(id="integer", name_x="string", name_y="string", extra="string")),
    )
    run = await run_job(comps)
    assert rows(run) == [
        (1, "a", "Y", "e1"),
        (2, "b", "X", "e2"),
        (2, "b", "Z", "e2"),
        (2, "b2", "X", "e2"),
        (2, "b2", "Z", "e2"),
    ]


async def test_join_step_may_hold_an_earlier_output_as_its_right_side() -> None:
    comps = job(
        source("left", [{"id": 2, "name": "q"}], "map", "L", ID_NAME),
        source("right", RIGHT[:3], "map", "R", ID_NAME),
        source("third", [{"id": 2, "name": "s2"}], "map", "S", ID_NAME),
        mapping(
            inputs={"L": ID_NAME, "R": ID_NAME, "S": ID_NAME},
            outputs={"OUT": None},
            routes={"OUT": "out"},
            join_plan={"steps": [step("R", "S", "id", "inner", "RS"), step("L", "RS", "id", "inner", "OUT")]},
        ),
        list_sink("out"),
    )
    run = await run_job(comps)
    assert run.records("out") == [
        {"id": 2, "name": "q", "name_x": "X", "name_y": "s2"},
        {"id": 2, "name": "q", "name_x": "Z", "name_y": "s2"},
    ]


async def test_join_output_is_projected_on_the_declared_schema() -> None:
    run = await run_job(join_job("left", declared=fields(id="integer", name_y="string")))
    assert run.status == "SUCCESS", run.state.error
    assert run.records("out")[:2] == [{"id": 1, "name_y": "Y"}, {"id": 2, "name_y": "X"}]


async def test_join_runs_the_original_projects_left_join_shape() -> None:
    # tests/combinations_jobs/mapping/csv_bulk_join_left_csv.json of the original etl-core
    schema = {"fields": [{"name": "id", "data_type": "string"}, {"name": "name", "data_type": "string"}]}
    joined = {
        "fields": [
            {"name": "id", "data_type": "string"},
            {"name": "name_x", "data_type": "string"},
            {"name": "name_y", "data_type": "string"},
        ]
    }
    comps = {
        "name": "CSV bulk self-join (left) to CSV",
        "num_of_retries": 0,
        "file_logging": False,
        "strategy_type": "bulk",
        "components": [
            {
                "name": "L",
                "comp_type": "test_source",
                "description": "left CSV",
                "records": [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}],
                "routes": {"out": [{"to": "map", "in_port": "L"}]},
                "out_port_schemas": {"out": schema},
            },
            {
                "name": "R",
                "comp_type": "test_source",
                "description": "right CSV",
                "records": [{"id": "2", "name": "B"}],
                "routes": {"out": [{"to": "map", "in_port": "R"}]},
                "out_port_schemas": {"out": schema},
            },
            {
                "name": "map",
                "comp_type": "schema_mapping",
                "description": "join plan only; no mapping rules",
                "extra_input_ports": ["L", "R"],
                "extra_output_ports": ["J"],
                "in_port_schemas": {"L": schema, "R": schema},
                "routes": {"J": [{"to": "writer", "in_port": "in"}]},
                "out_port_schemas": {"J": joined},
                "join_plan": {
                    "steps": [
                        {
                            "left_port": "L",
                            "right_port": "R",
                            "left_on": "id",
                            "right_on": "id",
                            "how": "left",
                            "output_port": "J",
                        }
                    ]
                },
                "rules_by_dest": {},
            },
            {"name": "writer", "comp_type": "test_sink", "description": "CSV sink", "in_port_schemas": {"in": joined}},
        ],
    }
    run = await run_job(comps)
    assert rows(run, "writer") == [("1", "a", None), ("2", "b", "B")]


# -- mapping ------------------------------------------------------------------------------------------------
async def test_mapping_fans_one_input_out_to_several_ports() -> None:
    # tests/combinations_jobs/mapping/csv_bulk_map_fanout_csv.json of the original etl-core
    schema = {"fields": [{"name": "id", "data_type": "string"}, {"name": "name", "data_type": "string"}]}
    a = {"fields": [{"name": "uid", "data_type": "string"}, {"name": "uname", "data_type": "string"}]}
    comps = job(
        source("reader", [{"id": "1", "name": "x"}, {"id": "2", "name": "y"}], "map", "in", schema),
        mapping(
            inputs={"in": schema},
            outputs={"A": a, "B": schema},
            routes={"A": "writer_A", "B": "writer_B"},
            rules_by_dest={
                "A": {"uid": {"src_port": "in", "src_path": "id"}, "uname": {"src_port": "in", "src_path": "name"}},
                "B": {"id": {"src_port": "in", "src_path": "id"}, "name": {"src_port": "in", "src_path": "name"}},
            },
        ),
        list_sink("writer_A", schema=a),
        list_sink("writer_B", schema=schema),
    )
    run = await run_job(comps)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("writer_A") == [{"uid": "1", "uname": "x"}, {"uid": "2", "uname": "y"}]
    assert run.records("writer_B") == [{"id": "1", "name": "x"}, {"id": "2", "name": "y"}]


OPEN = {
    "fields": [
        {"name": "a", "data_type": "integer"},
        {"name": "b", "data_type": "integer"},
        {"name": "c", "data_type": "string"},
        {"name": "addr", "data_type": "object", "children": [{"name": "city", "data_type": "string"}]},
        {"name": "tags", "data_type": "array", "item": {"data_type": "string"}},
    ]
}


def ref(path: str) -> dict[str, str]:
    return {"src_port": "in", "src_path": path}


MAPPINGS = [
    pytest.param({"out": ref("a")}, {"a": 1}, {"out": 1}, None, id="rename"),
    pytest.param({"out": ref("nope")}, {"a": 1}, {"out": None}, fields(out="integer"), id="missing-source-is-null"),
    pytest.param({"out": ref("a")}, {"b": 1}, {"out": None}, None, id="missing-value-is-null"),
    pytest.param({"city": ref("addr.city")}, {"addr": {"city": "Rome"}}, {"city": "Rome"}, None, id="nested-source"),
    pytest.param({"city": ref("addr.city")}, {"addr.city": "Rome"}, {"city": "Rome"}, None, id="flat-dotted-source"),
    pytest.param({"addr.city": ref("c")}, {"c": "Rome"}, {"addr": {"city": "Rome"}}, None, id="nested-dest"),
    pytest.param({"first": ref("tags[0]")}, {"tags": ["x", "y"]}, {"first": "x"}, None, id="list-index-source"),
    pytest.param(
        {"b": ref("b"), "a": ref("a")}, {"a": 1, "b": 2}, {"b": 2, "a": 1}, None, id="dest-order-follows-rules"
    ),
]


@pytest.mark.parametrize(("rules", "record", "expected", "declared"), MAPPINGS)
async def test_mapping_rules(
    rules: dict[str, Any], record: dict[str, Any], expected: dict[str, Any], declared: Any
) -> None:
    comps = job(
        source("src", [record], "map", "in", None),
        mapping(inputs={"in": OPEN}, outputs={"out": declared}, routes={"out": "sink"}, rules_by_dest={"out": rules}),
        list_sink("sink"),
    )
    run = await run_job(comps)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [expected]
    assert list(run.records("sink")[0]) == list(expected)


async def test_mapping_record_feeds_only_the_rules_naming_its_port() -> None:
    a = fields(x="integer")
    b = fields(y="string")
    out = fields(x="integer", y="string")
    comps = job(
        source("sa", [{"x": 1}], "map", "A", a),
        source("sb", [{"y": "q"}], "map", "B", b),
        mapping(
            inputs={"A": a, "B": b},
            outputs={"out": None},
            routes={"out": "sink"},
            rules_by_dest={"out": {"x": {"src_port": "A", "src_path": "x"}, "y": {"src_port": "B", "src_path": "y"}}},
        ),
        list_sink("sink", schema=out),
    )
    run = await run_job(comps)
    assert run.status == "SUCCESS", run.state.error
    assert sorted(run.records("sink"), key=str) == sorted([{"x": 1, "y": None}, {"x": None, "y": "q"}], key=str)


async def test_mapping_output_takes_the_declared_types() -> None:
    schema = fields(id="string")
    comps = job(
        source("src", [{"id": "1"}, {"id": "x"}], "map", "in", schema),
        mapping(
            inputs={"in": schema},
            outputs={"out": fields(uid="integer")},
            routes={"out": "sink", "error": "bad"},
            rules_by_dest={"out": {"uid": {"src_port": "in", "src_path": "id"}}},
        ),
        list_sink("sink"),
        list_sink("bad"),
    )
    run = await run_job(comps)
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"uid": 1}]
    assert run.records("bad")[0]["error"] == "output field 'uid': 'x' is not an integer"


async def test_mapping_may_read_a_join_output_on_another_port() -> None:
    comps = job(
        source("left", LEFT[:2], "map", "L", ID_NAME),
        source("right", RIGHT[:2], "map", "R", ID_NAME),
        mapping(
            inputs={"L": ID_NAME, "R": ID_NAME},
            outputs={"names": None},
            routes={"names": "out"},
            join_plan={"steps": [step("L", "R", "id", "inner", "J")]},
            rules_by_dest={"names": {"n": {"src_port": "J", "src_path": "name_y"}}},
        ),
        list_sink("out", schema=fields(n="string")),
    )
    run = await run_job(comps)
    assert run.records("out") == [{"n": "Y"}, {"n": "X"}]


async def test_mapping_derives_output_schemas_checked_downstream() -> None:
    comps = job(
        source("left", LEFT[:1], "map", "L", ID_NAME),
        source("right", RIGHT[:1], "map", "R", ID_NAME),
        mapping(
            inputs={"L": ID_NAME, "R": ID_NAME},
            outputs={"J": None},
            routes={"J": "out"},
            join_plan={"steps": [step("L", "R", "id", "left", "J")]},
        ),
        list_sink("out", schema=fields(id="integer", name_x="array", name_y="string")),
    )
    with pytest.raises(ConfigError) as caught:
        await run_job(comps)
    assert "field 'name_x' is string upstream but array downstream" in str(caught.value)


PORT_ERRORS = [
    pytest.param(
        {"join_plan": {"steps": [step("L", "X", "id", "inner", "J")]}},
        "join_plan.steps[0].right_port: 'X' is neither an input port (L, R) nor an earlier step's output",
        id="unknown-right-port",
    ),
    pytest.param(
        {"join_plan": {"steps": [step("J2", "R", "id", "inner", "J"), step("L", "R", "id", "inner", "J2")]}},
        "join_plan.steps[0].left_port: 'J2' is the output of steps[1], which does not run before this step",
        id="reads-a-later-step",
    ),
    pytest.param(
        {"join_plan": {"steps": [step("L", "R", "id", "inner", "K")]}},
        "join_plan.steps[0].output_port: 'K' is neither an output port (J) nor read by a later step or a mapping rule",
        id="output-goes-nowhere",
    ),
    pytest.param(
        {"join_plan": {"steps": [step("L", "R", "id", "inner", "J"), step("L", "R", "id", "left", "J")]}},
        "join_plan.steps[1].output_port: 'J' is already the output of steps[0]",
        id="two-steps-one-output",
    ),
    pytest.param(
        {"join_plan": {"steps": [step("L", "R", "id", "inner", "L")]}},
        "join_plan.steps[0].output_port: 'L' is an input port",
        id="output-named-like-an-input",
    ),
    pytest.param(
        {"rules_by_dest": {"Q": {"a": {"src_port": "L", "src_path": "id"}}}},
        "rules_by_dest.Q: 'Q' is not an output port (ports: J)",
        id="rules-for-unknown-port",
    ),
    pytest.param(
        {"rules_by_dest": {"J": {"a": {"src_port": "Z", "src_path": "id"}}}},
        "rules_by_dest.J.a.src_port: 'Z' is neither an input port (L, R) nor a join step's output",
        id="rule-from-unknown-port",
    ),
    pytest.param(
        {
            "join_plan": {"steps": [step("L", "R", "id", "inner", "J1"), step("J1", "R", "id", "inner", "J")]},
            "rules_by_dest": {"J": {"a": {"src_port": "L", "src_path": "id"}}},
        },
        "rules_by_dest.J.a.src_port: 'L' is not a side of the join producing 'J' (use 'J1', 'R', 'J')",
        id="join-rule-from-another-steps-input",
    ),
    pytest.param(
        {"join_plan": {"steps": [{**step("L", "R", "id", "inner", "J"), "how": "cross"}]}},
        "join_plan.steps[0].how: 'cross' is not one of inner, left, right",
        id="unknown-how",
    ),
    pytest.param(
        {"rules_by_dest": {"J": {"a..b": {"src_port": "L", "src_path": "id"}}}},
        "rules_by_dest: J: dest path 'a..b' must be a dotted path",
        id="bad-dest-path",
    ),
]


@pytest.mark.parametrize(("options", "message"), PORT_ERRORS)
async def test_mapping_port_references_are_config_errors(options: dict[str, Any], message: str) -> None:
    comps = job(
        source("left", LEFT, "map", "L", ID_NAME),
        source("right", RIGHT, "map", "R", ID_NAME),
        mapping(inputs={"L": ID_NAME, "R": ID_NAME}, outputs={"J": ID_NAME}, routes={"J": "out"}, **options),
        list_sink("out"),
    )
    with pytest.raises(ConfigError) as caught:
        await run_job(comps)
    texts = [str(i) for i in caught.value.issues]
    expected = f"components[2] (name 'map'): {message}"
    assert any(t.startswith(expected) for t in texts), texts
