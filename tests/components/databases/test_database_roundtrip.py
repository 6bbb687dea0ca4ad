"""Records written to and read back from the real SQLite, PostgreSQL and MariaDB keep every schema type."""

from __future__ import annotations

from typing import Any

from db_harness import Db

from etl_core.testing import list_sink, list_source, make_job, run_job

ALL_TYPES = {
    "fields": [
        {"name": "id", "data_type": "integer"},
        {"name": "name", "data_type": "string", "nullable": True},
        {"name": "score", "data_type": "float", "nullable": True},
        {"name": "active", "data_type": "boolean", "nullable": True},
        {"name": "kind", "data_type": "enum", "enum_values": ["basic", "premium"], "nullable": True},
        {"name": "home", "data_type": "path", "nullable": True},
        {
            "name": "address",
            "data_type": "object",
            "children": [
                {"name": "city", "data_type": "string", "nullable": True},
                {"name": "zip", "data_type": "integer", "nullable": True},
            ],
        },
        {"name": "tags", "data_type": "array", "item": {"name": "tag", "data_type": "string"}, "nullable": True},
        {"name": "extra", "data_type": "object", "nullable": True},
    ]
}

LARGE_TEXT = "Grüße, 世界 😀 \"quoted\", 'single', back\\slash; DROP TABLE x; --\n" * 20_000  # ~1.3 MB


def _records() -> list[dict[str, Any]]:
    return [
        {
            "id": 1,
            "name": "Zoë Ünal 😀 — 東京",
            "score": 0.1 + 0.2,
            "active": True,
            "kind": "premium",
            "home": "/data/in/ünïcode file.csv",
            "address": {"city": "Köln", "zip": 50667},
            "tags": ["a", "ß", "😀"],
            "extra": {"nested": {"list": [1, 2.5, None, True]}, "text": "x"},
        },
        {
            "id": 2,
            "name": None,
            "score": None,
            "active": None,
            "kind": None,
            "home": None,
            "address": {"city": None, "zip": None},
            "tags": None,
            "extra": None,
        },
        {
            "id": 3,
            "name": LARGE_TEXT,
            "score": -1.5e300,
            "active": False,
            "kind": "basic",
            "home": "",
            "address": {"city": "", "zip": 0},
            "tags": [],
            "extra": {},
        },
        {
            "id": 9_007_199_254_740_993,  # beyond a double's integer precision
            "name": "",
            "score": 12345.678901234567,
            "active": False,
            "kind": "basic",
            "home": "relative/path",
            "address": {"city": "Zürich", "zip": -1},
            "tags": ["only"],
            "extra": {"k": "v"},
        },
    ]


