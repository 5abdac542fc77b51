"""Questions a scale sweep answers: the rate against peers (1), the limiting resource (2), the
scale where it binds (3) and when to shard (6). The bound and the shard plan are recomputed from
the sweep's table (`find_bound`, `shard_plan`) with the sweep's own machine, heartbeat and target."""

from __future__ import annotations

from pathlib import Path

from scowl.analysis.bound import find_bound
from scowl.analysis.shard import shard_plan
from scowl.report import plots
from scowl.report.answer import Answer, Figure, unanswered
from scowl.report.inputs import Sweep
from scowl.report.sweep_table import sweep_table_html

NO_SWEEP = "no scale sweep given (a sweep.json directory from `scowl sweep CONFIG`): {} needs runs at several scales"


def recompute(sw: Sweep) -> tuple[dict, dict]:
    """The bound and the shard plan of a sweep, from its table alone."""
    table, meta = sw.table, sw.meta
    plain = table[~table["confirm"].astype(bool)] if "confirm" in table else table
    bound = find_bound(plain, meta["machine"]["memory_gb"] * 1024, meta.get("heartbeat_timeout_s", 2.0))
    shard = meta.get("shard", {})
    plan = shard_plan(plain, shard["target_hz"], shard["target_consumers"]) if "target_hz" in shard else {"ok": False, "why": shard.get("why", "no target recorded")}
    for key in ("confirm", "confirm_attempts"):
        if shard.get(key):
            plan[key] = shard[key]
    return bound, plan


def _series(table):
    runs = table[~table["confirm"].astype(bool)].drop_duplicates("run") if "confirm" in table else table.drop_duplicates("run")
    return runs.sort_values(["trackers", "peers"])


def q1(sw: Sweep, out: Path) -> Answer:
    runs = _series(sw.table)
    bound, _ = recompute(sw)
    fewest = runs[runs["trackers"] == runs["trackers"].min()]
    lo, hi = fewest.iloc[0], fewest.iloc[-1]
    fig = plots.rate_plot(sw.table, out / "q1-rate.png", sw.meta).name
    return Answer(1, headline=(f"one tracker's rate fell from {lo['rate_hz_mean']:,.0f} Hz at {lo['consumers_per_tracker']:,.0f} consumers "
                               f"to {hi['rate_hz_mean']:,.1f} Hz at {hi['consumers_per_tracker']:,.0f} consumers per tracker "
                               f"(rate ~ N^{bound['rate_slope_all']:.2f}); at the largest scale it moved "
                               f"{int(hi['peers_rebalanced']):,} consumers between trees"),
                  details=[f"{r.run}: {int(r.peers):,} peers, {r.trackers} tracker(s), {r.consumers_per_tracker:,.0f} consumers/tracker, "
                           f"{r.rate_hz_mean:,.1f} Hz mean, {r.rate_hz_p5:,.1f} Hz p5, {int(r.peers_rebalanced):,} moved"
                           for r in runs.itertuples()],
                  figures=[Figure(fig, "rebalance rate (mean and p5) against consumers per tracker, each tracker count; "
                                  "the fitted round cost and the shard confirmation", sw.meta["command"])],
                  sources=[str(sw.path)], values={"runs": runs[["run", "peers", "trackers", "consumers_per_tracker", "rate_hz_mean",
                                                               "rate_hz_p5", "peers_rebalanced"]].to_dict("records"),
                                                  "rate_slope": bound["rate_slope_all"]})


def q2(sw: Sweep, out: Path) -> Answer:
    bound, _ = recompute(sw)
    fig = Figure(plots.resources_plot(sw.table, out / "q2-resources.png").name,
                 "CPU per process over the ticks, peak memory, busiest link and event-loop lag against peers", sw.meta["command"])
    vals = {k: bound.get(k) for k in ("bound", "resource", "role", "utilization", "peers")}
    if not bound["bound"]:
        return Answer(2, headline=f"none reached its limit in the sweep; the closest was {bound['resource']} of the {bound['role']}",
                      details=[bound["text"]], figures=[fig], sources=[str(sw.path)], values=vals)
    also = ("; at the same scale also past its threshold: " + ", ".join(f"{a['resource']} ({a['role']}, {100 * a['utilization']:.0f} %)"
                                                                    for a in bound["also_bound"])) if bound["also_bound"] else ""
    return Answer(2, headline=f"{bound['resource']} ({bound['role']}, {100 * bound['utilization']:.0f} % of its capacity){also}",
                  details=[bound["text"]], figures=[fig], sources=[str(sw.path)], values=vals)


