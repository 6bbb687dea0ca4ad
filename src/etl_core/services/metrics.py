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
        ids = ["job_id", "execution_id", "component"]
        port_records = GaugeMetricFamily(
            "etl_live_component_port_records",
            "Records received per in port and sent per out port so far (running executions)",
            labels=[*ids, "port", "direction"],
        )
        counts = GaugeMetricFamily(
            "etl_live_component_count",
            "Dismissed records, record errors, batches in and out so far (running executions)",
            labels=[*ids, "what"],
        )
        data = GaugeMetricFamily(
            "etl_live_component_bytes", "Bytes read and written so far (running executions)", labels=[*ids, "direction"]
        )
        seconds = GaugeMetricFamily(
            "etl_live_component_seconds",
            "Seconds busy, blocked sending, waiting to receive and waiting at the commit point (running executions)",
            labels=[*ids, "kind"],
        )
        status = GaugeMetricFamily(
            "etl_live_component_status",
            "1 for each component's current status (running executions)",
            labels=[*ids, "status"],
        )
        execution = GaugeMetricFamily(
            "etl_live_execution",
            "Rows read and written, record errors, rows per second and seconds so far of each running execution",
            labels=["job_id", "execution_id", "what"],
        )
        for state in states:
            attempt = state.current
            if attempt is None:
                continue
            job_id = state.job_id or ""
            for m in attempt.components.values():
                key = [job_id, state.execution_id, m.component]
                rate.add_metric([*key, m.comp_type], m.rows_per_second)
                records.add_metric([*key, "in"], m.records_in)
                records.add_metric([*key, "out"], m.records_out)
                for port, n in m.received.items():
                    port_records.add_metric([*key, port, "in"], n)
                for port, n in m.sent.items():
                    port_records.add_metric([*key, port, "out"], n)
                for what, n in (
                    ("dismissed", m.dismissed),
                    ("record_errors", m.errors),
                    ("batches_in", m.batches_in),
                    ("batches_out", m.batches_out),
                ):
                    counts.add_metric([*key, what], n)
                data.add_metric([*key, "read"], m.bytes_read)
                data.add_metric([*key, "written"], m.bytes_written)
                for kind, value in (
                    ("busy", m.busy_s),
                    ("blocked_send", m.blocked_send_s),
                    ("wait_receive", m.wait_receive_s),
                    ("wait_commit", m.wait_commit_s),
                ):
                    seconds.add_metric([*key, kind], value)
                status.add_metric([*key, m.status], 1)
            totals = state.totals()
            for what in ("rows_read", "rows_written", "record_errors", "rows_per_second"):
                execution.add_metric([job_id, state.execution_id, what], float(totals[what]))
            execution.add_metric([job_id, state.execution_id, "duration_seconds"], state.duration_s)
        yield rate
        yield records
        yield port_records
        yield counts
        yield data
        yield seconds
        yield status
        yield execution


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
