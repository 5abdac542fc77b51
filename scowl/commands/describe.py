"""`scowl describe [CONFIG] [--json] [--png PATH]`: the instantiated grid of a scenario.

Prints generators by type (count, nameplate MW, kind), consumers by type, storage, the peak
demand, the capacity margin and where the day is tightest and why (the stresses in play, what is
out, what wind and sun give then); writes a PNG of the day (available supply by type, stacked,
against demand). Every type of the registry (data/generator_types.csv) is shown: none is dropped. Demand is stepped over the real population up to 1,000,000 consumers, above that
the analytic expectation is used (the same shape; the JSON says which).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from scowl.commands._scenario import add_scenario_arguments, scenario_of

_STEP_LIMIT = 1_000_000



def _stack():
    """(type, colour) bottom to top for the PNG: fixed and weather-driven first, dispatchable on
    top; every registry type, colours from data/generator_types.csv."""
    from scowl.model.types import CONTINUOUS, registry

    return tuple((t.name, t.colour) for t in sorted(registry(), key=lambda t: (t.kind == CONTINUOUS, t.code)))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("describe", help="print the instantiated grid of a scenario and plot its day")
    add_scenario_arguments(p, optional=True)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--png", metavar="PATH", default=None,
                   help="write the day's supply-by-type vs demand plot here (default: <name>-day.png; with --json only when given)")
    p.add_argument("--no-png", action="store_true", help="do not write the PNG")
    p.set_defaults(func=run)


def describe(scenario) -> dict:
    """The description of a scenario's grid and day as plain data."""
    from scowl.model import (
        KIND_NAMES,
        TYPE_NAMES,
        build_grid,
        demand_shares,
        expected_demand_mw,
        plugin_availability,
        timeline,
    )

    grid = build_grid(scenario)
    tl = timeline(scenario)
    gens = grid.generators
    supply = grid.supply()
    n = len(grid.consumers)
    if n <= _STEP_LIMIT:
        dm = grid.demand()
        consumer_mw = np.array([dm.step(t).sum(dtype=np.float64) / 1000.0 for t in range(scenario.ticks + 1)])
        demand = consumer_mw + grid.fixed_loads.total_mw
        source = "stepped population"
        bpc = grid.bytes_per_consumer(dm)
    else:
        demand = expected_demand_mw(scenario)["total"]
        source = "analytic expectation"
        bpc = grid.bytes_per_consumer()
    by_type_avail = {}
    for code, t in enumerate(TYPE_NAMES):
        sel = gens.type_code == code
        by_type_avail[t] = supply.profile[:, sel].sum(axis=1)
    avail_total = supply.profile.sum(axis=1)
    peak_tick = int(np.argmax(demand))
    nameplate = float(gens.nameplate_mw.sum())
    peak = float(demand[peak_tick])
    counts = grid.consumers.counts()
    kinds = {}
    for code, t in enumerate(TYPE_NAMES):
        sel = gens.type_code == code
        if sel.any():
            kinds[t] = KIND_NAMES[int(gens.kind[sel][0])]
    hours = tl.local_hour
    return {
        "tightest": tightest(scenario, grid, supply, demand),
        "scenario": {"name": scenario.scenario.name, "source": scenario.source, "date": scenario.scenario.date.isoformat(),
                     "start": scenario.scenario.start, "ticks": scenario.ticks, "tick_seconds": scenario.tick_seconds,
                     "seed": scenario.seed, "mix_year": scenario.scenario.mix_year, "scale": scenario.scenario.scale,
                     "fleet_method": scenario.generation.fleet_method,
                     "stress": {k: v for k, v in scenario.to_dict().get("stress", {}).items() if v}},
        "generators": {
            "count": len(gens),
            "nameplate_mw": nameplate,
            "by_type": {t: {"count": c, "mw": mw, "kind": kinds.get(t), "home_systems": int(gens.home_systems[gens.type_code == code].sum())}
                        for code, (t, (c, mw)) in enumerate(gens.by_type().items()) if c > 0},
        },
        "consumers": {"count": n, "by_type": counts, "bytes_per_consumer": bpc,
                      "fixed_loads_mw": {"industrial": grid.fixed_loads.industrial_mw, "transportation": grid.fixed_loads.transportation_mw}},
        "demand_shares": demand_shares(scenario).as_dict(),
        "storage": {"evs": len(grid.storage), "battery_kwh": grid.storage.capacity_kwh, "storage_mwh": grid.storage.storage_mwh,
                    "charge_kw": grid.storage.rate_kw,
                    "plugged_in_at_peak": float(plugin_availability(scenario, hours[peak_tick])),
                    "plugged_in_min": float(plugin_availability(scenario, np.arange(0, 24, 0.25)).min())},
        "demand": {"source": source, "peak_mw": peak, "peak_tick": peak_tick, "peak_time": f"{_hhmm(hours[peak_tick])}",
                   "min_mw": float(demand.min())},
        "supply_at_peak_mw": {"available": float(avail_total[peak_tick]),
                              "by_type": {t: float(v[peak_tick]) for t, v in by_type_avail.items() if v.any()}},
        "capacity_margin": {"nameplate_minus_peak_mw": nameplate - peak, "nameplate_margin": (nameplate - peak) / peak,
                            "available_minus_peak_mw": float(avail_total[peak_tick]) - peak,
                            "min_available_minus_demand_mw": float((avail_total - demand).min()),
                            "min_margin_time": _hhmm(hours[int(np.argmin(avail_total - demand))])},
        "solar": {"first_light": _first(hours, by_type_avail, True), "last_light": _first(hours, by_type_avail, False)},
        "zones": zone_balance(scenario, grid, supply, demand, peak_tick),
        "series": {"hour": hours.tolist(), "demand_mw": demand.tolist(),
                   "available_by_type_mw": {t: v.tolist() for t, v in by_type_avail.items() if v.any()}},
    }