async def test_every_schema_type_round_trips_with_nulls_unicode_and_large_text(db: Db) -> None:
    table = db.table()
    records = _records()
    write = make_job(
        list_source("src", records, schema=ALL_TYPES),
        {**db.writer(entity_name=table, create_table=True), "in_port_schemas": {"in": ALL_TYPES}},
    )
    run = await run_job(write, data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert await db.columns(table) == [
        "id",
        "name",
        "score",
        "active",
        "kind",
        "home",
        "address.city",
        "address.zip",
        "tags",
        "extra",
    ]

    read = make_job(
        {**db.reader(query=f"SELECT * FROM {db.quote(table)} ORDER BY id"), "out_port_schemas": {"out": ALL_TYPES}},
        list_sink("sink", schema=ALL_TYPES),
    )
    run = await run_job(read, data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error
    got = run.records("sink")
    assert got == records
    assert type(got[0]["active"]) is bool
    assert type(got[0]["score"]) is float
    assert len(got[2]["name"]) == len(LARGE_TEXT)


async def test_reading_without_a_schema_gives_plain_column_values(db: Db) -> None:
    table = db.table()
    schema = {
        "fields": [
            {"name": "id", "data_type": "integer"},
            {"name": "label", "data_type": "string", "nullable": True},
            {"name": "ratio", "data_type": "float", "nullable": True},
        ]
    }
    rows: list[dict[str, Any]] = [{"id": 1, "label": "eins", "ratio": 0.5}, {"id": 2, "label": None, "ratio": None}]
    run = await run_job(
        make_job(
            list_source("src", rows, schema=schema),
            {**db.writer(entity_name=table, create_table=True), "in_port_schemas": {"in": schema}},
        ),
        data_dir=db.data_dir,
    )
    assert run.status == "SUCCESS", run.state.error
    run = await run_job(
        make_job(db.reader(query=f"SELECT id, label, ratio FROM {db.quote(table)} ORDER BY id"), list_sink("sink")),
        data_dir=db.data_dir,
    )
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == rows


async def test_reading_a_large_table_streams_several_batches(db: Db) -> None:
    table = db.table()
    schema = {
        "fields": [
            {"name": "id", "data_type": "integer"},
            {"name": "group", "data_type": "integer"},
            {"name": "label", "data_type": "string"},
        ]
    }
    fill = make_job(
        {"name": "src", "comp_type": "test_range", "count": 2_500, "modulo": 7, "out_port_schemas": {"out": schema}},
        {**db.writer(entity_name=table, create_table=True, batch_size=1_000), "in_port_schemas": {"in": schema}},
    )
    run = await run_job(fill, data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error

    read = make_job(
        {**db.reader(entity_name=table, batch_size=400), "out_port_schemas": {"out": schema}},
        list_sink("sink", schema=schema),
    )
    run = await run_job(read, data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert run.metrics("read").batches_out == 7  # 6 full fetches of 400 and one of 100
    got = run.records("sink")
    assert sorted(r["id"] for r in got) == list(range(2_500))
    assert {r["group"] for r in got} == set(range(7))


async def test_row_mode_sends_a_small_first_batch_then_grows(db: Db) -> None:
    table = db.table()
    schema = {
        "fields": [
            {"name": "id", "data_type": "integer"},
            {"name": "group", "data_type": "integer"},
            {"name": "label", "data_type": "string"},
        ]
    }
    fill = make_job(
        {"name": "src", "comp_type": "test_range", "count": 1_000, "out_port_schemas": {"out": schema}},
        {**db.writer(entity_name=table, create_table=True), "in_port_schemas": {"in": schema}},
    )
    assert (await run_job(fill, data_dir=db.data_dir)).status == "SUCCESS"
    read = make_job(
        {
            **db.reader(query=f"SELECT * FROM {db.quote(table)} ORDER BY id", batch_size=500),
            "out_port_schemas": {"out": schema},
        },
        list_sink("sink", schema=schema),
        strategy="row",
    )
    run = await run_job(read, data_dir=db.data_dir)
    assert run.status == "SUCCESS", run.state.error
    assert run.metrics("read").batches_out == 4  # fetches of 64, 256, 500 and the last 180 rows
    assert [r["id"] for r in run.records("sink")] == list(range(1_000))


async def test_a_nested_object_schema_reads_dotted_columns_into_objects(db: Db) -> None:
    table = db.table()
    await db.execute(
        f"CREATE TABLE {db.quote(table)} (id INTEGER, {db.quote('geo.lat')} DOUBLE PRECISION, "
        f"{db.quote('geo.lon')} DOUBLE PRECISION, {db.quote('geo.name')} VARCHAR(50))"
        if db.kind != "mariadb"
        else f"CREATE TABLE {db.quote(table)} (id INTEGER, `geo.lat` DOUBLE, `geo.lon` DOUBLE, `geo.name` VARCHAR(50))",
        f"INSERT INTO {db.quote(table)} VALUES (1, 50.9, 6.9, 'Köln')",
    )
    schema = {
        "fields": [
            {"name": "id", "data_type": "integer"},
            {
                "name": "geo",
                "data_type": "object",
                "children": [{"name": "lat", "data_type": "float"}, {"name": "name", "data_type": "string"}],
            },
        ]
    }
    run = await run_job(
        make_job(
            {**db.reader(entity_name=table), "out_port_schemas": {"out": schema}}, list_sink("sink", schema=schema)
        ),
        data_dir=db.data_dir,
    )
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1, "geo": {"lat": 50.9, "name": "Köln"}}]


async def test_a_value_that_cannot_take_its_declared_type_is_a_record_error(db: Db) -> None:
    table = db.table()
    await db.execute(
        f"CREATE TABLE {db.quote(table)} (id INTEGER, amount VARCHAR(20))",
        f"INSERT INTO {db.quote(table)} VALUES (1, '12'), (2, 'twelve'), (3, '3.0')",
    )
    schema = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "amount", "data_type": "integer"}]}
    reader = {
        **db.reader(query=f"SELECT id, amount FROM {db.quote(table)} ORDER BY id"),
        "out_port_schemas": {"out": schema},
        "routes": {"out": ["sink"], "error": ["errors"]},
    }
    run = await run_job(
        make_job(reader, list_sink("sink", schema=schema), list_sink("errors"), chain=False), data_dir=db.data_dir
    )
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 1, "amount": 12}, {"id": 3, "amount": 3}]
    [error] = run.records("errors")
    assert error["record"] == {"id": 2, "amount": "twelve"}
    assert "row 2" in error["error"]
    assert "'twelve' is not an integer" in error["error"]
    assert error["component"] == "read"
    assert run.metrics("read").errors == 1


async def test_a_schema_column_missing_from_the_result_fails_naming_it(db: Db) -> None:
    table = db.table()
    await db.execute(f"CREATE TABLE {db.quote(table)} (id INTEGER)")
    schema = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "city", "data_type": "string"}]}
    run = await run_job(
        make_job(
            {**db.reader(query=f"SELECT id FROM {db.quote(table)}"), "out_port_schemas": {"out": schema}},
            list_sink("sink", schema=schema),
        ),
        data_dir=db.data_dir,
    )
    assert run.status == "FAILED"
    assert "column(s) city declared in the out port schema are not in the result (id)" in (run.state.error or "")


async def test_a_query_with_params_binds_every_placeholder(db: Db) -> None:
    table = db.table()
    await db.execute(
        f"CREATE TABLE {db.quote(table)} (id INTEGER, city VARCHAR(30))",
        f"INSERT INTO {db.quote(table)} VALUES (1, 'Bonn'), (2, 'Köln'), (3, 'Bonn'), (4, 'Wien')",
    )
    query = f"SELECT id FROM {db.quote(table)} WHERE city = :city AND id >= :min_id OR id = :min_id ORDER BY id"
    run = await run_job(
        make_job(db.reader(query=query, params={"city": "Bonn", "min_id": 2}), list_sink("sink")),
        data_dir=db.data_dir,
    )
    assert run.status == "SUCCESS", run.state.error
    assert run.records("sink") == [{"id": 2}, {"id": 3}]
