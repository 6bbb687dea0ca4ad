"""The server's Prometheus metrics: executions by status, rows processed, component throughput, scheduler lag.

Counters move once per execution or attempt (never per record); live figures of running executions are read
from their state when `/metrics` is scraped. Each app has its own registry, so several apps can live in one
process (tests) without clashing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from etl_core.observability.metrics import STATUSES
from etl_core.runtime.state import ExecutionState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, float("inf"))
_LAG_BUCKETS = (0.01, 0.1, 0.5, 1, 5, 15, 60, 300, float("inf"))


class _LiveCollector(Collector):
    """Figures of the executions running right now, read at scrape time."""

    def __init__(self, running: Callable[[], Iterable[ExecutionState]]) -> None:
        self._running = running

    def collect(self) -> Iterator[GaugeMetricFamily]:
        states = list(self._running())
        count = GaugeMetricFamily("etl_executions_running", "Executions running now")
        count.add_metric([], len(states))
        yield count
        rate = GaugeMetricFamily(
            "etl_live_component_rows_per_second",
            "Rows per second of each component of the running executions (current attempt)",
            labels=["job_id", "execution_id", "component", "comp_type"],
        )
        records = GaugeMetricFamily(
            "etl_live_component_records",
            "Records received (in) and sent (out) so far by each component of the running executions",
            labels=["job_id", "execution_id", "component", "direction"],
        )
        for state in states:
            attempt = state.current
            if attempt is None:
                continue
            job_id = state.job_id or ""
            for m in attempt.components.values():
                rate.add_metric([job_id, state.execution_id, m.component, m.comp_type], m.rows_per_second)
                records.add_metric([job_id, state.execution_id, m.component, "in"], m.records_in)
                records.add_metric([job_id, state.execution_id, m.component, "out"], m.records_out)
        yield rate
        yield records


class ServerMetrics:
    """The metrics one server exposes at `/metrics`."""

    def __init__(self, running: Callable[[], Iterable[ExecutionState]] = tuple) -> None:
        # `*_created` series only double the output; nothing here needs them
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client
        self.registry = CollectorRegistry()
        r = self.registry
        self.executions = Counter("etl_executions", "Executions that ended, by final status", ["status"], registry=r)
        for status in STATUSES[2:]:
            self.executions.labels(status=status)
        self.rows_processed = Counter(
            "etl_rows_processed", "Rows read by the sources of ended executions", ["job_id", "job_name"], registry=r
        )
        self.rows_written = Counter(
            "etl_rows_written", "Rows that reached the sinks of ended executions", ["job_id", "job_name"], registry=r
        )
        self.record_errors = Counter(
            "etl_record_errors", "Record errors of ended executions", ["job_id", "job_name"], registry=r
        )
        self.duration = Histogram(
            "etl_execution_duration_seconds", "Duration of ended executions", buckets=_DURATION_BUCKETS, registry=r
        )
        self.component_rows_per_second = Gauge(
            "etl_component_rows_per_second",
            "Rows per second of each component in the last finished attempt of its job",
            ["job_id", "component", "comp_type"],
            registry=r,
        )
        self.component_records = Counter(
            "etl_component_records",
            "Records received (in) and sent (out) by components of finished attempts",
            ["job_id", "component", "direction"],
            registry=r,
        )
        self.scheduler_lag = Histogram(
            "etl_scheduler_lag_seconds",
            "Delay between a schedule's planned fire time and the execution's start",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        r.register(_LiveCollector(running))

    def attempt_finished(self, state: ExecutionState) -> None:
        attempt = state.current
        if attempt is None:
            return
        job_id = state.job_id or ""
        for m in attempt.components.values():
            self.component_rows_per_second.labels(job_id, m.component, m.comp_type).set(m.rows_per_second)
            self.component_records.labels(job_id, m.component, "in").inc(m.records_in)
            self.component_records.labels(job_id, m.component, "out").inc(m.records_out)

    def execution_finished(self, state: ExecutionState) -> None:
        labels = (state.job_id or "", state.job_name)
        totals = state.totals()
        self.executions.labels(status=state.status).inc()
        self.rows_processed.labels(*labels).inc(totals["rows_read"])
        self.rows_written.labels(*labels).inc(totals["rows_written"])
        self.record_errors.labels(*labels).inc(totals["record_errors"])
        self.duration.observe(state.duration_s)

    def record_scheduler_lag(self, seconds: float) -> None:
        """The scheduler's hook: how late a firing started compared to its planned time."""
        self.scheduler_lag.observe(max(seconds, 0.0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
