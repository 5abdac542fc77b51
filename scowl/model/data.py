"""The packaged data files (scowl.data, i.e. data/*.csv), parsed once.

Each CSV starts with '#' lines naming its public source; every figure is a row of
shared/reference/ny-grid-facts.md. Empty cells (a figure the source does not give) read as None.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io

__all__ = ["consumers", "der_ev", "end_uses", "generation_mix", "monthly", "system", "table", "unit_sizes"]


@functools.cache
def table(name: str) -> tuple[dict, ...]:
    """Rows of data/<name>.csv as dicts of str (comment lines skipped)."""
    text = importlib.resources.files("scowl.data").joinpath(f"{name}.csv").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return tuple(csv.DictReader(io.StringIO("\n".join(lines))))


def _num(s: str):
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
def consumers() -> dict[str, dict]:
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
def der_ev(year: int) -> dict:
    """DER and EV figures for `year` (None where the source gives none)."""
    for r in table("der_ev"):
        if int(r["year"]) == year:
            return {k: _num(v) for k, v in r.items() if k != "year"}
    raise KeyError(year)
