"""Reading and planning a job document reports every issue of both steps at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_core.errors import ConfigError
from etl_core.graph.planner import PlanOptions, plan_document

SCHEMA = {"fields": [{"name": "a", "data_type": "string"}]}


def reader(**extra: Any) -> dict[str, Any]:
    return {"name": "r", "comp_type": "read_csv", "filepath": "in.csv", "out_port_schemas": {"out": SCHEMA}, **extra}


def issues_of(doc: dict[str, Any], data_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        plan_document(doc, PlanOptions(data_dir=data_dir))
    return [issue.path for issue in caught.value.issues]


def test_bad_job_fields_do_not_hide_the_components_and_wiring_issues(data_dir: Path) -> None:
    doc = {
        "name": "v",
        "strategy_type": "weird",
        "num_of_retries": -1,
        "components": [reader(routes={"out": ["nowhere"]}), {"name": "x", "comp_type": "no_such_type"}],
    }

    assert issues_of(doc, data_dir) == [
        "strategy_type",
        "num_of_retries",
        "components[1].comp_type",
        "components[0].routes.out[0].to",
    ]


def test_a_missing_job_name_still_lets_the_components_be_checked(data_dir: Path) -> None:
    doc = {"components": [reader(routes={"out": ["nowhere"]})]}

    assert issues_of(doc, data_dir) == ["name", "components[0].routes.out[0].to"]


def test_a_malformed_component_reports_the_structural_issues_alone(data_dir: Path) -> None:
    doc = {"name": "v", "strategy_type": "weird", "components": [reader(), {"comp_type": "read_csv"}]}

    paths = issues_of(doc, data_dir)

    assert "strategy_type" in paths
    assert "components[1].name" in paths


def test_a_valid_document_is_planned(data_dir: Path) -> None:
    doc = {
        "name": "ok",
        "components": [
            reader(routes={"out": ["w"]}),
            {"name": "w", "comp_type": "write_csv", "filepath": "out.csv", "in_port_schemas": {"in": SCHEMA}},
        ],
    }

    plan = plan_document(doc, PlanOptions(data_dir=data_dir))

    assert list(plan.nodes) == ["r", "w"]


def test_an_aggregation_naming_unknown_fields_is_reported_at_those_options(data_dir: Path) -> None:
    schema = {"fields": [{"name": "city", "data_type": "string"}, {"name": "amount", "data_type": "float"}]}
    doc = {
        "name": "v",
        "components": [
            {
                "name": "r",
                "comp_type": "read_csv",
                "filepath": "in.csv",
                "routes": {"out": ["agg"]},
                "out_port_schemas": {"out": schema},
            },
            {
                "name": "agg",
                "comp_type": "aggregation",
                "group_by": ["cty"],
                "aggregations": [{"src": "amont", "op": "sum", "dest": "t"}, {"src": "*", "op": "count", "dest": "n"}],
                "routes": {"out": ["w"]},
                "in_port_schemas": {"in": schema},
            },
            {"name": "w", "comp_type": "write_csv", "filepath": "o.csv"},
        ],
    }

    with pytest.raises(ConfigError) as caught:
        plan_document(doc, PlanOptions(data_dir=data_dir))

    assert [(i.path, i.message) for i in caught.value.issues] == [
        ("components[1].group_by[0]", "field 'cty' is not in the input schema (city, amount)"),
        ("components[1].aggregations[0].src", "field 'amont' is not in the input schema (city, amount)"),
    ]
