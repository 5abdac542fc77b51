"""The limiting resource: each resource's utilization per run, and the first that reaches its
threshold as the peers grow."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scowl.wire import MAX_FRAME_BYTES

CPU_BOUND = 0.80  # a process busy this share of one core during the ticks is CPU-bound
MEMORY_BOUND = 0.80  # of the machine's memory
FRAME_BOUND = 0.50  # mean message on a link this share of the wire's largest frame
LAG_BOUND = 0.50  # event-loop lag this share of the heartbeat timeout


@dataclass
class Finding:
    resource: str
    role: str
    utilization: float  # share of its capacity (1.0 = saturated)
    evidence: str


def run_findings(run: pd.DataFrame, memory_mb: float, heartbeat_s: float) -> list[Finding]:
    """Every resource of one run with its utilization; `run` is that run's rows (one per role)."""
    r0 = run.iloc[0]
    out: list[Finding] = []
    if r0["mode"] == "in-process":
        # one process on one core: a round is synchronous, so the trackers' round time over the
        # wall time is their share of the core; the rest of the process's measured CPU is
        # everything else. No CPU sample (the run was too short to sample): no CPU finding.
        if not math.isnan(r0["run_cpu_pct"]):
            cpu = r0["run_cpu_pct"] / 100
            tshare = min(cpu, r0["tracker_busy_pct_sum"] / 100)
            out.append(Finding("CPU", "tracker", tshare,
                               f"tracker rounds take {100 * tshare:.0f} % of the wall time of the ticks "
                               f"(the one process at {100 * cpu:.0f} % of a core)"))
            out.append(Finding("CPU", "consumer+generator+messaging", cpu - tshare,
                               f"populations, fleets, metronome and messaging take {100 * (cpu - tshare):.0f} % of a core "
                               f"(the one process at {100 * cpu:.0f} %, trackers {100 * tshare:.0f} %)"))
    else:
        others = {row.role: row.cpu_pct_ticks for row in run.itertuples() if not math.isnan(row.cpu_pct_ticks)}
        for row in run.itertuples():
            if math.isnan(row.cpu_pct_ticks):
                continue
            rest = ", ".join(f"{k} {v:.0f} %" for k, v in sorted(others.items()) if k != row.role)
            out.append(Finding("CPU", row.role, row.cpu_pct_ticks / 100,
                               f"busiest {row.role} process at {row.cpu_pct_ticks:.0f} % of a core over the ticks (others: {rest})"))
    # in one process every role reports the same process: count it once
    rss = run["rss_peak_mb_max"].max() if r0["mode"] == "in-process" else run["rss_peak_mb_sum"].sum()
    out.append(Finding("memory", "all", rss / memory_mb if memory_mb else 0.0,
                       f"peak RSS {rss:,.0f} MB of {memory_mb:,.0f} MB"))
    frame_mb = MAX_FRAME_BYTES / 1e6
    # a frame the receiver rejected as oversized is the limit reached; else the mean message's share of it
    over = run["oversized_frame_mb"] if "oversized_frame_mb" in run else pd.Series(0.0, index=run.index)
    size_share = np.maximum(run["frame_share"].to_numpy(float), over.to_numpy(float) / frame_mb)
    w = run.iloc[int(np.argmax(size_share))]
    wo = float(over.loc[w.name])
    out.append(Finding("network (message size)", w["role"], float(size_share.max()),
                       f"{w['role']} sends messages of {w['mean_msg_mb_max']:.1f} MB on average on its biggest link "
                       f"({w['busiest_link']}, {w['busiest_link_mb_per_tick']:.1f} MB per tick) against a frame limit of {frame_mb:.1f} MB"
                       + (f"; a {wo:.1f} MB frame it sent was rejected as oversized" if wo else "")
                       + f"; {int(run['msgs_rejected'].sum())} messages rejected in all (any reason)"))
    lagrow = run.loc[run["loop_lag_ms_max"].idxmax()]
    # in one process every actor shares the one event loop: its lag is no one role's
    lagrole = "the one process" if r0["mode"] == "in-process" else lagrow["role"]
    out.append(Finding("event-loop lag", lagrole, lagrow["loop_lag_ms_max"] / (1e3 * heartbeat_s),
                       f"{lagrole}'s event loop up to {lagrow['loop_lag_ms_max']:,.0f} ms late "
                       f"(mean {lagrow['loop_lag_ms_mean']:.1f} ms) against a {heartbeat_s:g} s heartbeat timeout"))
    return out


