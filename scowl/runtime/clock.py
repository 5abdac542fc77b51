"""Time is passed in as a clock: simulated time only the metronome advances, never backwards."""

from __future__ import annotations

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

