"""The planner: pure, synchronous validation and wiring of a job into a Plan."""

from etl_core.graph.plan import Plan, PlanEdge, PlanNode
from etl_core.graph.planner import PlanOptions, plan_job

__all__ = ["Plan", "PlanEdge", "PlanNode", "PlanOptions", "plan_job"]
