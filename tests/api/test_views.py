"""Records as the API shows them: a running execution's duration is live, an ended one's is fixed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from etl_core.api.views import execution_view
from etl_core.store.models import ExecutionRecord

STARTED = datetime(2030, 6, 1, 12, 0, tzinfo=UTC).timestamp()


def record(status: str, finished_at: float | None = None) -> ExecutionRecord:
    return ExecutionRecord(
        id="e1",
        job_id="j1",
        job_name="numbers",
        environment="DEV",
        status=status,
        max_attempts=1,
        started_at=STARTED,
        finished_at=finished_at,
        totals={"rows_read": 250, "rows_written": 250, "record_errors": 0, "rows_per_second": 20.0},
    )


@pytest.mark.parametrize("status", ["PENDING", "RUNNING"])
def test_a_running_execution_shows_the_time_elapsed_so_far(status: str) -> None:
    view = execution_view(record(status), now=STARTED + 12.5)
    assert (view["status"], view["finished_at"], view["duration_s"]) == (status, None, 12.5)
    assert view["totals"]["rows_per_second"] == 20.0


def test_an_ended_execution_shows_its_duration_whatever_the_clock_says() -> None:
    view = execution_view(record("SUCCESS", finished_at=STARTED + 3.25), now=STARTED + 999)
    assert (view["duration_s"], view["finished_at"]) == (3.25, "2030-06-01T12:00:03.250000+00:00")


def test_a_clock_behind_the_start_never_gives_a_negative_duration() -> None:
    assert execution_view(record("RUNNING"), now=STARTED - 1)["duration_s"] == 0.0
