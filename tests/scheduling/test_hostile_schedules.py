"""Trigger arguments at the edges of the calendar are invalid schedules naming the argument, never a crash; a
stored schedule that cannot be built does not stop the others from being scheduled; and while a job is being
deleted, no schedule can be created for it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from schedtools import schedule_record, store_job

from etl_core.scheduling import InvalidSchedule, SchedulerService
from etl_core.scheduling.triggers import build_trigger
from etl_core.store import Store


def issues_of(trigger_type: str, args: dict[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSchedule) as caught:
        build_trigger(trigger_type, args, anchor=datetime.now(UTC).timestamp(), now=datetime.now(UTC))
    return [(i.path, i.message) for i in caught.value.issues]


def test_a_cron_starting_in_the_last_hours_of_year_9999_is_an_invalid_schedule() -> None:
    assert issues_of("cron", {"minute": "*/5", "start_date": "9999-12-31T23:59:59"}) == [
        ("trigger_args", "no time to fire at can be found before the year 9999 ends")
    ]


@pytest.mark.parametrize(("unit", "value"), [("weeks", 1e6), ("days", 10**30), ("seconds", 1e300)])
def test_an_interval_too_long_for_the_calendar_names_its_unit(unit: str, value: float) -> None:
    assert issues_of("interval", {unit: value}) == [
        (f"trigger_args.{unit}", "is too long: the interval reaches beyond the year 9999")
    ]


def test_an_interval_too_long_in_several_units_names_the_whole_set() -> None:
    assert issues_of("interval", {"weeks": 1e6, "days": 1}) == [
        ("trigger_args", "is too long: the interval reaches beyond the year 9999")
    ]


async def test_a_stored_schedule_that_cannot_be_built_leaves_the_others_scheduled(
    store: Store, scheduler: SchedulerService
) -> None:
    job_id = await store_job(store)
    # written straight into the database by another process
    broken = schedule_record(job_id, "cron", minute="*/5", start_date="9999-12-31T23:59:59")
    good = schedule_record(job_id, "interval", minutes=5)
    await store.create_schedule(broken)
    await store.create_schedule(good)

    views = {v.record.id: v for v in await scheduler.list_schedules()}

    assert (views[good.id].state, views[good.id].error) == ("scheduled", None)
    assert views[broken.id].state == "invalid"
    assert views[broken.id].error == (
        "invalid schedule: trigger_args: no time to fire at can be found before the year 9999 ends"
    )
    assert scheduler.apscheduler.get_job(good.id) is not None
    assert scheduler.apscheduler.get_job(broken.id) is None


async def test_while_changes_are_held_a_new_schedule_waits_and_then_sees_the_job_gone(
    store: Store, scheduler: SchedulerService
) -> None:
    job_id = await store_job(store)

    async with scheduler.changes_held():
        creating = asyncio.create_task(
            scheduler.create(
                name="hourly", job_id=job_id, environment="DEV", trigger_type="interval", trigger_args={"hours": 1}
            )
        )
        await asyncio.sleep(0.05)
        assert not creating.done()
        await store.delete_job(job_id)

    with pytest.raises(InvalidSchedule) as caught:
        await creating
    assert [(i.path, i.message) for i in caught.value.issues] == [("job_id", f"job {job_id!r} not found")]
    assert await store.list_schedules() == []
