"""`scowl validate [CONFIG] [--scale S] [--json] [--days N]`: the model held against the facts.

One row per check: the model's value, the expected range, its source, PASS or FAIL (exit 1 if any
check fails). The checks (figures: shared/reference/ny-grid-facts.md Part 2, data/*.csv):

- capacity by type at scale 1.0 equivalent (fleet MW / scale) within 5 % of the facts (2022:
  NYISO Power Trends 2020 with Indian Point 3 retired; 2030: the stated 2022 + CLCPA figures of
  data/fleet_capacity.csv, less the peakers when the retirements stress is on);
- the day's energy mix (a merit-order estimate from the day's available output and load,
  scowl/model/energy.py) against the season's expectation: each type's share within 5 points
  (or 30 % of itself) of what the fleet gives at the month's observed factors;
- the peak against the season's Gold Book peak (x the heat wave's uplift), at the hour NYISO's
  data put it, and the minimum/peak ratio against the hourly data's range for season and day type;
- land-wind capacity factor for the month and the fleet's one-hour change (p99 and std) over
  `--days` seeded days of the stress-free model; the day's own figures are shown as INFO rows;
- solar: zero output whenever the sun is down, and the day's capacity factor against the observed
  annual 16.5-21.7 % scaled by the month's clear-sky ratio to the year;
- nuclear and hydro at their observed factors (stress-free model).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

import numpy as np

from scowl.config import override

#: Installed summer capability 2022 (MW) with its source, the facts' Part 2.
_FACTS_2022 = {
    "natural gas-fired": (23_955, "PT20 dual fuel 19,230 + gas only 4,725"),
    "petroleum-fired": (2_416, "PT20 oil"),
    "nuclear": (3_343, "PT20 4,374 less Indian Point 3 (1,031, retired 2021)"),
    "hydroelectric": (4_247, "PT20 conventional hydro"),
    "pumped storage": (1_407, "PT20 pumped storage"),
    "land-based wind": (1_739, "PT20 wind"),
}


@dataclass
class Check:
    check: str
    value: str
    expected: str
    source: str
    result: str  # PASS, FAIL or INFO

    @classmethod
    def range(cls, check: str, value: float, lo: float, hi: float, source: str, fmt: str = "{:,.3f}") -> Check:
        ok = lo <= value <= hi
        return cls(check, fmt.format(value), f"{fmt.format(lo)} .. {fmt.format(hi)}", source, "PASS" if ok else "FAIL")


def register(sub: argparse._SubParsersAction) -> None:
    from scowl.commands._scenario import add_scenario_arguments

    p = sub.add_parser("validate", help="hold a scenario's grid against New York's facts, one PASS/FAIL row per check")
    add_scenario_arguments(p, optional=True)
    p.add_argument("--scale", type=float, default=None, help="run the checks at this scale instead of the scenario's (e.g. 1.0)")
    p.add_argument("--days", type=int, default=40, help="seeded days of the stress-free model for the wind statistics (default 40)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def _wind_stats(scenario, type_name: str, days: int) -> tuple[float, float, float, float] | None:
    """(mean CF, day CF min, one-hour change p99, its std) of a wind type's fleet over seeded days."""
    from scowl.model import TYPE_CODES, SupplyModel, build_generators
    from scowl.streams import StreamRepo

    cfs, changes = [], []
    for seed in range(days):
        sc = override(scenario, {"scenario.seed": seed})
        g = build_generators(sc, StreamRepo(seed))
        sel = np.flatnonzero(g.type_code == TYPE_CODES[type_name])
        if not len(sel):
            return None
        p = SupplyModel(g, sc, indices=sel).profile.sum(axis=1) / g.nameplate_mw[sel].sum()
        hourly = p[:: max(1, round(3600 / sc.tick_seconds))]
        cfs.append(p.mean())
        changes.append(np.diff(hourly))
    ch = np.concatenate(changes)
    return float(np.mean(cfs)), float(np.min(cfs)), float(np.percentile(np.abs(ch), 99)), float(ch.std())