def tightest(scenario, grid, supply, demand) -> dict:
    """Where demand comes closest to (or past) what the available generation can give at the
    safety threshold, and the physical reasons in play at that tick."""
    from scowl.model import TYPE_CODES, timeline
    from scowl.model.demand import season, season_peak_mw
    from scowl.model.generation import wind_mean
    from scowl.model.solar import solar_elevation
    from scowl.model.stress import demand_uplift, trip_tick
    from scowl.model.types import registry

    tl = timeline(scenario)
    thr = scenario.scenario.safety_threshold
    avail = supply.profile.sum(axis=1)
    usable = (1.0 - thr) * avail
    gap = usable - demand
    k = int(np.argmin(gap))
    gens = grid.generators
    reasons = []
    up = demand_uplift(scenario)
    if up != 1.0:
        from scowl.model import data

        imp = gens.type_code == TYPE_CODES["imports"]
        reasons.append(f"heat wave: load x {up:.2f} ({demand[k] * (1 - 1 / up):,.0f} MW of this tick's demand); imports at "
                       f"{data.stress()['heat_wave_imports_factor']:.0%} of their {gens.nameplate_mw[imp].sum():,.0f} MW (the neighbours at their peak)")
    reasons.append(f"{season(scenario.scenario.date)} {'weekday' if tl.weekday[k] else 'weekend'} load shape at "
                   f"{_hhmm(tl.local_hour[k])}, scaled to a {season_peak_mw(scenario) * scenario.scenario.scale:,.0f} MW peak")
    if scenario.stress.retirements:
        from scowl.model.fleet import capacity_units

        retired = sum(u.retired_mw for u in capacity_units(scenario).values())
        reasons.append(f"2030 retirements: {retired:,.0f} MW of combustion-turbine and internal-combustion peakers gone")
    out = supply.out_from <= k
    if out.any():
        names = [gens.name[i] for i in np.flatnonzero(out)]
        tt = trip_tick(scenario)
        tripped = [gens.name[i] for i in np.flatnonzero(supply.out_from == tt)] if tt is not None and tt <= k else []
        reasons.append(f"{int(out.sum())} units out ({gens.nameplate_mw[out].sum():,.0f} MW): " + ", ".join(names[:8])
                       + (" ..." if len(names) > 8 else "") + (f"; {', '.join(tripped)} tripped at {scenario.stress.trip_largest_at}" if tripped else ""))
    for t in registry():
        if t.output not in ("wind_land", "wind_offshore"):
            continue
        sel = gens.type_code == TYPE_CODES[t.name]
        cap = gens.nameplate_mw[sel].sum()
        if cap > 0:
            cf = supply.profile[k, sel].sum() / cap
            reasons.append(f"{t.name}: {supply.profile[k, sel].sum():,.0f} MW of {cap:,.0f} MW (capacity factor {cf:.2f}; "
                           f"the month's mean {wind_mean(scenario, t.name):.2f}{', calm evening' if scenario.stress.low_wind_evening else ''})")
    sun = np.isin(gens.type_code, [TYPE_CODES[t.name] for t in registry() if t.output == "solar"])
    if gens.nameplate_mw[sun].sum() > 0:
        from scowl.model.generation import solar_profile

        el = float(solar_elevation(tl.day_of_year[k:k + 1], tl.utc_hour[k:k + 1])[0])
        clear = float(solar_profile(scenario)[k] * gens.nameplate_mw[sun].sum())
        got = float(supply.profile[k, sun].sum())
        reasons.append(f"solar: {got:,.0f} MW of {gens.nameplate_mw[sun].sum():,.0f} MW (sun {el:.0f} degrees up"
                       + (f"; clear sky would give {clear:,.0f} MW, clouds take {1 - got / clear:.0%})" if clear > 0 else ", dark)"))
    return {"tick": k, "time": _hhmm(tl.local_hour[k]), "demand_mw": float(demand[k]), "available_mw": float(avail[k]),
            "usable_mw": float(usable[k]), "margin_mw": float(gap[k]), "safety_threshold": thr,
            "ticks_short": int((gap < 0).sum()), "reasons": reasons, "assumed": assumed_sizes(scenario)}


