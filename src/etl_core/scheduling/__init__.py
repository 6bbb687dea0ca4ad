"""Schedules: stored in the store, fired by APScheduler 3 on the server's event loop through the executions service."""

from __future__ import annotations

from etl_core.scheduling.service import SchedulerService, ScheduleView, schedule_trigger
from etl_core.scheduling.triggers import TRIGGER_TYPES, InvalidSchedule, build_trigger

__all__ = ["TRIGGER_TYPES", "InvalidSchedule", "ScheduleView", "SchedulerService", "build_trigger", "schedule_trigger"]
