"""APScheduler 3 triggers built from a schedule's `trigger_type` and `trigger_args`, every bad argument named.

    build_trigger("interval", {"minutes": 15})                                    # every 15 minutes
    build_trigger("cron", {"hour": 3, "minute": 0, "timezone": "Europe/Berlin"})   # 03:00 Berlin time
    build_trigger("date", {"run_date": "2030-01-31T03:00:00Z"})                   # once
    build_trigger("interval", {"minutess": 5})
    # InvalidSchedule: trigger_args.minutess: unknown argument for an interval trigger; expected one of ...

Contract:
- Arguments are APScheduler's own (`IntervalTrigger`, `CronTrigger`, `DateTrigger`), with JSON values: numbers
  for interval units (fractions allowed), numbers or expression strings for cron fields (`"*/5"`, `"mon-fri"`,
  APScheduler's weekday numbering: 0 is Monday), ISO 8601 strings for `start_date`, `end_date`, `run_date`.
- `timezone` (an IANA name) applies to cron fields and to dates written without an offset; default UTC, never
  the machine's local zone.
- Every problem is reported at once as a `ConfigIssue` whose path is `trigger_args.<argument>` (or
  `trigger_type`, or `trigger_args` for a problem of the whole set), in an `InvalidSchedule`.
- An interval without `start_date` counts from `anchor` (the schedule's creation time), so its cadence is the
  same in every process and after a restart, instead of restarting whenever a trigger is rebuilt.
- With `now`, a trigger that would never fire again (a past `run_date`, an `end_date` already gone) is refused.
- An interval is at least `MIN_INTERVAL_SECONDS` long in total (APScheduler silently turns one below a microsecond,
  such as `{"seconds": 1e-7}`, into one second); `jitter` is at most `MAX_JITTER_SECONDS`, and for an interval at
  most its length, so the random delay never exceeds one period.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped]  # APScheduler 3 ships no types
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from apscheduler.util import astimezone, convert_to_datetime  # type: ignore[import-untyped]

from etl_core.errors import ConfigError, ConfigIssue

TRIGGER_TYPES = ("interval", "cron", "date")
INTERVAL_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "interval": (*INTERVAL_UNITS, "start_date", "end_date", "timezone", "jitter"),
    "cron": (*CRON_FIELDS, "start_date", "end_date", "timezone", "jitter"),
    "date": ("run_date", "timezone"),
}
_UNIT_SECONDS = {"weeks": 604_800.0, "days": 86_400.0, "hours": 3_600.0, "minutes": 60.0, "seconds": 1.0}
MIN_INTERVAL_SECONDS = 1.0
MAX_JITTER_SECONDS = 86_400.0
_DATES = ("start_date", "end_date", "run_date")
_DATE_HELP = "an ISO 8601 date-time such as 2030-01-31T03:00:00 (optionally ending in Z or +01:00)"


class InvalidSchedule(ConfigError):
    """A schedule that cannot be scheduled; `issues` lists every problem with its JSON path."""

    code = "INVALID_SCHEDULE"

    def __str__(self) -> str:
        return "invalid schedule: " + "; ".join(f"{i.path or '<schedule>'}: {i.message}" for i in self.issues)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Checker:
    """Collects the issues of one trigger_args object and the keyword arguments of its trigger."""

    def __init__(self, trigger_type: str, args: Mapping[str, Any]) -> None:
        self.type = trigger_type
        self.args = args
        self.issues: list[ConfigIssue] = []
        self.kwargs: dict[str, Any] = {}
        # a misspelt argument explains a missing one: "needs one of ..." is then left unsaid
        self.misspelt = False

    def fail(self, name: str | None, message: str) -> None:
        self.issues.append(ConfigIssue(f"trigger_args.{name}" if name else "trigger_args", message))

    def unknown(self) -> None:
        allowed = ARGUMENTS[self.type]
        article = "an" if self.type == "interval" else "a"
        for key in self.args:
            if key not in allowed:
                self.misspelt = True
                expected = ", ".join(allowed)
                self.fail(str(key), f"unknown argument for {article} {self.type} trigger; expected one of {expected}")

    def timezone(self) -> tzinfo:
        value = self.args.get("timezone")
        if value is None:
            return UTC
        if isinstance(value, str) and value.strip():
            try:
                zone: tzinfo = astimezone(value.strip())
                return zone
            except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
                pass
        self.fail("timezone", f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Berlin")
        return UTC

    def dates(self, zone: tzinfo) -> None:
        for name in _DATES:
            value = self.args.get(name)
            if value is None or name not in ARGUMENTS[self.type]:
                continue
            parsed = None
            if isinstance(value, str):
                try:
                    parsed = convert_to_datetime(value.strip(), zone, name)
                except (ValueError, TypeError):
                    parsed = None
            if parsed is None:
                self.fail(name, f"must be {_DATE_HELP}, got {value!r}")
            else:
                self.kwargs[name] = parsed
        start, end = self.kwargs.get("start_date"), self.kwargs.get("end_date")
        if start is not None and end is not None and end < start:
            self.fail("end_date", "must not be before start_date")

    def jitter(self, limit: float = MAX_JITTER_SECONDS) -> None:
        """`jitter` in (0, limit] seconds: the interval's length (when shorter than a day) or a day."""
        value = self.args.get("jitter")
        if value is None or "jitter" not in ARGUMENTS[self.type]:
            return
        if not _is_number(value) or value <= 0:
            self.fail("jitter", f"must be a number of seconds above 0, got {value!r}")
        elif value > limit:
            bound = "a day" if limit == MAX_JITTER_SECONDS else "the interval's length"
            self.fail("jitter", f"must be at most {bound}, {limit:g} seconds, got {value!r}")
        else:
            self.kwargs["jitter"] = value

    def interval(self) -> float | None:
        """The interval's length in seconds, or None when an argument is bad or the whole is too short."""
        total, bad, given = 0.0, False, []
        for unit in INTERVAL_UNITS:
            value = self.args.get(unit)
            if value is None:
                continue
            if not _is_number(value) or value < 0:
                self.fail(unit, f"must be a number of {unit} of at least 0, got {value!r}")
                bad = True
                continue
            self.kwargs[unit] = value
            total += value * _UNIT_SECONDS[unit]
            if value > 0:
                given.append(unit)
        if bad or self.misspelt:
            return None
        if total <= 0:
            self.fail(None, f"an interval trigger needs one of {', '.join(INTERVAL_UNITS)} above 0")
            return None
        if total < MIN_INTERVAL_SECONDS:
            # the one unit that was given, else the set: the whole is what is too short
            where = given[0] if len(given) == 1 else None
            self.fail(where, f"an interval must be at least 1 second long in total, got {total:g} seconds")
            return None
        return total

    def cron(self, zone: tzinfo) -> None:
        given = [f for f in CRON_FIELDS if self.args.get(f) is not None]
        if not given and not self.misspelt:
            self.fail(None, f"a cron trigger needs at least one of {', '.join(CRON_FIELDS)}")
        for name in given:
            value = self.args[name]
            if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and not value):
                self.fail(name, f"must be a whole number or a cron expression such as '*/5', got {value!r}")
                continue
            try:
                # each field alone, so the error belongs to the argument that caused it
                CronTrigger(timezone=zone, **{name: value})
            except ValueError as exc:
                self.fail(name, str(exc))
                continue
            self.kwargs[name] = value

    def run_date(self) -> None:
        if self.args.get("run_date") is None and not self.misspelt:
            self.fail("run_date", f"a date trigger needs run_date, {_DATE_HELP}")


