"""/configs: JSON Schemas generated from the job models and the component registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from apitools import get_token, make_app, make_settings
from quart.typing import TestClientProtocol as QuartClient

from etl_core.components.registry import REGISTRY


async def test_component_types_list_every_registered_type_in_test_mode(
    client: QuartClient, headers: dict[str, str]
) -> None:
    response = await client.get("/configs/component_types", headers=headers)
    assert await response.get_json() == REGISTRY.names(include_test=True)
    assert "test_source" in await response.get_json()


async def test_production_mode_hides_test_only_types(tmp_path: Path) -> None:
    app = make_app(make_settings(tmp_path, component_mode="production"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        names = await (await client.get("/configs/component_types", headers=headers)).get_json()
        assert names == REGISTRY.names(include_test=False)
        assert "test_source" not in names
        assert "read_csv" in names
        response = await client.get("/configs/test_source/form", headers=headers)
        assert response.status_code == 404
        assert (await response.get_json())["detail"]["code"] == "COMPONENT_TYPE_NOT_FOUND"
        job = await (await client.get("/configs/job", headers=headers)).get_json()
        assert "test_source" not in job["x-component-types"]


async def test_job_schema_describes_the_job_document(client: QuartClient, headers: dict[str, str]) -> None:
    schema = await (await client.get("/configs/job", headers=headers)).get_json()
    props = schema["properties"]
    assert {"name", "strategy_type", "num_of_retries", "file_logging", "metadata", "components"} <= set(props)
    assert props["strategy_type"]["enum"] == ["row", "bulk", "bigdata"]
    assert props["num_of_retries"]["default"] == 0
    component = schema["$defs"]["ComponentConfig"]
    assert "options" not in component["properties"]
    assert component["properties"]["comp_type"]["enum"] == REGISTRY.names(include_test=True)


async def test_full_schema_has_common_fields_options_defaults_and_ports(
    client: QuartClient, headers: dict[str, str]
) -> None:
    schema = await (await client.get("/configs/read_csv/full", headers=headers)).get_json()
    props = schema["properties"]
    assert props["comp_type"]["const"] == "read_csv"
    assert props["separator"]["default"] == ","
    assert {"name", "routes", "out_port_schemas", "layout", "filepath"} <= set(props)
    assert schema["required"] == ["name", "comp_type", "filepath"]
    assert schema["additionalProperties"] is False
    assert schema["x-icon"] == schema["icon"] == REGISTRY.get("read_csv").icon  # type: ignore[union-attr]
    assert schema["x-category"] == "file"
    assert schema["x-ports"]["inputs"] == []
    assert [p["name"] for p in schema["x-ports"]["outputs"]] == ["out", "error"]
    assert schema["x-example"] == REGISTRY.get("read_csv").example  # type: ignore[union-attr]


async def test_form_and_hidden_split_the_fields(client: QuartClient, headers: dict[str, str]) -> None:
    form = await (await client.get("/configs/write_csv/form", headers=headers)).get_json()
    hidden = await (await client.get("/configs/write_csv/hidden", headers=headers)).get_json()
    full = await (await client.get("/configs/write_csv/full", headers=headers)).get_json()
    assert "filepath" in form["properties"]
    assert "routes" not in form["properties"]
    assert set(hidden["properties"]) == {
        "routes",
        "out_port_schemas",
        "in_port_schemas",
        "extra_output_ports",
        "extra_input_ports",
        "layout",
        "metadata",
    }
    assert set(form["properties"]) | set(hidden["properties"]) == set(full["properties"])
    assert hidden["required"] == []


@pytest.mark.parametrize("comp_type", REGISTRY.names(include_test=True))
async def test_every_registered_type_has_valid_schemas(
    client: QuartClient, headers: dict[str, str], comp_type: str
) -> None:
    for view in ("form", "full", "hidden"):
        response = await client.get(f"/configs/{comp_type}/{view}", headers=headers)
        assert response.status_code == 200
        schema = await response.get_json()
        refs = {r.split("/")[-1] for r in _refs(schema)}
        assert refs <= set(schema.get("$defs", {}))


async def test_unknown_type_is_404(client: QuartClient, headers: dict[str, str]) -> None:
    response = await client.get("/configs/nope/full", headers=headers)
    assert response.status_code == 404
    assert "read_csv" in (await response.get_json())["detail"]["context"]["known"]


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
