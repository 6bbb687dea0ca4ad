"""The runtime: the only place with task groups (executor, edges, retries, cancellation)."""

from etl_core.runtime.executor import JobExecutor, RunOptions
from etl_core.runtime.state import AttemptState, ExecutionState

__all__ = ["AttemptState", "ExecutionState", "JobExecutor", "RunOptions"]