def build_trigger(
    trigger_type: str,
    trigger_args: Any,
    *,
    anchor: float | None = None,
    now: datetime | None = None,
) -> BaseTrigger:
    """The APScheduler trigger of a schedule; InvalidSchedule lists every bad argument (see module docstring)."""
    if trigger_type not in TRIGGER_TYPES:
        message = f"must be one of {', '.join(TRIGGER_TYPES)}, got {trigger_type!r}"
        raise InvalidSchedule([ConfigIssue("trigger_type", message)])
    if not isinstance(trigger_args, Mapping):
        raise InvalidSchedule([ConfigIssue("trigger_args", f"must be an object, got {type(trigger_args).__name__}")])
    check = _Checker(trigger_type, trigger_args)
    check.unknown()
    zone = check.timezone()
    check.dates(zone)
    if trigger_type == "interval":
        length = check.interval()
        check.jitter(MAX_JITTER_SECONDS if length is None else min(length, MAX_JITTER_SECONDS))
    elif trigger_type == "cron":
        check.cron(zone)
        check.jitter()
    else:
        check.run_date()
    if check.issues:
        raise InvalidSchedule(check.issues)

    kwargs = {**check.kwargs, "timezone": zone}
    try:
        if trigger_type == "interval":
            trigger: BaseTrigger = _interval(kwargs, anchor)
        elif trigger_type == "cron":
            trigger = CronTrigger(**kwargs)
        else:
            trigger = DateTrigger(**kwargs)
        # a date near year 9999 can put the first fire time out of datetime's range
        first = None if now is None else first_fire_time(trigger, now)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidSchedule([ConfigIssue("trigger_args", str(exc))]) from None
    if now is not None and first is None:
        name = "run_date" if trigger_type == "date" else "end_date"
        raise InvalidSchedule([ConfigIssue(f"trigger_args.{name}", "is in the past: the schedule would never fire")])
    return trigger


_NO_FIRE_TIME = "no time to fire at can be found before the year 9999 ends"


def _interval(kwargs: dict[str, Any], anchor: float | None) -> BaseTrigger:
    """An IntervalTrigger; an interval too long for the calendar is an InvalidSchedule naming its unit."""
    units = [u for u in INTERVAL_UNITS if kwargs.get(u)]
    try:
        if "start_date" not in kwargs and anchor is not None:
            period = timedelta(**{u: kwargs.get(u, 0) for u in INTERVAL_UNITS})
            kwargs["start_date"] = datetime.fromtimestamp(anchor, UTC) + period
        return IntervalTrigger(**kwargs)
    except OverflowError:
        path = f"trigger_args.{units[0]}" if len(units) == 1 else "trigger_args"
        raise InvalidSchedule([ConfigIssue(path, "is too long: the interval reaches beyond the year 9999")]) from None


def next_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """APScheduler's next fire time from `now` (None: never again); InvalidSchedule when it cannot be computed."""
    try:
        fire_time: datetime | None = trigger.get_next_fire_time(None, now)
    except IndexError:
        # APScheduler's cron search runs off the end of its calendar from a start in the last hours of year 9999
        raise InvalidSchedule([ConfigIssue("trigger_args", _NO_FIRE_TIME)]) from None
    except (ValueError, OverflowError) as exc:  # a date near year 9999 puts the next time out of range
        raise InvalidSchedule([ConfigIssue("trigger_args", str(exc))]) from None
    return fire_time


def first_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """When the trigger fires next from `now` on, or None when it never will (a date trigger's past run_date)."""
    first = next_fire_time(trigger, now)
    if first is None or first < now:
        return None
    return first


def trigger_key(trigger_type: str, trigger_args: Any) -> str:
    """What identifies a trigger: a schedule whose key is unchanged keeps its APScheduler job and cadence."""
    return trigger_type + " " + json.dumps(trigger_args, sort_keys=True, default=str)