THRESHOLD = {"CPU": CPU_BOUND, "memory": MEMORY_BOUND, "network (message size)": FRAME_BOUND, "event-loop lag": LAG_BOUND}


def _slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0)
    if ok.sum() < 2 or np.ptp(np.log(x[ok])) == 0:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def find_bound(table: pd.DataFrame, memory_mb: float, heartbeat_s: float = 2.0) -> dict:
    """What bound first, and at what scale: walk the runs of the fewest trackers by increasing
    peers; the first resource over its threshold binds. Rate scaling is fitted from there on."""
    if table.empty:
        return {"bound": False, "text": "no runs measured"}
    fewest = int(table["trackers"].min())
    series = table[table["trackers"] == fewest]
    order = series.drop_duplicates("run").sort_values("peers")["run"].tolist()
    first = None
    per_run = []
    for run_name in order:
        run = series[series["run"] == run_name]
        found = run_findings(run, memory_mb, heartbeat_s)
        top = max(found, key=lambda f: f.utilization / THRESHOLD[f.resource])
        per_run.append({"run": run_name, "peers": int(run["peers"].iloc[0]), "resource": top.resource, "role": top.role,
                        "utilization": top.utilization, "evidence": top.evidence})
        if first is None and top.utilization >= THRESHOLD[top.resource]:
            first = (run, top, found)
    runs = series.drop_duplicates("run").sort_values("peers")
    slope_all = _slope(runs["consumers_per_tracker"], runs["rate_hz_mean"])
    result = {"trackers": fewest, "per_run": per_run, "rate_slope_all": slope_all,
              "thresholds": {k: v for k, v in THRESHOLD.items()}}
    if first is None:
        best = max(per_run, key=lambda p: p["utilization"] / THRESHOLD[p["resource"]])
        result.update(bound=False, resource=best["resource"], role=best["role"], peers=best["peers"],
                      text=(f"Nothing reached its limit up to {int(runs['peers'].max()):,} peers with {fewest} tracker(s). "
                            f"Closest: {best['resource']} ({best['role']}) at {100 * best['utilization']:.0f} % "
                            f"at {best['peers']:,} peers: {best['evidence']}. Rate falls as N^{slope_all:.2f} over the sweep."))
        return result
    run, top, found = first
    r0 = run.iloc[0]
    later = runs[runs["peers"] >= r0["peers"]]
    slope = _slope(later["consumers_per_tracker"], later["rate_hz_mean"]) if len(later) >= 2 else slope_all
    others = "; ".join(f"{f.resource} ({f.role}) {100 * f.utilization:.0f} %" for f in found if f is not top)
    also = [f for f in found if f is not top and f.utilization >= THRESHOLD[f.resource]]
    text = (f"{top.resource} ({top.role}) bound first, at {int(r0['peers']):,} peers "
            f"({int(r0['consumers']):,} consumers, scale {r0['scale']:g}, {fewest} tracker(s)): {top.evidence}. "
            + ("Also past its threshold there: " + "; ".join(f"{f.resource} ({f.role}): {f.evidence}" for f in also) + ". " if also else "")
            + f"Other resources then: {others}. Rebalance rate there {r0['rate_hz_mean']:,.1f} Hz; "
            f"over the sweep the rate falls as N^{slope_all:.2f} (1/N would be -1)"
            + (f", and as N^{slope:.2f} from the bound on" if not math.isnan(slope) and len(later) >= 2 else "") + ".")
    result.update(bound=True, resource=top.resource, role=top.role, peers=int(r0["peers"]),
                  consumers=int(r0["consumers"]), scale=float(r0["scale"]), run=r0["run"],
                  utilization=top.utilization, evidence=top.evidence, rate_slope_from_bound=slope, text=text,
                  also_bound=[{"resource": f.resource, "role": f.role, "utilization": f.utilization, "evidence": f.evidence} for f in also])
    return result
