"""The whole scenario: a frozen `Scenario` of validated sections, built from parsed TOML
(`scenario_from_dict`, with the checks across sections) and rebuilt with some keys changed
(`override`, `Scenario.replace`, `dotted_key`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from scowl.config.sections import (
    SECTIONS,
    DemandSection,
    GenerationSection,
    NetworkSection,
    PacingSection,
    ResponseSection,
    ScenarioSection,
    SecuritySection,
    SeriesSection,
    StorageSection,
    StressSection,
    TrackersSection,
    WeatherSection,
)
from scowl.config.validate import build
from scowl.errors import ConfigError
from scowl.model.data import consumers_at

__all__ = ["Scenario", "dotted_key", "override", "scenario_from_dict"]


@dataclass(frozen=True)
class Scenario:
    """One validated scenario. `source` is the file (or name) it came from."""

    source: str
    scenario: ScenarioSection
    weather: WeatherSection
    generation: GenerationSection
    demand: DemandSection
    storage: StorageSection
    trackers: TrackersSection
    pacing: PacingSection
    network: NetworkSection
    response: ResponseSection = ResponseSection()
    stress: StressSection = StressSection()
    series: SeriesSection = SeriesSection()
    security: SecuritySection = SecuritySection()

    @property
    def ticks(self) -> int:
        s = self.scenario
        if s.ticks is not None:
            return s.ticks
        hours = 24.0 if s.duration_hours is None else s.duration_hours
        return max(1, int(round(hours * 3600 / s.tick_seconds)))

    @property
    def tick_seconds(self) -> int:
        return self.scenario.tick_seconds

    @property
    def seed(self) -> int:
        return self.scenario.seed

    @property
    def start(self) -> dt.datetime:
        """Local (time-zone aware) start of tick 0."""
        h, m = (int(x) for x in self.scenario.start.split(":"))
        return dt.datetime.combine(self.scenario.date, dt.time(h, m), tzinfo=zoneinfo.ZoneInfo(self.scenario.timezone))

    def tick_time(self, tick: int) -> dt.datetime:
        """Local wall time at the start of `tick`."""
        return self.start + dt.timedelta(seconds=tick * self.tick_seconds)

    def to_dict(self) -> dict:
        """The scenario as plain data (TOML key names), e.g. for a run's state log."""
        return _to_dict(self)

    def replace(self, changes: dict | None = None, /, **keys) -> Scenario:
        """A new Scenario with some keys changed, validated like the file (this one is immutable).
        Keys are dotted TOML keys in a dict, `replace({"scenario.scale": 0.001})`, or keywords:
        `replace(scale=0.001, seed=3)` (a key name found in one section only) or
        `replace(trackers__count=4)` (section__key)."""
        return override(self, {**(changes or {}), **{dotted_key(k): v for k, v in keys.items()}})



def scenario_from_dict(d: dict, source: str = "<dict>") -> Scenario:
    """Validate a parsed scenario (TOML tables as dicts) into a Scenario; errors name `source`."""
    if not isinstance(d, dict):
        raise ConfigError(source, "(top level)", "a table", d)
    for k in d:
        if k not in SECTIONS:
            raise ConfigError(source, k, "one of the sections " + ", ".join(SECTIONS), "an unknown section")
    if "scenario" not in d:
        raise ConfigError(source, "scenario", "a [scenario] table (required)", "nothing")
    sections = {name: build(cls, d.get(name, {}), source, name) for name, cls in SECTIONS.items()}
    sections["series"] = _absolute_series(sections["series"], source)
    sc = Scenario(source=source, **sections)
    _cross_check(sc, d)
    return sc


def _absolute_series(series: SeriesSection, source: str) -> SeriesSection:
    """Series paths relative to the scenario file made absolute, so a copy of the scenario
    written elsewhere (a run's scenario.toml) still names the same files."""
    base = Path(source).parent
    if not Path(source).is_file():
        return series
    changes = {k: str((base / v).resolve()) for k, v in (("load", series.load), ("availability", series.availability))
               if v is not None and not Path(v).is_absolute()}
    return dataclasses.replace(series, **changes) if changes else series


def _cross_check(sc: Scenario, d: dict) -> None:
    path, s = sc.source, sc.scenario
    if s.ticks is not None and s.duration_hours is not None:
        raise ConfigError(path, "scenario.ticks", "either scenario.ticks or scenario.duration_hours, not both", s.ticks)
    ticks = sc.ticks
    for i, p in enumerate(sc.network.partitions):
        if not p.start_tick < p.end_tick:
            raise ConfigError(path, f"network.partitions[{i}].end_tick", f"an integer > start_tick ({p.start_tick})", p.end_tick)
        if p.end_tick > ticks:
            raise ConfigError(path, f"network.partitions[{i}].end_tick", f"an integer <= the run's ticks ({ticks})", p.end_tick)
    r = sc.response
    if r.unchoke_threshold > r.capacity_low_threshold:
        raise ConfigError(path, "response.unchoke_threshold", f"a value <= response.capacity_low_threshold ({r.capacity_low_threshold})", r.unchoke_threshold)
    if sum(consumers_at(s.scale)) < 1:
        raise ConfigError(path, "scenario.scale", "a scale large enough for at least one consumer (the day would demand nothing)", s.scale)
    st = sc.storage
    if st.ev_arrival_hour == st.ev_departure_hour:
        raise ConfigError(path, "storage.ev_departure_hour", f"an hour other than storage.ev_arrival_hour ({st.ev_arrival_hour}): EVs would never be plugged in", st.ev_departure_hour)
    if st.ev_sleep_soc > st.ev_initial_soc:
        raise ConfigError(path, "storage.ev_sleep_soc", f"a value <= storage.ev_initial_soc ({st.ev_initial_soc})", st.ev_sleep_soc)


def _to_dict(obj):
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            if f.name == "source":
                continue
            v = getattr(obj, f.name)
            if v is None:
                continue
            out[f.metadata.get("key") or f.name] = _to_dict(v)
        return out
    if isinstance(obj, tuple):
        return [_to_dict(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def override(sc: Scenario, changes: dict) -> Scenario:
    """A copy of `sc` with dotted keys changed ({"scenario.scale": 1.0}), validated again; a
    value of None removes the key (it takes its default)."""
    d = sc.to_dict()
    for dotted, value in changes.items():
        section, _, key = dotted.partition(".")
        if value is None:
            d.setdefault(section, {}).pop(key, None)
            continue
        d.setdefault(section, {})[key] = value
        if section == "scenario" and key == "ticks":
            d["scenario"].pop("duration_hours", None)
        if section == "scenario" and key == "duration_hours":
            d["scenario"].pop("ticks", None)
    return scenario_from_dict(d, source=sc.source)


def dotted_key(name: str) -> str:
    """A Python keyword as a dotted scenario key: "trackers__count" -> "trackers.count"; a bare
    key found in exactly one section ("scale") -> "scenario.scale"."""
    if "__" in name:
        return name.replace("__", ".", 1)
    owners = [sec for sec, cls in SECTIONS.items()
              if name in {(f.metadata.get("key") or f.name) for f in dataclasses.fields(cls)}]
    if len(owners) != 1:
        found = "a key of no section" if not owners else "a key of several sections (" + ", ".join(owners) + ")"
        raise ConfigError("(keyword)", name, "a key of exactly one section, or section__key", found)
    return f"{owners[0]}.{name}"
