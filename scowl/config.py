"""Scenario files: typed, immutable, validated strictly on load.

`load_scenario(path)` reads a TOML scenario (see configs/ny2030.toml, where every key is
documented) into a frozen `Scenario`. An unknown key, a wrong type or an out-of-range value
raises `ConfigError(path, dotted_key, expected, found)`. `scenario_from_dict(d, source)` does the
same for a dict (tests), `default_scenario_path()` names the packaged ny2030.toml, and
`override(scenario, {"scenario.scale": 1.0})` re-validates a scenario with some keys changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.resources
import math
import re
import tomllib
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scowl.errors import ConfigError
from scowl.model.mix import consumer_counts

__all__ = [
    "DemandSection",
    "GenerationSection",
    "NetworkSection",
    "PacingSection",
    "Partition",
    "Scenario",
    "ScenarioSection",
    "SeriesSection",
    "StorageSection",
    "StressSection",
    "TrackersSection",
    "WeatherSection",
    "SELECTOR_RE",
    "default_scenario_path",
    "dotted_key",
    "load_scenario",
    "override",
    "packaged_scenarios",
    "parse_set",
    "resolve_scenario",
    "scenario_from_dict",
    "scenario_toml",
]

#: A peer selector: "*", "role:<role>", "host:<name>", "region:<int>", "peer:<name>".
SELECTOR_RE = re.compile(r"^(\*|role:[a-z][a-z0-9_]*|host:[A-Za-z0-9][A-Za-z0-9._-]*|region:[0-9]+|peer:[^\s]+)$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _f(default=dataclasses.MISSING, *, lo=None, hi=None, lo_open=False, hi_open=False, choices=None, key=None, check=None):
    """A field with its validation rule in metadata."""
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices, "key": key, "check": check}
    if isinstance(default, tuple) or default is dataclasses.MISSING or not callable(default):
        return field(default=default, metadata=meta)
    return field(default_factory=default, metadata=meta)


@dataclass(frozen=True)
class ScenarioSection:
    name: str = _f()
    date: dt.date = _f(dt.date(2030, 7, 17))
    start: str = _f("00:00", check=(lambda v: bool(_HHMM.match(v)), 'a time "HH:MM"'))
    timezone: str = _f("America/New_York", check=(lambda v: _valid_zone(v), "an IANA time zone name"))
    tick_seconds: int = _f(300, lo=1, hi=3600)
    duration_hours: typing.Optional[float] = _f(None, lo=0.0, hi=24.0 * 14, lo_open=True)
    ticks: typing.Optional[int] = _f(None, lo=1, hi=1_000_000)
    seed: int = _f(42, lo=0, hi=2**63 - 1)
    mix_year: int = _f(2030, choices=(2022, 2030))
    scale: float = _f(0.05, lo=0.0, hi=1.0, lo_open=True)
    consumers_per_generator: int = _f(20000, lo=1)
    safety_threshold: float = _f(0.10, lo=0.0, hi=1.0, hi_open=True)
    demand_responsive_share: float = _f(0.10, lo=0.0, hi=0.87)


@dataclass(frozen=True)
class WeatherSection:
    cloudiness: float = _f(0.32, lo=0.0, hi=1.0)
    pv_performance: float = _f(1.2, lo=0.0, hi=2.0, lo_open=True)  # PV output at 1,000 W/m^2, fraction of AC nameplate
    cloud_correlation_minutes: float = _f(90.0, lo=0.0, lo_open=True)
    cloud_variability: float = _f(0.5, lo=0.0, hi=3.0)  # std of the cloud attenuation / its mean
    # None: the month's observed mean capacity factor (data/output_factors.csv)
    wind_mean: typing.Optional[float] = _f(None, lo=0.0, hi=1.0, lo_open=True)
    wind_spread: typing.Optional[float] = _f(None, lo=0.0, hi=2.0)
    wind_correlation_hours: float = _f(18.0, lo=0.0, lo_open=True)
    wind_variability: float = _f(0.8, lo=0.0, hi=3.0)  # lognormal sigma of a farm's output around the month's mean
    hydro_level: typing.Optional[float] = _f(None, lo=0.0, hi=1.0, lo_open=True)


@dataclass(frozen=True)
class GenerationSection:
    fleet_method: str = _f("capacity", choices=("capacity", "notebook"))
    nuclear_factor: typing.Optional[float] = _f(None, lo=0.0, hi=1.0, lo_open=True)
    gas_min_fraction: float = _f(0.30, lo=0.0, hi=1.0, hi_open=True)
    gas_ramp_per_minute: float = _f(0.03, lo=0.0, hi=1.0, lo_open=True)
    unit_size_spread: float = _f(0.20, lo=0.0, hi=0.9)
    distributed_solar_peer_mw: float = _f(56.0, lo=0.0, lo_open=True)


@dataclass(frozen=True)
class DemandSection:
    residential_variation: float = _f(0.15, lo=0.0, hi=1.0)
    commercial_variation: float = _f(0.10, lo=0.0, hi=1.0)
    correlation_minutes: float = _f(60.0, lo=0.0, lo_open=True)
    residential_spread: float = _f(0.40, lo=0.0, hi=2.0)
    commercial_spread: float = _f(0.60, lo=0.0, hi=2.0)
    deferrable_scale: float = _f(1.0, lo=0.0, hi=1.0)  # 1: the end-use table's deferrable shares; 0: none (all fixed)
    peak_mw: typing.Optional[float] = _f(None, lo=0.0, lo_open=True)  # None: the season's Gold Book peak (at scale 1.0)


@dataclass(frozen=True)
class StorageSection:
    ev_charge_kw: float = _f(7.2, lo=0.0, hi=350.0, lo_open=True)
    ev_arrival_hour: float = _f(18.0, lo=0.0, hi=24.0, hi_open=True)
    ev_departure_hour: float = _f(7.5, lo=0.0, hi=24.0, hi_open=True)
    ev_spread_hours: float = _f(1.5, lo=0.0, hi=6.0)
    ev_initial_soc: float = _f(0.70, lo=0.0, hi=1.0)
    ev_sleep_soc: float = _f(0.05, lo=0.0, hi=1.0, hi_open=True)
    ev_trip_kwh: float = _f(10.0, lo=0.0, hi=80.0)
    ev_home_share: float = _f(0.40, lo=0.0, hi=1.0)
    hubs: int = _f(4, lo=0, hi=4096)


@dataclass(frozen=True)
class TrackersSection:
    count: int = _f(4, lo=1, hi=4096)
    report_threshold: float = _f(0.05, lo=0.0, hi=1.0, lo_open=True)
    assign: str = _f("hash", choices=("hash", "zone"))


@dataclass(frozen=True)
class StressSection:
    """Physical events that make the day hard (data/stress.csv gives their sizes and sources)."""

    forced_outages: bool = _f(False)
    heat_wave: bool = _f(False)
    low_wind_evening: bool = _f(False)
    retirements: bool = _f(False)
    trip_largest_at: typing.Optional[str] = _f(None, check=(lambda v: bool(_HHMM.match(v)), 'a time "HH:MM"'))


@dataclass(frozen=True)
class SeriesSection:
    """A user's own series (CSV or Parquet), paths relative to the scenario file."""

    load: typing.Optional[str] = _f(None)
    availability: typing.Optional[str] = _f(None)


