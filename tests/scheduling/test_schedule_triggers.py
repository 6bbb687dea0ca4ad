"""Triggers built from trigger_type and trigger_args: every bad argument named with its path, UTC by default."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from etl_core.scheduling import InvalidSchedule, build_trigger

NOW = datetime(2030, 6, 1, 12, 0, 30, tzinfo=UTC)


def issues(trigger_type: str, args: Any, **kw: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSchedule) as caught:
        build_trigger(trigger_type, args, **kw)
    return [(i.path, i.message) for i in caught.value.issues]


def paths(trigger_type: str, args: Any, **kw: Any) -> list[str]:
    return [path for path, _ in issues(trigger_type, args, **kw)]


def test_interval_fires_every_period_counted_from_the_anchor() -> None:
    anchor = NOW.timestamp()
    trigger = build_trigger("interval", {"minutes": 15}, anchor=anchor)
    first = trigger.get_next_fire_time(None, NOW)
    assert first == NOW + timedelta(minutes=15)
    assert trigger.get_next_fire_time(first, first) == NOW + timedelta(minutes=30)
    # an hour and a bit later (a restart, another process), the cadence is the same
    later = NOW + timedelta(minutes=61)
    assert trigger.get_next_fire_time(None, later) == NOW + timedelta(minutes=75)


def test_cron_fields_follow_the_given_time_zone_and_default_to_utc() -> None:
    berlin = build_trigger("cron", {"hour": 3, "minute": 0, "timezone": "Europe/Berlin"})
    fire = berlin.get_next_fire_time(None, NOW)
    local = fire.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date().isoformat(), local.hour, local.minute) == ("2030-06-02", 3, 0)
    assert fire.astimezone(UTC).hour == 1  # summer time: UTC+2

    utc = build_trigger("cron", {"day_of_week": "mon-fri", "hour": "9", "minute": "*/30"})
    assert utc.get_next_fire_time(None, NOW) == datetime(2030, 6, 3, 9, 0, tzinfo=UTC)  # 1 June 2030 is a Saturday


def test_date_without_an_offset_is_read_in_the_time_zone() -> None:
    trigger = build_trigger("date", {"run_date": "2030-07-01T08:30:00", "timezone": "America/New_York"})
    assert trigger.get_next_fire_time(None, NOW) == datetime(2030, 7, 1, 12, 30, tzinfo=UTC)
    assert build_trigger("date", {"run_date": "2030-07-01 08:30:00Z"}).get_next_fire_time(None, NOW) == datetime(
        2030, 7, 1, 8, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("trigger_type", "args", "path", "words"),
    [
        ("interval", {"minutess": 5}, "trigger_args.minutess", "unknown argument for an interval trigger"),
        ("interval", {"minutes": -5}, "trigger_args.minutes", "at least 0, got -5"),
        ("interval", {"minutes": "soon"}, "trigger_args.minutes", "got 'soon'"),
        ("interval", {"seconds": True}, "trigger_args.seconds", "got True"),
        ("interval", {"hours": 0}, "trigger_args", "needs one of weeks, days, hours, minutes, seconds above 0"),
        ("interval", {"seconds": 5, "jitter": -1}, "trigger_args.jitter", "above 0"),
        ("interval", {"seconds": 5, "timezone": "Mars/Olympus"}, "trigger_args.timezone", "unknown time zone"),
        ("interval", {"seconds": 5, "start_date": "tomorrow"}, "trigger_args.start_date", "ISO 8601"),
        ("cron", {"hour": 25}, "trigger_args.hour", "higher than the maximum value (23)"),
        ("cron", {"minute": "*/0"}, "trigger_args.minute", "Increment must be higher than 0"),
        ("cron", {"day_of_week": "funday"}, "trigger_args.day_of_week", "funday"),
        ("cron", {"second": 1.5}, "trigger_args.second", "whole number or a cron expression"),
        ("cron", {}, "trigger_args", "needs at least one of year, month"),
        ("cron", {"seconds": 5}, "trigger_args.seconds", "unknown argument for a cron trigger"),
        ("date", {}, "trigger_args.run_date", "needs run_date"),
        ("date", {"run_date": 20300101}, "trigger_args.run_date", "ISO 8601"),
        ("date", {"run_date": "2030-01-01", "minutes": 1}, "trigger_args.minutes", "unknown argument"),
    ],
)
def test_a_bad_argument_is_named_with_its_path(trigger_type: str, args: dict[str, Any], path: str, words: str) -> None:
    [(where, message)] = issues(trigger_type, args)
    assert where == path
    assert words in message


def test_every_bad_argument_is_reported_at_once() -> None:
    found = paths("cron", {"hour": 25, "minute": "x", "timezone": "Nowhere/Land", "end_date": "later"})
    assert sorted(found) == [
        "trigger_args.end_date",
        "trigger_args.hour",
        "trigger_args.minute",
        "trigger_args.timezone",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            {"seconds": 1e-7},
            ("trigger_args.seconds", "an interval must be at least 1 second long in total, got 1e-07 seconds"),
        ),
        (
            {"minutes": 0.01},
            ("trigger_args.minutes", "an interval must be at least 1 second long in total, got 0.6 seconds"),
        ),
        (
            {"seconds": 0.5, "minutes": 0.005},
            ("trigger_args", "an interval must be at least 1 second long in total, got 0.8 seconds"),
        ),
    ],
)
def test_an_interval_shorter_than_a_second_in_total_is_refused(args: dict[str, Any], expected: tuple[str, str]) -> None:
    assert issues("interval", args) == [expected]


def test_an_interval_of_exactly_a_second_builds_and_keeps_its_length() -> None:
    assert build_trigger("interval", {"seconds": 1}).interval == timedelta(seconds=1)
    assert build_trigger("interval", {"minutes": 1 / 60}).interval_length == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("trigger_type", "args", "message"),
    [
        ("interval", {"minutes": 5, "jitter": 1e308}, "must be at most the interval's length, 300 seconds, got 1e+308"),
        ("interval", {"seconds": 30, "jitter": 31}, "must be at most the interval's length, 30 seconds, got 31"),
        ("interval", {"weeks": 2, "jitter": 86401}, "must be at most a day, 86400 seconds, got 86401"),
        ("cron", {"hour": 3, "jitter": 1e308}, "must be at most a day, 86400 seconds, got 1e+308"),
    ],
)
def test_a_jitter_longer_than_the_interval_or_a_day_is_refused(
    trigger_type: str, args: dict[str, Any], message: str
) -> None:
    assert issues(trigger_type, args, anchor=NOW.timestamp(), now=NOW) == [("trigger_args.jitter", message)]


def test_a_jitter_within_its_bound_delays_the_first_fire_by_at_most_that() -> None:
    trigger = build_trigger("interval", {"seconds": 30, "jitter": 30}, anchor=NOW.timestamp(), now=NOW)
    assert trigger.jitter == 30
    first = trigger.get_next_fire_time(None, NOW)
    assert NOW + timedelta(seconds=30) <= first <= NOW + timedelta(seconds=60)
    assert build_trigger("cron", {"hour": 3, "jitter": 86400}).jitter == 86400


def test_a_first_fire_time_beyond_year_9999_is_an_issue_not_a_crash() -> None:
    # about 9600 years after 2030
    args = {"weeks": 500_000, "start_date": "2030-01-01T00:00:00Z"}
    assert issues("interval", args, now=NOW) == [("trigger_args", "year 11612 is out of range")]


def test_end_before_start_is_refused() -> None:
    args = {"seconds": 5, "start_date": "2030-01-02T00:00:00", "end_date": "2030-01-01T00:00:00"}
    assert issues("interval", args) == [("trigger_args.end_date", "must not be before start_date")]


def test_a_trigger_that_would_never_fire_is_refused_when_now_is_given() -> None:
    assert paths("date", {"run_date": "2030-06-01T12:00:00Z"}, now=NOW) == ["trigger_args.run_date"]
    assert paths("interval", {"seconds": 5, "end_date": "2030-06-01T00:00:00Z"}, now=NOW) == ["trigger_args.end_date"]
    # without `now` (a stored schedule being mirrored) the same triggers build
    assert build_trigger("date", {"run_date": "2030-06-01T12:00:00Z"}).run_date == datetime(2030, 6, 1, 12, tzinfo=UTC)


def test_unknown_trigger_types_and_non_objects_are_refused() -> None:
    assert paths("weekly", {"day": 1}) == ["trigger_type"]
    assert issues("interval", [1, 2]) == [("trigger_args", "must be an object, got list")]


def test_an_interval_without_anchor_counts_from_now() -> None:
    before = time.time()
    trigger = build_trigger("interval", {"seconds": 30})
    first = trigger.get_next_fire_time(None, datetime.now(UTC)).timestamp()
    assert before + 30 <= first <= time.time() + 30