def validate(scenario, days: int = 40) -> list[Check]:
    from scowl.model import (
        TYPE_CODES,
        build_generators,
        data,
        expected_demand_mw,
        timeline,
    )
    from scowl.model.demand import season, season_peak_mw
    from scowl.model.energy import energy_by_type
    from scowl.model.fleet import capacity_by_type, capacity_units
    from scowl.model.generation import (
        SupplyModel,
        hydro_factor,
        solar_profile,
        wind_mean,
    )
    from scowl.model.solar import solar_elevation
    from scowl.model.stress import demand_uplift
    from scowl.model.types import registry
    from scowl.streams import StreamRepo

    s = scenario.scenario
    scale = s.scale
    rows: list[Check] = []
    repo = StreamRepo(scenario.seed)
    gens = build_generators(scenario, repo)
    by = gens.by_type()
    month = s.date.month

    # capacity by type
    if s.mix_year == 2022:
        for name, (mw, src) in _FACTS_2022.items():
            rows.append(Check.range(f"capacity {name}, MW", by[name][1] / scale, 0.95 * mw, 1.05 * mw, src, "{:,.0f}"))
        in_state = sum(mw for name, (_, mw) in by.items() if name != "imports") / scale
        rows.append(Check.range("capacity in-state total, MW", in_state, 0.98 * 37_400, 1.02 * 37_400, "OUT22: about 37,400 MW in 2022", "{:,.0f}"))
    else:
        caps = capacity_by_type(s.mix_year)
        retired = {t: u.retired_mw / scale for t, u in capacity_units(scenario).items()} if scenario.stress.retirements else {}
        for t in registry():
            mw = caps.get(t.name, (0.0, 0))[0] - retired.get(t.name, 0.0)
            if mw > 0:
                rows.append(Check.range(f"capacity {t.name}, MW", by[t.name][1] / scale, 0.95 * mw, 1.05 * mw,
                                        "data/fleet_capacity.csv (2022 + CLCPA targets)" + (", less the retired peakers" if retired.get(t.name) else ""),
                                        "{:,.0f}"))

    # the day: load and supply with its stresses
    tl = timeline(scenario)
    demand = expected_demand_mw(scenario)["total"]
    supply = SupplyModel(gens, scenario, repo)
    th = scenario.tick_seconds / 3600.0
    mix = energy_by_type(gens.type_code, gens.kind, supply.profile[:-1], demand[:-1], th)
    served = sum(v for k, v in mix.items() if k != "unserved")
    # the season's expectation: the same fleet at the month's observed factors, same load
    calm = override(scenario, {"stress.forced_outages": False, "stress.trip_largest_at": None, "stress.low_wind_evening": False})
    exp_prof = np.array(supply.profile, dtype=np.float64)
    sun = solar_profile(calm)
    clear_year = _clear_sky_year()
    for t in registry():
        sel = gens.type_code == TYPE_CODES[t.name]
        if not sel.any():
            continue
        cap = gens.nameplate_mw[sel]
        if t.output in ("wind_land", "wind_offshore"):
            exp_prof[:, sel] = wind_mean(calm, t.name) * cap[None, :]
        elif t.output == "solar":
            exp_prof[:, sel] = sun[:, None] * (1 - calm.weather.cloudiness) * cap[None, :]
        elif t.output == "hydro":
            exp_prof[:, sel] = hydro_factor(month) * cap[None, :]
        elif t.kind == 0:
            exp_prof[:, sel] = gens.min_mw[sel][None, :]
        elif t.name == "imports" and scenario.stress.heat_wave:
            exp_prof[:, sel] = data.stress()["heat_wave_imports_factor"] * cap[None, :]
        else:
            exp_prof[:, sel] = cap[None, :]
    exp_mix = energy_by_type(gens.type_code, gens.kind, exp_prof[:-1], demand[:-1], th)
    exp_served = sum(v for k, v in exp_mix.items() if k != "unserved")
    for t in registry():
        if by[t.name][0] == 0:
            continue
        got, want = mix[t.name] / served, exp_mix[t.name] / exp_served
        tol = max(0.05, 0.3 * want)
        rows.append(Check.range(f"energy share {t.name}", got, max(0.0, want - tol), want + tol,
                                f"the fleet at {s.date:%B}'s observed factors (data/output_factors.csv), merit order", "{:.1%}"))
    renew = sum(mix[t.name] for t in registry() if t.renewable) / max(served - mix.get("imports", 0.0), 1e-9)
    rows.append(Check("renewable share of in-state generation", f"{renew:.1%}", "70 % by 2030 (a yearly target)", "CLCPA", "INFO"))
    rows.append(Check("unserved by the merit order, MWh", f"{mix['unserved']:,.1f}", "(stress)", "the day's stresses", "INFO"))

    # peak, its hour, min/peak
    sea = season(s.date)
    weekday = bool(tl.weekday[int(np.argmax(demand))])
    peak = season_peak_mw(scenario) * demand_uplift(scenario) * scale
    rows.append(Check.range("peak load, MW (scale 1.0)", demand.max() / scale, 0.97 * peak / scale, 1.03 * peak / scale,
                            f"Gold Book {sea} peak" + (" x the heat wave's uplift" if demand_uplift(scenario) != 1 else "")
                            + ("" if weekday else " (weekend: ~0.81 x in summer, 0.96 x in winter)"), "{:,.0f}"))
    if s.duration_hours in (None, 24.0) and s.ticks is None:
        hour = tl.local_hour[int(np.argmax(demand))]
        lo, hi = {"summer": (15.0, 19.0), "winter": (17.0, 19.0)}.get(sea, (15.0, 20.0))
        rows.append(Check.range("peak hour (local)", hour, lo, hi, "NYH 2021: summer peak 17:00, winter 18:00", "{:.2f}"))
        mp = demand.min() / demand.max()
        rng = {("summer", True): (0.55, 0.70), ("summer", False): (0.65, 0.80), ("winter", True): (0.70, 0.80),
               ("winter", False): (0.70, 0.80)}.get((sea, weekday), (0.55, 0.80))
        rows.append(Check.range(f"min/peak ({sea} {'weekday' if weekday else 'weekend'})", mp, *rng,
                                "NYH 2021: summer peak day 0.62, July weekday 0.66, weekend 0.73; winter peak day 0.75"))

    # wind: the model over seeded days (stress-free), and this day
    model = calm
    for t in registry():
        if t.output not in ("wind_land", "wind_offshore") or by[t.name][0] == 0:
            continue
        st = _wind_stats(model, t.name, days)
        if st is None:
            continue
        cf, _, p99, sd = st
        mu = data.output_factor(t.name, month)
        if t.output == "wind_land":
            lo, hi = (0.08, 0.30) if month == 7 else (0.6 * mu, 1.6 * mu)
            rows.append(Check.range(f"{t.name} capacity factor, {s.date:%B} ({days} seeded days)", cf, lo, hi,
                                    "NYH: July 14.2 % (2019), ~12 % (2021); annual 21.7-25.7 %"))
            rows.append(Check.range(f"{t.name} one-hour change p99, share of capacity", p99, 0.08, 0.20, "NYH 2019 fleet: p99 12.7 %", "{:.1%}"))
            rows.append(Check.range(f"{t.name} one-hour change std, share of capacity", sd, 0.02, 0.065, "NYH 2019 fleet: std 3.9 %", "{:.1%}"))
        else:
            rows.append(Check.range(f"{t.name} capacity factor, {s.date:%B} ({days} seeded days)", cf, 0.5 * mu, 1.5 * mu,
                                    "US East Coast estimates 40-50 % a year, July-August weakest (data/output_factors.csv)"))
        sel = gens.type_code == TYPE_CODES[t.name]
        day_cf = supply.profile[:, sel].sum() / (gens.nameplate_mw[sel].sum() * len(supply.profile))
        rows.append(Check(f"{t.name} capacity factor, this day (with its stresses)", f"{day_cf:.3f}", f"month mean {mu:.3f}", "data/output_factors.csv", "INFO"))

    # solar
    sun_cols = np.isin(gens.type_code, [TYPE_CODES[t.name] for t in registry() if t.output == "solar"])
    if sun_cols.any():
        el = solar_elevation(tl.day_of_year, tl.utc_hour)
        dark = supply.profile[el <= 0][:, sun_cols].sum(axis=1)
        rows.append(Check.range("solar output while the sun is down, MW", float(dark.max()) if len(dark) else 0.0, 0.0, 0.0,
                                "the sun's path (NOAA solar position)", "{:,.3f}"))
        day_cf = supply.profile[:, sun_cols].sum() / (gens.nameplate_mw[sun_cols].sum() * len(supply.profile))
        ratio = float(sun.mean()) / clear_year
        rows.append(Check.range(f"solar capacity factor, this day ({s.date:%B})", day_cf, 0.6 * 0.165 * ratio, 1.4 * 0.217 * ratio,
                                f"utility PV 16.5-21.7 % a year (2023) x {s.date:%B}'s clear-sky ratio {ratio:.2f}, +-40 % for one day's clouds"))

    # nuclear and hydro at observed factors (stress-free)
    free = SupplyModel(gens, calm, StreamRepo(scenario.seed))
    for tname, want, src in (("nuclear", data.output_factor("nuclear", month) if scenario.generation.nuclear_factor is None else scenario.generation.nuclear_factor,
                          "NYH/EIA: 98 % in July 2021, 92.9 % a year"),
                         ("hydroelectric", hydro_factor(month), "EIA monthly mean generation / 4,247 MW")):
        sel = gens.type_code == TYPE_CODES[tname]
        if sel.any():
            f = free.profile[:, sel].sum() / (gens.nameplate_mw[sel].sum() * len(free.profile))
            tol = 0.03 if tname == "nuclear" else 0.25
            rows.append(Check.range(f"{tname} output factor (stress-free)", f, want - tol, want + tol, src))
    return rows


