"""Time is passed in as a clock: simulated time only the metronome advances, never backwards."""

from __future__ import annotations

import time

from scowl.errors import ScowlError


class SimClock:
    """Simulated time in ticks of `tick_seconds`; only `advance_to` moves it, and never back."""

    def __init__(self, tick_seconds: float = 1.0, start_tick: int = 0) -> None:
        self.tick_seconds = float(tick_seconds)
        self.tick = start_tick

    @property
    def seconds(self) -> float:
        return self.tick * self.tick_seconds

    def advance_to(self, tick: int) -> None:
        if tick < self.tick:
            raise ScowlError(f"simulated clock cannot go backwards: at tick {self.tick}, asked for {tick}")
        self.tick = tick


class RealTimeClock:
    """Maps simulated seconds onto wall time scaled by `factor` (simulated s per wall s).

    `lateness(tick)` says how far behind the wall schedule a tick is; in strict mode falling
    behind by more than `tolerance_s` raises, so a run can say when the simulation cannot
    keep up instead of silently stretching time."""

    def __init__(self, tick_seconds: float, factor: float = 1.0, strict: bool = False, tolerance_s: float = 0.0,
                 now=time.monotonic) -> None:
        if factor <= 0:
            raise ScowlError(f"real-time factor must be > 0, got {factor}")
        self.tick_seconds = float(tick_seconds)
        self.factor = float(factor)
        self.strict = strict
        self.tolerance_s = tolerance_s
        self._now = now
        self._t0 = now()

    @property
    def wall_period(self) -> float:
        return self.tick_seconds / self.factor

    def deadline(self, tick: int) -> float:
        return self._t0 + tick * self.wall_period

    def lateness(self, tick: int) -> float:
        late = self._now() - self.deadline(tick)
        if self.strict and late > self.tolerance_s:
            raise ScowlError(f"simulation fell behind real time by {late:.3f} s at tick {tick}")
        return late
