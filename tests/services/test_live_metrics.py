"""`/metrics` while executions run: every per-component figure of engine.md §4 and the execution's totals."""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from etl_core.observability.metrics import ComponentMetrics
from etl_core.runtime.state import AttemptState, ExecutionState
from etl_core.services.metrics import ServerMetrics


def running_execution() -> ExecutionState:
    read = ComponentMetrics("read", "read_csv")
    read.start()
    read.sent["out"] = 1200
    read.batches_out = 3
    read.bytes_read = 40_960
    keep = ComponentMetrics("keep", "filter")
    keep.start()
    keep.received["in"] = 1200
    keep.sent.update({"pass": 700, "fail": 0})
    keep.dismissed = 500
    keep.errors = 2
    keep.blocked_send_s = 0.25
    keep.wait_receive_s = 0.5
    attempt = AttemptState(1, "RUNNING", started_at=time.time() - 2, components={"read": read, "keep": keep})
    state = ExecutionState(
        "exec-1", "job-1", "live", "DEV", 1, "RUNNING", started_at=time.time() - 2, source_names=("read",)
    )
    state.attempts.append(attempt)
    return state


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_live_metrics_give_every_component_figure_and_the_execution_totals() -> None:
    got = samples(ServerMetrics(lambda: [running_execution()]).render().decode())

    def value(name: str, **labels: str) -> float:
        return got[(name, frozenset({"job_id": "job-1", "execution_id": "exec-1", **labels}.items()))]

    assert value("etl_live_component_port_records", component="keep", port="pass", direction="out") == 700
    assert value("etl_live_component_port_records", component="keep", port="in", direction="in") == 1200
    assert value("etl_live_component_count", component="keep", what="dismissed") == 500
    assert value("etl_live_component_count", component="keep", what="record_errors") == 2
    assert value("etl_live_component_count", component="read", what="batches_out") == 3
    assert value("etl_live_component_bytes", component="read", direction="read") == 40_960
    assert value("etl_live_component_seconds", component="keep", kind="wait_receive") == 0.5
    assert value("etl_live_component_seconds", component="keep", kind="blocked_send") == 0.25
    assert value("etl_live_component_status", component="keep", status="RUNNING") == 1
    assert value("etl_live_execution", what="rows_read") == 1200
    assert 1.5 < value("etl_live_execution", what="duration_seconds") < 60


def test_busy_time_leaves_out_a_wait_still_in_progress() -> None:
    m = ComponentMetrics("sink", "write_csv")
    m.start()
    m.started_at = time.time() - 10
    m.idle_since = time.perf_counter() - 9  # waiting to receive for 9 of its 10 seconds, still waiting

    assert m.busy_s < 2
    m.idle_since = None
    m.wait_commit_s = 9.0  # the same time spent at the commit point instead
    assert m.busy_s < 2
