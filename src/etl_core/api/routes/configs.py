"""JSON Schemas for UIs: the job document and each component type (test-only types hidden in production)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import tag

from etl_core.api.component_schemas import View, component_schema, component_types, find_type, job_schema
from etl_core.api.security import requires
from etl_core.api.state import state
from etl_core.auth.scopes import JOBS_READ
from etl_core.errors import NotFoundError

bp = Blueprint("configs", __name__, url_prefix="/configs")


def _include_test() -> bool:
    return state().settings.include_test_components


@bp.get("/job")
@requires(JOBS_READ)
@tag(["configs"])
async def get_job_schema() -> dict[str, Any]:
    """The JSON Schema of a job document."""
    return job_schema(_include_test())


@bp.get("/component_types")
@requires(JOBS_READ)
@tag(["configs"])
async def list_component_types() -> list[str]:
    """The names of the component types available in this mode."""
    return component_types(_include_test())


async def _schema(comp_type: str, view: View) -> dict[str, Any]:
    spec = find_type(comp_type, _include_test())
    if spec is None:
        raise NotFoundError(
            "COMPONENT_TYPE_NOT_FOUND",
            f"unknown component type {comp_type!r}",
            comp_type=comp_type,
            known=component_types(_include_test()),
        )
    return component_schema(spec, view)


@bp.get("/<comp_type>/form")
@requires(JOBS_READ)
@tag(["configs"])
async def get_form_schema(comp_type: str) -> dict[str, Any]:
    """What a user fills in for this type: name, description, context and the type's options."""
    return await _schema(comp_type, "form")


@bp.get("/<comp_type>/full")
@requires(JOBS_READ)
@tag(["configs"])
async def get_full_schema(comp_type: str) -> dict[str, Any]:
    """The whole component object of this type."""
    return await _schema(comp_type, "full")


@bp.get("/<comp_type>/hidden")
@requires(JOBS_READ)
@tag(["configs"])
async def get_hidden_schema(comp_type: str) -> dict[str, Any]:
    """The fields a graph editor manages: routes, port schemas, extra ports, layout, metadata."""
    return await _schema(comp_type, "hidden")