def assumed_sizes(scenario) -> list[str]:
    """The sizes of the day's stresses that are assumptions, not rows of the facts (each data
    file's header says why that value and how much the day's stress moves with it)."""
    from scowl.model import data

    st, out = data.stress(), []
    if scenario.stress.heat_wave:
        out.append(f"heat wave +{st['heat_wave_uplift']:.0%} (NYISO 90/10) and imports at {st['heat_wave_imports_factor']:.0%} (data/stress.csv)")
    if scenario.stress.forced_outages:
        out.append("forced outage rates, NERC GADS class averages (data/outage_rates.csv)")
    if scenario.stress.low_wind_evening:
        out.append(f"calm evening: wind x {st['low_wind_factor']:.2f} (data/stress.csv)")
    return out


def _hhmm(h: float) -> str:
    m = int(round(h * 60)) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def zone_balance(scenario, grid, supply, demand, tick: int) -> dict:
    """At `tick`: load and available generation by NYISO zone, and what must cross each
    interface (a transport estimate; the trackers do not enforce the limits)."""
    from scowl.model.zones import ZONES, interface_flows, over_limits, zone_shares

    load = demand[tick] * zone_shares()
    sup = np.bincount(grid.generators.zone, weights=supply.profile[tick], minlength=len(ZONES))
    flows = interface_flows(load, sup / max(scenario.scenario.scale, 1e-12) * scenario.scenario.scale)
    from scowl.model.zones import consumer_zones

    counts = np.bincount(consumer_zones(grid.consumers.index, scenario.seed), minlength=len(ZONES)) if len(grid.consumers) else np.zeros(len(ZONES))
    return {"tick": tick, "consumers": dict(zip(ZONES, counts.astype(int).tolist())),
            "generators": dict(zip(ZONES, np.bincount(grid.generators.zone, minlength=len(ZONES)).astype(int).tolist())),
            "load_mw": dict(zip(ZONES, load.round(1).tolist())), "available_mw": dict(zip(ZONES, sup.round(1).tolist())),
            "interface_flow_mw": flows, "over_limit": {k: list(v) for k, v in over_limits(
                {k: v / max(scenario.scenario.scale, 1e-12) for k, v in flows.items()}).items()},
            "note": "limits are at scale 1.0: flows are compared after dividing by the scale"}


def _first(hours, by_type, first: bool):
    from scowl.model.types import registry

    sun = sum(by_type[t.name] for t in registry() if t.output == "solar")
    lit = np.flatnonzero(sun > 0)
    if len(lit) == 0:
        return None
    return _hhmm(hours[lit[0] if first else lit[-1]])


