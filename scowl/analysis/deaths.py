"""What each peer death cost the run: a pure function of the metronome's records."""

from __future__ import annotations


def death_costs(deaths: list[dict], records: list[dict], rejoins: list[tuple[str, int, int]],
                tick_seconds: float) -> list[dict]:
    """Every death with what it cost: the ticks the peer was absent from the state log, and
    the energy the summary's books are blind to meanwhile (estimated at its last report):
    a dead population's demand is missing from `demanded` and `served`; a dead fleet's
    consumers were counted served while nobody confirmed delivering to them, until the tick
    the metronome told every peer it was dead (`told_at_tick`, None when the run ended within
    the grace): from then on they are rehomed or starved. A dead tracker's consumers stay on
    their generators, whose fleets still confirm delivery in their verdicts."""
    absent_ticks: dict[str, int] = {}
    last: dict[str, dict] = {}
    for r in records:
        if r.get("absent") == 1.0:
            absent_ticks[r["actor"]] = absent_ticks.get(r["actor"], 0) + 1
        elif r["tick"] >= last.get(r["actor"], {}).get("tick", -1):
            last[r["actor"]] = r
    rejoined = {name: back for name, _, back in rejoins}
    tick_h = tick_seconds / 3600.0
    out = []
    for d in deaths:
        n = absent_ticks.get(d["peer"], 0)
        row = last.get(d["peer"], {})
        cost: dict[str, float | None] = {"ticks_absent": n, "rejoined_at_tick": rejoined.get(d["peer"]),
                                         "told_at_tick": d.get("told_at_tick")}
        if d["role"] == "consumer":
            cost["demand_missing_mwh"] = float(row.get("demand_mw", 0.0)) * n * tick_h
        elif d["role"] in ("generator", "storage"):
            cost["delivery_unconfirmed_mwh"] = float(row.get("delivered_mw", 0.0)) * n * tick_h
        elif d["role"] == "tracker":
            cost["consumers_managed_at_death"] = int(row.get("consumers", row.get("peers", 0)) or 0)
        out.append({**d, **cost})
    return out