@dataclass(frozen=True)
class PacingSection:
    mode: str = _f("lockstep", choices=("lockstep", "realtime"))
    factor: float = _f(1.0, lo=0.0, lo_open=True)


@dataclass(frozen=True)
class Partition:
    start_tick: int = _f(lo=0)
    end_tick: int = _f(lo=1)
    isolate: tuple[str, ...] = _f(check=(lambda v: len(v) > 0 and all(SELECTOR_RE.match(s) for s in v), "a non-empty list of selectors (\"*\", \"role:<role>\", \"host:<name>\", \"region:<int>\", \"peer:<name>\")"))
    from_: tuple[str, ...] = _f(("*",), key="from", check=(lambda v: len(v) > 0 and all(SELECTOR_RE.match(s) for s in v), "a non-empty list of selectors (\"*\", \"role:<role>\", \"host:<name>\", \"region:<int>\", \"peer:<name>\")"))


@dataclass(frozen=True)
class NetworkSection:
    latency_ms: float = _f(5.0, lo=0.0, hi=60_000.0)
    jitter_ms: float = _f(1.0, lo=0.0, hi=60_000.0)
    partitions: tuple[Partition, ...] = _f(())


@dataclass(frozen=True)
class ResponseSection:
    """How peers behave when they lose their tracker (the partitioned day): generators turn
    self-optimizing (SOG) and warn their tree with capacity_low; consumers turn
    self-optimizing (SOC) and back off like TCP congestion control (AIMD)."""

    heartbeat_timeout_s: float = _f(2.0, lo=0.0, lo_open=True, hi=600.0)
    capacity_low_threshold: float = _f(0.90, lo=0.0, hi=1.0, lo_open=True)
    unchoke_threshold: float = _f(0.80, lo=0.0, hi=1.0, lo_open=True)
    decrease_factor: float = _f(0.5, lo=0.0, hi=1.0, hi_open=True)
    increase_step: float = _f(0.1, lo=0.0, hi=1.0, lo_open=True)


