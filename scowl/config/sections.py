"""The scenario's sections: one frozen dataclass per TOML table, each field with its validation
rule (range, choices or a check) in its metadata; `SECTIONS` maps table names to them.
The rules are applied by scowl.config.validate; the whole scenario is scowl.config.scenario."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field

#: A peer selector: "*", "role:<role>", "host:<name>", "region:<int>", "peer:<name>".
SELECTOR_RE = re.compile(r"^(\*|role:[a-z][a-z0-9_]*|host:[A-Za-z0-9][A-Za-z0-9._-]*|region:[0-9]+|peer:[^\s]+)$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _f(default=dataclasses.MISSING, *, lo=None, hi=None, lo_open=False, hi_open=False, choices=None, key=None, check=None):
    """A field with its validation rule in metadata."""
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices, "key": key, "check": check}
    if isinstance(default, tuple) or default is dataclasses.MISSING or not callable(default):
        return field(default=default, metadata=meta)
    return field(default_factory=default, metadata=meta)


def _valid_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True



@dataclass(frozen=True)
class ScenarioSection:
    name: str = _f()
    date: dt.date = _f(dt.date(2030, 7, 17))
    start: str = _f("00:00", check=(lambda v: bool(_HHMM.match(v)), 'a time "HH:MM"'))
    timezone: str = _f("America/New_York", check=(lambda v: _valid_zone(v), "an IANA time zone name"))
    tick_seconds: int = _f(300, lo=1, hi=3600)
    duration_hours: float | None = _f(None, lo=0.0, hi=24.0 * 14, lo_open=True)
    ticks: int | None = _f(None, lo=1, hi=1_000_000)
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
    wind_mean: float | None = _f(None, lo=0.0, hi=1.0, lo_open=True)
    wind_spread: float | None = _f(None, lo=0.0, hi=2.0)
    wind_correlation_hours: float = _f(18.0, lo=0.0, lo_open=True)
    wind_variability: float = _f(0.8, lo=0.0, hi=3.0)  # lognormal sigma of a farm's output around the month's mean
    hydro_level: float | None = _f(None, lo=0.0, hi=1.0, lo_open=True)


@dataclass(frozen=True)
class GenerationSection:
    fleet_method: str = _f("capacity", choices=("capacity", "notebook"))
    nuclear_factor: float | None = _f(None, lo=0.0, hi=1.0, lo_open=True)
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
    peak_mw: float | None = _f(None, lo=0.0, lo_open=True)  # None: the season's Gold Book peak (at scale 1.0)


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
    transfer_limits: bool = _f(False)  # the trackers refuse placements over data/zone_transfer_limits.csv


@dataclass(frozen=True)
class StressSection:
    """Physical events that make the day hard (data/stress.csv gives their sizes and sources)."""

    forced_outages: bool = _f(False)
    heat_wave: bool = _f(False)
    low_wind_evening: bool = _f(False)
    retirements: bool = _f(False)
    trip_largest_at: str | None = _f(None, check=(lambda v: bool(_HHMM.match(v)), 'a time "HH:MM"'))


@dataclass(frozen=True)
class SeriesSection:
    """A user's own series (CSV or Parquet), paths relative to the scenario file."""

    load: str | None = _f(None)
    availability: str | None = _f(None)


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
    self-optimizing and back off like TCP congestion control (AIMD)."""

    heartbeat_timeout_s: float = _f(2.0, lo=0.0, lo_open=True, hi=600.0)
    # the metronome: a peer gone this long (its connection closed, not restarted) is declared dead and every peer told
    death_grace_s: float = _f(20.0, lo=0.0, hi=3600.0)
    capacity_low_threshold: float = _f(0.90, lo=0.0, hi=1.0, lo_open=True)
    unchoke_threshold: float = _f(0.80, lo=0.0, hi=1.0, lo_open=True)
    decrease_factor: float = _f(0.5, lo=0.0, hi=1.0, hi_open=True)
    increase_step: float = _f(0.1, lo=0.0, hi=1.0, lo_open=True)


@dataclass(frozen=True)
class SecuritySection:
    """Peers with identities (CURVE keys, every sender authenticated) on ipc and tcp links.
    Off only for benchmarks: the run's output and summary.json then say so."""

    enabled: bool = _f(True)


#: TOML table name -> its section
SECTIONS: dict[str, type] = {
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
