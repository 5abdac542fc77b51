"""A grid run on hosts, read per host: which side of a partition warned, deferred, starved or
blacked out, what the tracker round trips were, and how long the trees took to re-converge
after each heal (in ticks, and in wall seconds from the ticks the fault gate saw).

    host_figures("runs/x")    # {"h2": {"capacity_low_sent": 0, "deferred_mwh": 0.0, ...}, ...}
    reconvergence("runs/x")   # [{"heal_tick": 12, "reconverged_tick": 14, "ticks": 2, "seconds": 1.9}]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from scowl.analysis.results import load_run
from scowl.plan import RunPlan


def host_figures(run_dir: str | Path) -> dict[str, dict[str, float]]:
    """Per host: whole-run sums over the actors it ran (finals.json and the state log)."""
    run_dir = Path(run_dir)
    state, finals, _ = load_run(run_dir)
    plan = RunPlan.load(run_dir / "plan.json")
    out: dict[str, dict[str, Any]] = {}
    for actor, f in sorted(finals.items()):
        host = plan.hosts.get(actor, "?")
        h = out.setdefault(host, {"actors": 0, "capacity_low_sent": 0, "sog_generator_ticks": 0, "blackout_generator_ticks": 0,
                                  "deferred_mwh": 0.0, "dr_events": 0, "self_optimizing_consumer_ticks": 0, "consumer_ticks_starved": 0,
                                  "served_mwh": 0.0, "tracker_rtt_ms_p50": []})
        h["actors"] += 1
        rows = state[state["actor"] == actor]
        if f["role"] == "generator":
            h["capacity_low_sent"] += int(f.get("capacity_low_sent", 0))
            h["blackout_generator_ticks"] += int(f.get("blackout_generator_ticks", 0))
            h["sog_generator_ticks"] += int(rows["sog"].sum())
        elif f["role"] == "consumer":
            h["deferred_mwh"] += float(f.get("deferred_mwh", 0.0))
            h["dr_events"] += int(f.get("dr_events", 0))
            h["self_optimizing_consumer_ticks"] += int(rows["self_optimizing"].sum())
            h["consumer_ticks_starved"] += int(rows["starved"].sum())
            h["served_mwh"] += float(rows["served_mw"].sum() * plan.scenario().tick_seconds / 3600.0)
        if "tracker_rtt_ms_p50" in f:
            h["tracker_rtt_ms_p50"].append(f["tracker_rtt_ms_p50"])
    for h in out.values():
        rtts = h.pop("tracker_rtt_ms_p50")
        if rtts:
            h["tracker_rtt_ms_p50"] = float(np.median(rtts))
    return out


def reconvergence(run_dir: str | Path) -> list[dict]:
    """For each heal: the first tick from then on at which every tracker hears every peer and no
    generator or consumer is self-optimizing any more (the trackers steer every tree again)."""
    run_dir = Path(run_dir)
    state, _, _ = load_run(run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    wall = {int(t): s for t, s in info.get("tick_wall_s", {}).items()}
    by_tick = {
        "missing": state[state["role"] == "tracker"].groupby("tick")["missing_peers"].sum(),
        "sog": state[state["role"] == "generator"].groupby("tick")["sog"].sum(),
        "self_optimizing": state[state["role"] == "consumer"].groupby("tick")["self_optimizing"].sum(),
    }
    calm = sorted(set.intersection(*(set(s.index[s == 0]) for s in by_tick.values())))
    out = []
    for event in info["fault_events"]:
        if event["action"] != "heal" or "tick" not in event:
            continue
        heal = int(event["tick"])
        after = [t for t in calm if t >= heal]
        tick = after[0] if after else None
        out.append({"heal_tick": heal, "reconverged_tick": tick, "ticks": None if tick is None else tick - heal,
                    "seconds": None if tick is None or tick not in wall or heal not in wall else wall[tick] - wall[heal]})
    return out