def _clear_sky_year() -> float:
    """The year's mean clear-sky PV fraction over New York at the default pv_performance."""
    from scowl.model.solar import pv_fraction, solar_elevation

    doy = np.repeat(np.arange(1, 366), 48)
    hour = np.tile(np.arange(0, 24, 0.5), 365)
    return float(pv_fraction(solar_elevation(doy, hour), 1.2).mean())


def render(sc, rows: list[Check]) -> str:
    s = sc.scenario
    head = (f"scowl validate {sc.source}: {s.date} ({s.mix_year} fleet, {sc.generation.fleet_method} method), scale {s.scale:g}, "
            f"seed {sc.seed}; stresses: {', '.join(k for k, v in sc.to_dict().get('stress', {}).items() if v) or 'none'}")
    w = [max(len(getattr(r, f)) for r in rows) for f in ("check", "value", "expected")]
    lines = [head, "", f"{'check':<{w[0]}}  {'value':>{w[1]}}  {'expected':<{w[2]}}  result  source"]
    for r in rows:
        lines.append(f"{r.check:<{w[0]}}  {r.value:>{w[1]}}  {r.expected:<{w[2]}}  {r.result:<6}  {r.source}")
    n_fail = sum(r.result == "FAIL" for r in rows)
    n_pass = sum(r.result == "PASS" for r in rows)
    lines += ["", f"{n_pass} passed, {n_fail} failed, {sum(r.result == 'INFO' for r in rows)} for information"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from scowl.commands._scenario import scenario_of

    if args.config is None:
        args.config = "ny2030"
    sc = scenario_of(args)
    if args.scale is not None:
        sc = override(sc, {"scenario.scale": args.scale})
    rows = validate(sc, days=max(1, args.days))
    if args.json:
        print(json.dumps({"scenario": sc.source, "scale": sc.scenario.scale, "rows": [asdict(r) for r in rows],
                          "passed": sum(r.result == "PASS" for r in rows), "failed": sum(r.result == "FAIL" for r in rows)}))
    else:
        print(render(sc, rows))
    return 1 if any(r.result == "FAIL" for r in rows) else 0
