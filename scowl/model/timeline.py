"""Simulated time: what local wall-clock hour and UTC instant each tick starts at."""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scowl.config import Scenario


__all__ = ["Timeline", "timeline"]


class Timeline:
    """Per-tick arrays (index = tick, length = scenario ticks + 1 so the end time is included)."""

    def __init__(self, scenario: Scenario) -> None:
        n = scenario.ticks + 1
        start = scenario.start
        step = dt.timedelta(seconds=scenario.tick_seconds)
        # Aware arithmetic in a zone is wall-clock arithmetic: count elapsed time in UTC, then
        # convert each instant back to local time (right across a DST change).
        start_utc = start.astimezone(dt.UTC)
        times = [start_utc + i * step for i in range(n)]
        tz = start.tzinfo
        local = [t.astimezone(tz) for t in times]
        self.utc_seconds = np.array([t.timestamp() for t in times], dtype=np.float64)
        self.local_hour = np.array([t.hour + t.minute / 60 + t.second / 3600 for t in local], dtype=np.float64)
        self.weekday = np.array([t.weekday() < 5 for t in local], dtype=bool)
        self.day_of_year = np.array([t.timetuple().tm_yday for t in times], dtype=np.int32)
        self.utc_hour = np.array([(s % 86400) / 3600 for s in self.utc_seconds], dtype=np.float64)
        self.tick_seconds = scenario.tick_seconds
        self.ticks = scenario.ticks


@functools.lru_cache(maxsize=32)
def timeline(scenario: Scenario) -> Timeline:
    """The (cached) timeline of a scenario."""
    return Timeline(scenario)