@dataclass(frozen=True)
class SecuritySection:
    """Peers with identities (CURVE keys, every sender authenticated) on ipc and tcp links.
    Off only for benchmarks: the run's output and summary.json then say so."""

    enabled: bool = _f(True)


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


_SECTIONS = {
    "scenario": ScenarioSection,
    "weather": WeatherSection,
    "generation": GenerationSection,
    "demand": DemandSection,
    "storage": StorageSection,
    "trackers": TrackersSection,
    "pacing": PacingSection,
    "network": NetworkSection,
    "response": ResponseSection,
    "stress": StressSection,
    "series": SeriesSection,
    "security": SecuritySection,
}


def _valid_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _type_name(args[0])
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        return f"an array of {_type_name(inner)}" if inner is not Partition else "an array of tables"
    return {int: "an integer", float: "a number", str: "a string", bool: "a boolean", dt.date: "a date (YYYY-MM-DD)"}.get(tp, "a table")


def _convert(value, tp, path: str, key: str):
    """Check `value` against type `tp`, converting where TOML allows (int -> float, str -> date)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        inner = [a for a in typing.get_args(tp) if a is not type(None)][0]
        return _convert(value, inner, path, key)
    bad = ConfigError(path, key, _type_name(tp), value)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    if tp is dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise bad from None
        raise bad
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        if not isinstance(value, (list, tuple)):
            raise bad
        if dataclasses.is_dataclass(inner):
            return tuple(_build(inner, item, path, f"{key}[{i}]") for i, item in enumerate(value))
        return tuple(_convert(item, inner, path, f"{key}[{i}]") for i, item in enumerate(value))
    raise TypeError(f"unsupported field type {tp!r}")  # pragma: no cover - programming error


def _check_range(value, meta: Mapping[str, Any], path: str, key: str) -> None:
    lo, hi, choices, check = meta["lo"], meta["hi"], meta["choices"], meta["check"]
    if value is None:
        return
    if isinstance(value, float) and not math.isfinite(value):  # NaN passes every comparison: refuse it first
        raise ConfigError(path, key, "a finite number (not nan or inf)", value)
    if choices is not None and value not in choices:
        raise ConfigError(path, key, "one of " + ", ".join(repr(c) for c in choices), value)
    if check is not None and not check[0](value):
        raise ConfigError(path, key, check[1], value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low_bad = lo is not None and (value <= lo if meta["lo_open"] else value < lo)
        high_bad = hi is not None and (value >= hi if meta["hi_open"] else value > hi)
        if low_bad or high_bad:
            left = "(" if meta["lo_open"] else "["
            right = ")" if meta["hi_open"] else "]"
            lo_s = "-inf" if lo is None else f"{lo:g}"
            hi_s = "inf" if hi is None else f"{hi:g}"
            raise ConfigError(path, key, f"a value in {left}{lo_s}, {hi_s}{right}", value)


def _build(cls, table, path: str, prefix: str):
    if not isinstance(table, dict):
        raise ConfigError(path, prefix, "a table", table)
    hints = typing.get_type_hints(cls)
    fields = {(f.metadata.get("key") or f.name): f for f in dataclasses.fields(cls)}
    for k in table:
        if k not in fields:
            raise ConfigError(path, f"{prefix}.{k}", "one of the known keys " + ", ".join(fields), "an unknown key")
    kwargs = {}
    for k, f in fields.items():
        dotted = f"{prefix}.{k}"
        if k in table:
            value = _convert(table[k], hints[f.name], path, dotted)
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            value = f.default_factory()  # type: ignore[misc]
        else:
            raise ConfigError(path, dotted, f"{_type_name(hints[f.name])} (required)", "nothing")
        _check_range(value, f.metadata, path, dotted)
        kwargs[f.name] = value
    return cls(**kwargs)


def scenario_from_dict(d: dict, source: str = "<dict>") -> Scenario:
    """Validate a parsed scenario (TOML tables as dicts) into a Scenario; errors name `source`."""
    if not isinstance(d, dict):
        raise ConfigError(source, "(top level)", "a table", d)
    for k in d:
        if k not in _SECTIONS:
            raise ConfigError(source, k, "one of the sections " + ", ".join(_SECTIONS), "an unknown section")
    if "scenario" not in d:
        raise ConfigError(source, "scenario", "a [scenario] table (required)", "nothing")
    sections = {name: _build(cls, d.get(name, {}), source, name) for name, cls in _SECTIONS.items()}
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
    if sum(consumer_counts(sc)) < 1:
        raise ConfigError(path, "scenario.scale", "a scale large enough for at least one consumer (the day would demand nothing)", s.scale)
    st = sc.storage
    if st.ev_arrival_hour == st.ev_departure_hour:
        raise ConfigError(path, "storage.ev_departure_hour", f"an hour other than storage.ev_arrival_hour ({st.ev_arrival_hour}): EVs would never be plugged in", st.ev_departure_hour)
    if st.ev_sleep_soc > st.ev_initial_soc:
        raise ConfigError(path, "storage.ev_sleep_soc", f"a value <= storage.ev_initial_soc ({st.ev_initial_soc})", st.ev_sleep_soc)


def load_scenario(path) -> Scenario:
    """Read and validate a TOML scenario file."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(p), "(file)", "an existing TOML file", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), "(syntax)", "valid TOML", str(exc)) from None
    return scenario_from_dict(data, source=str(p))