def q3(sw: Sweep, out: Path) -> Answer:
    bound, _ = recompute(sw)
    fig = Figure(plots.bound_plot(sw.table, {**sw.meta, "bound": bound}, out / "q3-bound.png").name,
                 "each resource's utilization over its threshold against peers; at 1 it binds", sw.meta["command"])
    per_run = [f"{p['run']}: {p['peers']:,} peers, highest {p['resource']} ({p['role']}) at {100 * p['utilization']:.0f} %"
               for p in bound["per_run"]]
    if not bound["bound"]:
        top = int(sw.table["peers"].max())
        return unanswered(3, f"nothing bound up to {top:,} peers, the largest scale swept: sweep larger scales "
                          f"(--scales) to find it", details=per_run, figures=[fig], sources=[str(sw.path)],
                          table_html=sweep_table_html(sw.table),
                          values={"bound": False, "largest_peers": top})
    below = [p for p in bound["per_run"] if p["peers"] < bound["peers"]]
    last = bound["peers"] >= max(p["peers"] for p in bound["per_run"])
    return Answer(3, headline=(f"at {bound['peers']:,} peers ({bound['consumers']:,} consumers, scale {bound['scale']:g}, "
                               f"{bound['trackers']} tracker(s))"
                               + (f"; at {below[-1]['peers']:,} peers, the scale swept before, every resource was within its limit"
                                  if below else "; the smallest scale swept: it may bind lower")
                               + ("" if last else f"; from there the rate falls as N^{bound['rate_slope_from_bound']:.2f}")),
                  details=per_run, figures=[fig], sources=[str(sw.path)], table_html=sweep_table_html(sw.table),
                  values={"bound": True, "peers": bound["peers"], "scale": bound["scale"], "run": bound["run"]})


def q6(sw: Sweep, out: Path) -> Answer:
    _, plan = recompute(sw)
    if not plan.get("ok"):
        return unanswered(6, f"the sweep gives no shard plan: {plan.get('why', 'no plan')}", sources=[str(sw.path)])
    fig = Figure(plots.shard_plot({**sw.meta, "shard": plan}, sw.table, out / "q6-shard.png").name,
                 "trackers needed to hold the target rate against consumers, from one tracker's fitted round cost; "
                 "the swept runs and the confirming runs", sw.meta["command"])
    conf = plan.get("confirm")
    attempts = plan.get("confirm_attempts") or ([conf] if conf else [])
    confirm = ("; ".join(f"a run with {c['trackers']} tracker(s) reached {c['rate_hz_mean']:,.1f} Hz mean "
                         f"(p5 {c['rate_hz_p5']:,.1f}): {'held' if c['held'] else 'NOT held'}" for c in attempts)
               if attempts else "not confirmed by a run")
    return Answer(6, headline=(f"shard when a tracker's trees pass {plan['consumers_per_tracker_max']:,.0f} consumers "
                               f"(to hold {plan['target_hz']:g} Hz): {plan['target_consumers']:,} consumers need "
                               f"{plan['trackers']} tracker(s); {confirm}"),
                  details=[plan["text"], f"target {plan['target_hz']:g} Hz: the sweep's --target-hz "
                           "(by default twice the rate one tracker reached at the largest scale)"],
                  figures=[fig], sources=[str(sw.path)],
                  values={k: plan.get(k) for k in ("trackers", "target_hz", "target_consumers", "consumers_per_tracker_max",
                                                   "a_s", "b_s_per_consumer")}
                  | {"held": conf["held"] if conf else None, "confirmed_trackers": conf["trackers"] if conf else None,
                     "confirm_runs": len(attempts)})


def no_sweep(number: int, what: str) -> Answer:
    return unanswered(number, NO_SWEEP.format(what))
