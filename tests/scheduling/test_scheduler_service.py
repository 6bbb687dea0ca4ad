"""SchedulerService on both store backends: firing through the executions service, pause and resume, changes,
deletion, sync with the store, overlap, missed runs and stopping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from schedtools import SLOW, due_now, events, eventually, executions_of, schedule_record, store_job
from structlog.testing import capture_logs

from etl_core.errors import ConflictError, NotFoundError
from etl_core.scheduling import InvalidSchedule, SchedulerService
from etl_core.services.executions import ExecutionService
from etl_core.services.metrics import ServerMetrics
from etl_core.store import Store

FINAL = ("SUCCESS", "FAILED", "CANCELLED")


async def create(scheduler: SchedulerService, job_id: str, trigger_type: str = "interval", **kw: Any) -> str:
    args = kw.pop("trigger_args", None) or {"hours": 1}
    view = await scheduler.create(
        name=kw.pop("name", "every hour"),
        job_id=job_id,
        environment=kw.pop("environment", "DEV"),
        trigger_type=trigger_type,
        trigger_args=args,
        **kw,
    )
    return view.record.id


async def finished(store: Store, execution_id: str) -> str:
    async def status() -> str | None:
        record = await store.get_execution(execution_id)
        return record.status if record is not None and record.status in FINAL else None

    result: str = await eventually(status)
    return result


async def test_an_interval_schedule_fires_through_the_executions_service(
    scheduler: SchedulerService, store: Store, metrics: ServerMetrics
) -> None:
    job_id = await store_job(store)
    with capture_logs() as logs:
        schedule_id = await create(scheduler, job_id, trigger_args={"seconds": 1}, environment="TEST")
        [execution] = await eventually(lambda: executions_of(store, schedule_id))
        assert await finished(store, execution.id) == "SUCCESS"
        # no await between these two lines: no firing can come in between
        fired = events(logs, "schedule_fired")
        text = metrics.render().decode()
    stored = await store.get_execution(execution.id)
    assert stored is not None
    assert (stored.job_id, stored.environment, stored.trigger) == (job_id, "TEST", f"schedule:{schedule_id}")
    assert stored.totals["rows_written"] == 3
    assert (fired[0]["schedule_id"], fired[0]["execution_id"], fired[0]["job_id"]) == (
        schedule_id,
        execution.id,
        job_id,
    )
    assert fired[0]["lag_s"] >= 0
    # each firing's lag reaches the metric
    assert f"etl_scheduler_lag_seconds_count {float(len(fired))}" in text


async def test_create_validates_the_trigger_and_the_job(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    with pytest.raises(InvalidSchedule) as caught:
        await create(scheduler, "no-such-job", trigger_args={"minutes": -1})
    assert [i.path for i in caught.value.issues] == ["job_id", "trigger_args.minutes"]
    with pytest.raises(InvalidSchedule) as caught:
        await create(scheduler, job_id, "date", trigger_args={"run_date": "2001-01-01T00:00:00Z"})
    assert [i.path for i in caught.value.issues] == ["trigger_args.run_date"]
    assert await store.list_schedules() == []


async def test_a_view_shows_the_next_run_time_and_state(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    before = datetime.now(UTC)
    schedule_id = await create(scheduler, job_id, trigger_args={"minutes": 10})
    view = await scheduler.get(schedule_id)
    assert view.state == "scheduled"
    assert view.next_run_time is not None
    assert before + timedelta(minutes=10) <= view.next_run_time <= datetime.now(UTC) + timedelta(minutes=10)
    with pytest.raises(NotFoundError) as caught:
        await scheduler.get("nope")
    assert caught.value.code == "SCHEDULE_NOT_FOUND"


async def test_pause_stops_firing_and_resume_keeps_the_cadence(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    schedule_id = await create(scheduler, job_id, trigger_args={"minutes": 10})
    planned = (await scheduler.get(schedule_id)).next_run_time
    paused = await scheduler.pause(schedule_id)
    assert (paused.state, paused.next_run_time, paused.record.paused) == ("paused", None, True)
    assert scheduler.apscheduler.get_job(schedule_id).next_run_time is None
    stored = await store.get_schedule(schedule_id)
    assert stored is not None
    assert stored.paused is True
    assert (await scheduler.pause(schedule_id)).state == "paused"  # idempotent

    resumed = await scheduler.resume(schedule_id)
    assert (resumed.state, resumed.record.paused) == ("scheduled", False)
    # the interval counts from the schedule's creation: the next run is the one planned before the pause
    assert resumed.next_run_time == planned


async def test_a_paused_schedule_does_not_fire_and_fires_again_once_resumed(
    scheduler: SchedulerService, store: Store
) -> None:
    job_id = await store_job(store)
    schedule_id = await create(scheduler, job_id, trigger_args={"seconds": 1}, paused=True)
    assert (await scheduler.get(schedule_id)).state == "paused"
    await asyncio.sleep(1.3)
    assert await executions_of(store, schedule_id) == []
    await scheduler.resume(schedule_id)
    [execution] = await eventually(lambda: executions_of(store, schedule_id))
    assert execution.trigger == f"schedule:{schedule_id}"


async def test_update_changes_the_cadence(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    schedule_id = await create(scheduler, job_id, trigger_args={"hours": 1})
    before = datetime.now(UTC)
    view = await scheduler.update(schedule_id, trigger_args={"seconds": 1})
    assert view.record.trigger_args == {"seconds": 1}
    assert view.next_run_time is not None
    assert view.next_run_time <= before + timedelta(seconds=2)
    await eventually(lambda: executions_of(store, schedule_id))

    cron = await scheduler.update(schedule_id, trigger_type="cron", trigger_args={"hour": 3, "minute": 30})
    assert cron.next_run_time is not None
    assert (cron.next_run_time.hour, cron.next_run_time.minute, cron.next_run_time.second) == (3, 30, 0)
    stored = await store.get_schedule(schedule_id)
    assert stored is not None
    assert (stored.trigger_type, stored.trigger_args) == ("cron", {"hour": 3, "minute": 30})


async def test_update_refuses_bad_arguments_and_keeps_the_schedule(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    schedule_id = await create(scheduler, job_id, trigger_args={"minutes": 5})
    planned = (await scheduler.get(schedule_id)).next_run_time
    with pytest.raises(InvalidSchedule) as caught:
        await scheduler.update(schedule_id, trigger_args={"minutes": "often"})
    assert [i.path for i in caught.value.issues] == ["trigger_args.minutes"]
    view = await scheduler.get(schedule_id)
    assert (view.record.trigger_args, view.next_run_time) == ({"minutes": 5}, planned)
    # a rename leaves the cadence alone
    renamed = await scheduler.update(schedule_id, name="five minutes")
    assert (renamed.record.name, renamed.next_run_time) == ("five minutes", planned)


async def test_delete_stops_the_schedule(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    schedule_id = await create(scheduler, job_id, trigger_args={"seconds": 1})
    deleted = await scheduler.delete(schedule_id)
    assert deleted.id == schedule_id
    assert scheduler.apscheduler.get_job(schedule_id) is None
    assert await store.get_schedule(schedule_id) is None
    await asyncio.sleep(1.3)
    assert await executions_of(store, schedule_id) == []
    with pytest.raises(NotFoundError):
        await scheduler.delete(schedule_id)


async def test_sync_mirrors_schedules_written_straight_into_the_store(
    scheduler: SchedulerService, store: Store
) -> None:
    job_id = await store_job(store)
    record = schedule_record(job_id, seconds=1)
    await store.create_schedule(record)
    assert scheduler.apscheduler.get_job(record.id) is None
    await scheduler.sync()
    assert scheduler.apscheduler.get_job(record.id) is not None
    [execution] = await eventually(lambda: executions_of(store, record.id))
    assert execution.environment == "DEV"

    # changed, paused and deleted elsewhere
    record.trigger_args = {"hours": 2}
    await store.update_schedule(record)
    await scheduler.sync()
    view = await scheduler.get(record.id)
    assert view.next_run_time is not None
    assert view.next_run_time > datetime.now(UTC) + timedelta(minutes=119)
    record.paused = True
    await store.update_schedule(record)
    await scheduler.sync()
    assert scheduler.apscheduler.get_job(record.id).next_run_time is None
    await store.delete_schedule(record.id)
    await scheduler.sync()
    assert scheduler.apscheduler.get_job(record.id) is None


async def test_sync_keeps_the_cadence_of_unchanged_schedules(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    schedule_id = await create(scheduler, job_id, trigger_args={"minutes": 7})
    planned = scheduler.apscheduler.get_job(schedule_id).next_run_time
    await asyncio.sleep(0.05)
    await scheduler.sync()
    assert scheduler.apscheduler.get_job(schedule_id).next_run_time == planned


async def test_periodic_sync_picks_up_a_new_schedule(
    store: Store, executions: ExecutionService, metrics: ServerMetrics
) -> None:
    job_id = await store_job(store)
    service = SchedulerService(store, executions, metrics=metrics, sync_interval=0.1)
    await service.start()
    try:
        record = schedule_record(job_id, minutes=30)
        with capture_logs() as logs:
            await store.create_schedule(record)
            await eventually(lambda: service.apscheduler.get_job(record.id))
        [synced] = events(logs, "schedules_synced")
        assert synced["added"] == 1
    finally:
        await service.stop()


async def test_a_stored_schedule_that_does_not_build_is_shown_invalid(
    scheduler: SchedulerService, store: Store
) -> None:
    job_id = await store_job(store)
    record = schedule_record(job_id, minutes="soon")
    await store.create_schedule(record)
    with capture_logs() as logs:
        await scheduler.sync()
        await scheduler.sync()
    view = await scheduler.get(record.id)
    assert (view.state, view.next_run_time) == ("invalid", None)
    assert view.error is not None
    assert "trigger_args.minutes" in view.error
    assert len(events(logs, "schedule_invalid")) == 1
    assert scheduler.apscheduler.get_job(record.id) is None
    # fixed elsewhere: scheduled again
    record.trigger_args = {"minutes": 30}
    await store.update_schedule(record)
    assert (await scheduler.get(record.id)).state == "scheduled"


async def test_a_firing_while_the_job_runs_is_skipped_not_queued(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store, **SLOW)
    schedule_id = await create(scheduler, job_id, trigger_args={"hours": 1})
    with capture_logs() as logs:
        due_now(scheduler, schedule_id)
        [first] = await eventually(lambda: executions_of(store, schedule_id))
        due_now(scheduler, schedule_id)
        await eventually(lambda: events(logs, "schedule_skipped"))
    [skipped] = events(logs, "schedule_skipped")
    assert (skipped["schedule_id"], skipped["reason"], skipped["running_execution_ids"]) == (
        schedule_id,
        "job_running",
        [first.id],
    )
    assert len(events(logs, "schedule_fired")) == 1
    assert [e.id for e in await executions_of(store, schedule_id)] == [first.id]
    await scheduler.executions.cancel(first.id)


async def test_missed_runs_coalesce_into_one(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    schedule_id = await create(scheduler, job_id, trigger_args={"minutes": 1})
    with capture_logs() as logs:
        # four runs of a one-minute interval are overdue at once, the last within the grace time
        due_now(scheduler, schedule_id, late=210)
        [execution] = await eventually(lambda: executions_of(store, schedule_id))
        await finished(store, execution.id)
        await asyncio.sleep(0.05)
    assert len(events(logs, "schedule_fired")) == 1
    assert events(logs, "schedule_skipped") == []


async def test_a_run_later_than_the_grace_time_is_dropped_and_logged(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    schedule_id = await create(scheduler, job_id, trigger_args={"hours": 1})
    with capture_logs() as logs:
        due_now(scheduler, schedule_id, late=scheduler.misfire_grace_time + 60)
        await eventually(lambda: events(logs, "schedule_missed"))
    assert events(logs, "schedule_missed")[0]["schedule_id"] == schedule_id
    assert await executions_of(store, schedule_id) == []


async def test_a_firing_rereads_its_schedule_first(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store)
    schedule_id = await create(scheduler, job_id, trigger_args={"hours": 1})
    record = await store.get_schedule(schedule_id)
    assert record is not None
    record.paused = True
    await store.update_schedule(record)  # paused by another process, not yet synced
    with capture_logs() as logs:
        due_now(scheduler, schedule_id)
        [skipped] = await eventually(lambda: events(logs, "schedule_skipped"))
    assert skipped["reason"] == "paused"
    assert scheduler.apscheduler.get_job(schedule_id).next_run_time is None

    await store.delete_schedule(schedule_id)
    with capture_logs() as logs:
        due_now(scheduler, schedule_id)
        [skipped] = await eventually(lambda: events(logs, "schedule_skipped"))
    assert skipped["reason"] == "deleted"
    assert scheduler.apscheduler.get_job(schedule_id) is None
    assert await executions_of(store, schedule_id) == []


async def test_a_one_off_fires_once_and_not_again_after_a_restart(
    scheduler: SchedulerService, store: Store, executions: ExecutionService
) -> None:
    job_id = await store_job(store)
    run_date = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    schedule_id = await create(scheduler, job_id, "date", trigger_args={"run_date": run_date})
    [execution] = await eventually(lambda: executions_of(store, schedule_id))
    await finished(store, execution.id)
    view = await scheduler.get(schedule_id)
    assert (view.state, view.next_run_time) == ("finished", None)

    restarted = SchedulerService(store, executions, sync_interval=None)
    await restarted.start()
    try:
        assert (await restarted.get(schedule_id)).state == "finished"
        await asyncio.sleep(0.1)
        assert len(await executions_of(store, schedule_id)) == 1
    finally:
        await restarted.stop()


async def test_run_now_starts_the_job_and_refuses_while_it_runs(scheduler: SchedulerService, store: Store) -> None:
    job_id = await store_job(store, **SLOW)
    schedule_id = await create(scheduler, job_id, paused=True, environment="PROD")
    execution = await scheduler.run_now(schedule_id)
    assert (execution.job_id, execution.environment, execution.trigger) == (job_id, "PROD", f"schedule:{schedule_id}")
    with pytest.raises(ConflictError) as caught:
        await scheduler.run_now(schedule_id)
    assert caught.value.code == "JOB_ALREADY_RUNNING"
    with pytest.raises(NotFoundError):
        await scheduler.run_now("nope")
    await scheduler.executions.cancel(execution.id)


async def test_stop_ends_firing_and_running_executions_are_left_to_the_executions_service(
    store: Store, executions: ExecutionService
) -> None:
    job_id = await store_job(store, **SLOW)
    service = SchedulerService(store, executions, sync_interval=0.1)
    await service.start()
    schedule_id = await create(service, job_id, trigger_args={"seconds": 1})
    due_now(service, schedule_id)
    [execution] = await eventually(lambda: executions_of(store, schedule_id))
    await service.stop()
    assert (service.running, service.apscheduler) == (False, None)
    assert (await service.get(schedule_id)).state == "stopped"
    # the execution still runs; the executions service drains it (grace 0: cancelled and recorded)
    assert executions.running(job_id) == [execution.id]
    await executions.shutdown(0.0)
    record = await store.get_execution(execution.id)
    assert record is not None
    assert (record.status, record.error) == ("CANCELLED", "cancelled: the server shut down")
    await asyncio.sleep(1.1)
    assert len(await executions_of(store, schedule_id)) == 1