def render(d: dict) -> str:
    s = d["scenario"]
    lines = [f"scenario {s['name']} ({s['source']}): {s['date']} from {s['start']}, {s['ticks']} ticks of {s['tick_seconds']} s, "
             f"mix {s['mix_year']}, scale {s['scale']:g}, seed {s['seed']}", ""]
    g = d["generators"]
    lines.append(f"{'generators by type':<24}{'kind':>12}{'count':>8}{'MW':>12}{'share':>8}")
    for t, v in g["by_type"].items():
        extra = f"  ({v['home_systems']:,} home systems of 6.25 kW)" if v["home_systems"] else ""
        lines.append(f"{t:<24}{v['kind']:>12}{v['count']:>8,}{v['mw']:>12,.1f}{v['mw'] / g['nameplate_mw']:>8.1%}{extra}")
    lines.append(f"{'total':<24}{'':>12}{g['count']:>8,}{g['nameplate_mw']:>12,.1f}")
    lines.append("")
    c = d["consumers"]
    lines.append(f"{'consumers by type':<24}{'count':>12}")
    for t, v in c["by_type"].items():
        lines.append(f"{t:<24}{v:>12,}")
    lines.append(f"{'total':<24}{c['count']:>12,}   ({c['bytes_per_consumer']:.1f} bytes of model state per consumer)")
    for t, mw in c["fixed_loads_mw"].items():
        lines.append(f"{t + ' (fixed load)':<24}{mw:>12,.1f} MW")
    lines.append("")
    st = d["storage"]
    lines.append(f"storage: {st['evs']:,} EVs x {st['battery_kwh']:g} kWh = {st['storage_mwh']:,.1f} MWh, charging at {st['charge_kw']:g} kW; "
                 f"{st['plugged_in_at_peak']:.0%} plugged in at the peak, {st['plugged_in_min']:.0%} at the midday low")
    dm, m, sp = d["demand"], d["capacity_margin"], d["supply_at_peak_mw"]
    lines.append(f"peak demand: {dm['peak_mw']:,.1f} MW at {dm['peak_time']} (tick {dm['peak_tick']}, {dm['source']}); minimum {dm['min_mw']:,.1f} MW")
    lines.append(f"capacity margin: nameplate {g['nameplate_mw']:,.1f} MW - peak = {m['nameplate_minus_peak_mw']:,.1f} MW ({m['nameplate_margin']:.1%}); "
                 f"available at the peak {sp['available']:,.1f} MW ({m['available_minus_peak_mw']:+,.1f} MW); "
                 f"tightest {m['min_available_minus_demand_mw']:+,.1f} MW at {m['min_margin_time']}")
    lines.append(f"solar: first output at {d['solar']['first_light']}, last at {d['solar']['last_light']} (local time)")
    ti = d["tightest"]
    stress = ", ".join(s["stress"]) or "none"
    lines.append(f"tightest at {ti['time']} (tick {ti['tick']}): demand {ti['demand_mw']:,.1f} MW vs {ti['usable_mw']:,.1f} MW usable "
                 f"({1 - ti['safety_threshold']:.0%} of {ti['available_mw']:,.1f} MW available): margin {ti['margin_mw']:+,.1f} MW; "
                 f"{ti['ticks_short']} ticks with demand above usable supply; stresses: {stress}; fleet: {s['fleet_method']}")
    for r in ti["reasons"]:
        lines.append(f"  - {r}")
    if ti.get("assumed"):
        lines.append("  assumed, not in the facts (why, and the sensitivity: the data files' headers): " + "; ".join(ti["assumed"]))
    z = d["zones"]
    lines.append("zones at the peak (consumers / generators / load MW / available MW): " + "; ".join(
        f"{k} {z['consumers'][k]:,}/{z['generators'][k]}/{z['load_mw'][k]:,.0f}/{z['available_mw'][k]:,.0f}" for k in z["load_mw"]))
    if z["over_limit"]:
        lines.append("interfaces over their limit at the peak (transport estimate; the trackers enforce the limits with [trackers] transfer_limits = true): " + "; ".join(
            f"{k} {v[0]:,.0f} MW > {v[1]:,.0f} MW" for k, v in z["over_limit"].items()))
    return "\n".join(lines)


def plot(d: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    ser = d["series"]
    h = np.array(ser["hour"])
    x = np.arange(len(h)) * d["scenario"]["tick_seconds"] / 3600.0 + h[0]
    layers = [(t, col) for t, col in _stack() if t in ser["available_by_type_mw"]]
    fig = Figure(figsize=(11.5, 5), dpi=110)
    ax = fig.subplots()
    ax.stackplot(x, [ser["available_by_type_mw"][t] for t, _ in layers], labels=[t for t, _ in layers],
                 colors=[c for _, c in layers], alpha=0.85)
    ax.plot(x, ser["demand_mw"], color="tab:red", lw=2.2, label="demand")
    every = 3 if x[-1] - x[0] > 8 else 1
    ticks = np.arange(np.ceil(x[0] / every) * every, x[-1] + 0.01, every)
    ax.set_xticks(ticks, [f"{int(t) % 24:02d}:00" for t in ticks])
    s = d["scenario"]
    ax.set_title(f"{s['name']}: available supply by type (gas/petroleum at capacity) vs demand, {s['date']}, scale {s['scale']:g}")
    ax.set_xlabel("local time")
    ax.set_ylabel(f"MW (the grid at scale {s['scale']:g})" if s["scale"] != 1 else "MW")
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()  # top of the stack first, as drawn
    ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def run(args: argparse.Namespace) -> int:
    scenario = scenario_of(args)
    d = describe(scenario)
    if not args.no_png and (args.png or not args.json):  # --json alone prints, it writes no file
        png = Path(args.png) if args.png else Path(f"{scenario.scenario.name}-day.png")
        plot(d, png)
        d["png"] = str(png)
    if args.json:
        out = {k: v for k, v in d.items() if k != "series"}
        print(json.dumps(out, sort_keys=True))
    else:
        print(render(d))
        if "png" in d:
            print(f"plot: {d['png']}")
    return 0
