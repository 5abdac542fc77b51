"""The packaged data files (scowl.data, i.e. data/*.csv), parsed once.

Each CSV starts with '#' lines naming its public source; every figure is a row of
shared/reference/ny-grid-facts.md. Empty cells (a figure the source does not give) read as None.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
from typing import Any

__all__ = ["consumers", "consumers_at", "der_ev", "end_uses", "generation_mix", "load_shapes", "monthly", "outage_rates", "output_factor", "stress",
           "system", "table", "transfer_limits", "type_zones", "unit_sizes", "zones"]


@functools.cache
def table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of data/<name>.csv as dicts of str (comment lines skipped)."""
    text = importlib.resources.files("scowl.data").joinpath(f"{name}.csv").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return tuple(csv.DictReader(io.StringIO("\n".join(lines))))


def _num(s: str | None) -> float | None:
    return None if s is None or s.strip() == "" else float(s)


@functools.cache
def generation_mix(year: int) -> dict[str, float]:
    """MWh by generator type in the mix of `year` (2022 or 2030), in file order."""
    return {r["type"]: float(r[f"mwh_{year}"]) for r in table("generation_mix")}


@functools.cache
def unit_sizes() -> dict[str, float]:
    """Average nameplate per facility (MW) by type."""
    return {r["type"]: float(r["unit_mw"]) for r in table("generation_units")}


@functools.cache
def system() -> dict[str, float]:
    """System-wide figures by quantity name (total_capacity, summer_peak, ...)."""
    return {r["quantity"]: float(r["value"]) for r in table("system")}


@functools.cache
def consumers() -> dict[str, dict[str, Any]]:
    """By customer type: count (None for fixed loads), summer_peak_mw, unit_peak_mw, load."""
    return {
        r["customer_type"]: {
            "count": None if _num(r["count"]) is None else int(float(r["count"])),
            "summer_peak_mw": float(r["summer_peak_mw"]),
            "unit_peak_mw": _num(r["unit_peak_mw"]),
            "load": r["load"],
        }
        for r in table("consumers")
    }


def consumers_at(scale: float) -> tuple[int, int]:
    """(residential, commercial) consumers at a scale (1.0: the whole state)."""
    c = consumers()
    return int(round(c["residential"]["count"] * scale)), int(round(c["commercial"]["count"] * scale))


@functools.cache
def end_uses() -> tuple[tuple[str, float, int], ...]:
    """Residential end uses as (load, share, deferrable seconds)."""
    return tuple((r["load"], float(r["share"]), int(r["deferrable_s"])) for r in table("residential_end_uses"))


@functools.cache
def monthly(month: int) -> dict[str, float]:
    """Month-to-month variability for `month` (1-12): hydro mean/std (thousand MWh), solar/wind spread."""
    r = table("monthly_variability")[month - 1]
    return {k: float(v) for k, v in r.items()}


@functools.cache
def der_ev(year: int) -> dict[str, Any]:
    """DER and EV figures for `year` (None where the source gives none)."""
    for r in table("der_ev"):
        if int(r["year"]) == year:
            return {k: _num(v) for k, v in r.items() if k != "year"}
    raise KeyError(year)


@functools.cache
def output_factor(type_name: str, month: int) -> float:
    """Observed mean output of a type in `month` as a fraction of nameplate (data/output_factors.csv)."""
    for r in table("output_factors"):
        if r["type"] == type_name and int(r["month"]) == month:
            return float(r["capacity_factor"])
    raise KeyError(f"data/output_factors.csv has no row for type {type_name!r}, month {month}")


@functools.cache
def stress() -> dict[str, float]:
    """Sizes of the stress events (data/stress.csv)."""
    return {r["quantity"]: float(r["value"]) for r in table("stress")}


@functools.cache
def outage_rates() -> dict[str, float]:
    """EFORd by technology (data/outage_rates.csv)."""
    return {r["technology"]: float(r["eford"]) for r in table("outage_rates")}


@functools.cache
def load_shapes() -> dict[str, tuple[float, ...]]:
    """Hourly NYCA load shapes (fraction of the season's peak) by column, hours 0..23."""
    rows = table("load_shapes")
    return {k: tuple(float(r[k]) for r in rows) for k in rows[0] if k != "hour"}


@functools.cache
def zones() -> tuple[dict[str, str], ...]:
    """The eleven NYISO load zones A-K (data/zones.csv), in zone order."""
    return table("zones")


@functools.cache
def type_zones() -> dict[str, tuple[float, ...]]:
    """Share of each generator type's units by zone A..K (data/type_zones.csv)."""
    return {r["type"]: tuple(float(r[z]) for z in "ABCDEFGHIJK") for r in table("type_zones")}


@functools.cache
def transfer_limits() -> tuple[tuple[str, str, str, float], ...]:
    """Interfaces as (name, from zones, to zones, limit MW) (data/zone_transfer_limits.csv)."""
    return tuple((r["interface"], r["from"], r["to"], float(r["limit_mw"])) for r in table("zone_transfer_limits"))