def default_scenario_path() -> Path:
    """The packaged default scenario, configs/ny2030.toml."""
    return Path(str(importlib.resources.files("scowl.configs").joinpath("ny2030.toml")))


def packaged_scenarios() -> dict[str, Path]:
    """Every packaged scenario by name (file stem)."""
    root = importlib.resources.files("scowl.configs")
    return {Path(e.name).stem: Path(str(e)) for e in sorted(root.iterdir(), key=lambda e: e.name) if e.name.endswith(".toml")}


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
    owners = [sec for sec, cls in _SECTIONS.items()
              if name in {(f.metadata.get("key") or f.name) for f in dataclasses.fields(cls)}]
    if len(owners) != 1:
        found = "a key of no section" if not owners else "a key of several sections (" + ", ".join(owners) + ")"
        raise ConfigError("(keyword)", name, "a key of exactly one section, or section__key", found)
    return f"{owners[0]}.{name}"


def resolve_scenario(name_or_path) -> Path:
    """A scenario file from what a person typed: an existing path, or the name of a packaged
    scenario ("small", "ny2030"; with or without ".toml"). Every command resolves the same way."""
    if name_or_path is None:
        return default_scenario_path()
    p = Path(name_or_path)
    if p.is_file():
        return p
    named = packaged_scenarios()
    stem = p.name[:-5] if p.name.endswith(".toml") else p.name
    if p.parent == Path(".") and stem in named:
        return named[stem]
    if not p.exists() and not p.name.endswith(".toml") and p.parent == Path("."):
        raise ConfigError(str(p), "(file)", "a scenario TOML file or a packaged scenario name (" + ", ".join(named) + ")",
                          "no such file or name")
    return p  # load_scenario names the missing file


def parse_set(text: str) -> tuple[str, object]:
    """One `--set KEY=VALUE`: a dotted TOML key ("scenario.scale") and a value in TOML syntax
    (1.0, 42, true, "text", [1, 2], 2030-07-17); a bare word that is not TOML is taken as a string.
    The value is validated like the file's when the scenario is built (the error names the key)."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or "." not in key or not all(part.strip() for part in key.split(".")):
        raise ConfigError("--set", text, "KEY=VALUE with a dotted key, e.g. scenario.scale=0.01", text)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        import json

        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def scenario_toml(scenario: Scenario) -> str:
    """A scenario as a TOML file `load_scenario` reads back to the same Scenario."""
    lines = [f"# written by scowl from {scenario.source}"]
    for section, table in scenario.to_dict().items():
        lines.append(f"[{section}]")
        arrays = []
        for k, v in table.items():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                arrays.append((k, v))
            else:
                lines.append(f"{k} = {_toml_value(v)}")
        for k, items in arrays:
            for item in items:
                lines.append(f"[[{section}.{k}]]")
                lines.extend(f"{kk} = {_toml_value(vv)}" for kk, vv in item.items())
        lines.append("")
    return "\n".join(lines)
