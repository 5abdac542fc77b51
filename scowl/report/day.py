"""Questions a day run answers: peers rebalanced and the rate (1, without a sweep), average
starvation (4), and whether demand above supply blacked out (5). Numbers are recomputed from the
state log where it holds them; the rest come from summary.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scowl.analysis.results import SUPPLY_ROLES
from scowl.report import figures
from scowl.report.answer import Answer, Figure, unanswered
from scowl.report.inputs import DayRun
from scowl.report.repro import day_command
from scowl.report.seeds import Loaded, count, figures_of, interval_detail, pm


def rebalance_figures(run: DayRun, state, series=None) -> dict:
    tr = state[state["role"] == "tracker"]
    round_s = tr["round_s"].to_numpy(float)
    trackers = max(1, int(run.summary["peers"].get("trackers", 1)))
    return {"run": run.label, "dir": str(run.path), "trackers": trackers, "consumers": int(run.summary["peers"]["consumers"]),
            "consumers_per_tracker": run.summary["peers"]["consumers"] / trackers,
            "rounds": int(len(round_s)),
            "rate_hz_mean": float(1.0 / round_s.mean()) if len(round_s) else 0.0,
            "rate_hz_p5": float(1.0 / np.percentile(round_s, 95)) if len(round_s) else 0.0,
            "peers_rebalanced": int(tr["moved"].sum()),
            "peers_rebalanced_per_s": float(tr["moved"].sum() / round_s.sum()) if round_s.sum() > 0 else 0.0}


def _with_intervals(details: list[str], per: list[dict]) -> list[str]:
    """Each run's detail line, followed for a seed set by its figures' 95 % intervals."""
    out = []
    for d, p in zip(details, per):
        out.append(d)
        line = interval_detail(p)
        if line:
            out.append(line)
    return out


def q1_days(days: list[DayRun], loaded: Loaded, out: Path, seeds: dict | None = None) -> Answer:
    if not days:
        return unanswered(1, "no day run and no sweep given: the rate comes from a run's tracker rounds")
    per = [figures_of(r, loaded, rebalance_figures) for r in days]
    h = per[0]
    fig = figures.rounds_plot({r.label: loaded[r.label] for r in days}, out / "q1-rounds.png", seeds)
    return Answer(1, headline=(f"{h['trackers']:,.0f} tracker(s) held {h['consumers_per_tracker']:,.0f} consumers each and rebalanced "
                               f"at {pm(h, 'rate_hz_mean')} Hz mean ({pm(h, 'rate_hz_p5')} Hz p5) over {h['rounds']:,.0f} rounds, "
                               f"moving {pm(h, 'peers_rebalanced', ',.0f')} consumers between trees ({h['run']}); one scale only: "
                               f"give a sweep for the rate against the number of peers"),
                  details=_with_intervals([
                      f"{p['run']}: {p['consumers']:,.0f} consumers on {p['trackers']:,.0f} tracker(s), {p['rate_hz_mean']:,.1f} Hz mean, "
                      f"{p['rate_hz_p5']:,.1f} Hz p5, {p['peers_rebalanced']:,.0f} moved ({p['peers_rebalanced_per_s']:,.0f} per second of "
                      "round time)" for p in per], per),
                  figures=[Figure(fig, "1 / round time of every tracker round (state log, tracker rows)", day_command(days[0]))],
                  sources=[str(r.path) for r in days], values={"runs": per})


def starvation_figures(run: DayRun, state, series) -> dict:
    pop = state[state["role"] == "consumer"]
    consumers = int(run.summary["peers"]["consumers"])
    tick_s = float(run.summary["tick_seconds"])
    ticks_starved = int(pop["starved"].sum())
    st = run.summary["starvation"]
    return {"run": run.label, "dir": str(run.path), "consumers": consumers, "consumer_ticks_starved": ticks_starved,
            "mean_starved_s_all_consumers": ticks_starved * tick_s / consumers if consumers else 0.0,
            "consumers_starved": int(st["consumers_starved"]),
            "mean_starved_s": float(st["mean_starved_s"]), "longest_spell_s": float(st["longest_spell_s"]),
            "peak_starved_mw": float(series["starved_mw"].max()),
            "starved_mwh": float(series["starved_mw"].sum() * tick_s / 3600),
            "unserved_mwh": float(run.summary.get("energy_mwh", {}).get("unserved", 0.0))}


def q4(days: list[DayRun], loaded: Loaded, out: Path, seeds: dict | None = None) -> Answer:
    if not days:
        return unanswered(4, "no day run given: starvation is measured by a day run (scowl run CONFIG --out DIR)")
    per = [figures_of(r, loaded, starvation_figures) for r in days]
    h = per[0]
    fig = figures.starvation_plot({r.label: loaded[r.label] for r in days}, out / "q4-starvation.png", seeds)
    minutes = dict(h, mean_starved_min=h["mean_starved_s"] / 60,
                   intervals={k.replace("mean_starved_s", "mean_starved_min"): {f: (x / 60 if f in ("mean", "low", "high") and x is not None
                                                                                   else x) for f, x in v.items()}
                              for k, v in h.get("intervals", {}).items() if k == "mean_starved_s"})
    return Answer(4, headline=(f"{pm(minutes, 'mean_starved_min')} min on average per starved consumer "
                               f"({pm(h, 'consumers_starved', ',.0f')} of {h['consumers']:,.0f} consumers ever starved); averaged over "
                               f"every consumer {pm(h, 'mean_starved_s_all_consumers')} s ({h['run']})"),
                  details=_with_intervals([
                      f"{p['run']}: {p['consumers_starved']:,.0f} starved, mean {p['mean_starved_s']:,.0f} s each, longest spell "
                      f"{p['longest_spell_s']:,.0f} s; {p['consumer_ticks_starved']:,.0f} consumer-ticks starved = "
                      f"{p['mean_starved_s_all_consumers']:,.1f} s per consumer; peak {p['peak_starved_mw']:,.2f} MW starved, "
                      f"{p['starved_mwh']:,.2f} MWh in all" for p in per], per),
                  figures=[Figure(fig, "consumers starved and starved MW per tick (state log, consumer rows)", day_command(days[0]))],
                  sources=[str(r.path) for r in days], values={"runs": per})


def deficit_figures(run: DayRun, state, series) -> dict:
    over = (series["demand_mw"] > series["available_mw"]).to_numpy()
    bo = figures.per_tick(state, SUPPLY_ROLES, "blacked_out", series["tick"]).to_numpy()
    return {"run": run.label, "dir": str(run.path), "partitioned": run.partitioned, "ticks": int(len(series)),
            "demand_above_supply_ticks": int(over.sum()),
            "blackout_generator_ticks_when_short": int(bo[over].sum()),
            "blackout_generator_ticks_otherwise": int(bo[~over].sum()),
            "short_ticks_with_blackout": int((over & (bo > 0)).sum()),
            "blackout_events": int(run.summary["blackouts"]["events"]),
            "consumers_affected": int(run.summary["blackouts"].get("consumers_affected", 0)),
            "served_mwh": float(run.summary.get("energy_mwh", {}).get("served", 0.0)),
            "peak_shortfall_mw": float((series["demand_mw"] - series["available_mw"]).max())}


def _verdict(p: dict) -> str:
    kind = "partitioned" if p["partitioned"] else "healthy"
    if not p["demand_above_supply_ticks"]:
        return f"{p['run']} ({kind}): demand never above supply"
    yes = p["short_ticks_with_blackout"] > 0
    return (f"{p['run']} ({kind}): {'yes' if yes else 'no'}: demand above supply in {count(p, 'demand_above_supply_ticks')} of "
            f"{count(p, 'ticks')} ticks (peak shortfall {p['peak_shortfall_mw']:,.1f} MW), blackouts in {count(p, 'short_ticks_with_blackout')} "
            f"of them ({count(p, 'blackout_generator_ticks_when_short')} generator-ticks; "
            f"{count(p, 'blackout_generator_ticks_otherwise')} in the other ticks; {count(p, 'blackout_events')} events in the run)")


def q5(days: list[DayRun], loaded: Loaded, out: Path, seeds: dict | None = None) -> Answer:
    if not days:
        return unanswered(5, "no day run given: blackouts are measured by a day run (scowl run CONFIG --out DIR)")
    per = [figures_of(r, loaded, deficit_figures) for r in days]
    fig = Figure(figures.supply_plot({r.label: loaded[r.label] for r in days}, out / "q5-supply.png", seeds),
                 "demand and available supply (day_series), ticks with demand above supply shaded, blacked-out generators as bars",
                 "; ".join(day_command(r) for r in days))
    short = [p for p in per if p["demand_above_supply_ticks"]]
    common: dict[str, Any] = dict(details=_with_intervals([_verdict(p) for p in per], per), figures=[fig], sources=[str(r.path) for r in days], values={"runs": per})
    if not short:
        return unanswered(5, "demand never exceeded available supply in the given day runs "
                          f"(largest shortfall {max(p['peak_shortfall_mw'] for p in per):,.1f} MW): give a run of a day "
                          "that is short of supply", **common)
    return Answer(5, headline="; ".join(_short_verdict(p) for p in short), **common)


def _short_verdict(p: dict) -> str:
    kind = "with the network partitioned" if p["partitioned"] else "with the trackers up"
    n = p["short_ticks_with_blackout"]
    return (f"{'yes' if n else 'no'} {kind} ({p['run']}): demand above supply in {count(p, 'demand_above_supply_ticks')} of {count(p, 'ticks')} "
            f"ticks, " + (f"generators blacked out in {count(p, 'short_ticks_with_blackout')} of them" if n else "no blackout in any of them"))
