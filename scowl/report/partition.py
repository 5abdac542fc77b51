"""Questions about partitions: did self-optimizing consumers black out their region during a partition (7),
from a partitioned day run, and the smallest partition that still runs (8), from a
partition-size sweep (partition_sweep.json)."""

from __future__ import annotations

from pathlib import Path

from scowl.analysis.results import SUPPLY_ROLES
from scowl.report import figures
from scowl.report.answer import Answer, Figure, unanswered
from scowl.report.inputs import DayRun, PartitionSweep
from scowl.report.repro import day_command
from scowl.report.seeds import Loaded, count, figures_of, interval_detail, pm


def region_figures(run: DayRun, state, series=None) -> dict:
    """Blacked-out generator-ticks per region during the partition windows, self-optimizing consumer-ticks,
    warnings and deferral, recomputed from the state log."""
    part = run.summary["partition"]
    schedule = part.get("schedule") or []
    gen = state[state["role"].isin(SUPPLY_ROLES)]
    pop = state[state["role"] == "consumer"]
    inside = lambda df: df[sum(((df["tick"] >= p["start_tick"]) & (df["tick"] < p["end_tick"])) for p in schedule) > 0]  # noqa: E731
    g, c = inside(gen), inside(pop)
    regions = sorted(k for k in state.columns if k.startswith("blackouts_region:"))
    return {"run": run.label, "dir": str(run.path), "schedule": schedule,
            "blackouts_by_region": {k.split(":", 1)[1]: int(g[k].sum()) for k in regions},
            "blackout_generator_ticks": int(g["blacked_out"].sum()),
            "self_optimizing_consumer_ticks": int(c["self_optimizing"].sum()) if "self_optimizing" in c else 0,
            "capacity_low_sent": int(part.get("capacity_low_sent", 0)),
            "deferred_mwh": float(part.get("deferred_mwh", 0.0)),
            "reconverge_s": part.get("reconverge_s")}


def q7(runs: list[DayRun], loaded: Loaded, out: Path, seeds: dict | None = None) -> Answer:
    if not runs:
        return unanswered(7, "no partitioned run given (a day run whose summary has a \"partition\" section, e.g. "
                          "scowl run configs/small-partition.toml)")
    usable = [r for r in runs if r.summary["partition"].get("schedule")]
    if not usable:
        return unanswered(7, f"the partitioned runs {[r.label for r in runs]} record no partition schedule", sources=[str(r.path) for r in runs])
    per = [figures_of(r, loaded, region_figures) for r in usable]
    figs = [Figure(figures.partition_plot(loaded[r.label][0], loaded[r.label][1], p["schedule"], r.label, out / f"q7-partition-{i}.png",
                                          (seeds or {}).get(r.label)),
                   "blacked-out generators per region, self-optimizing consumers and deferred MW; partition shaded", day_command(r))
            for i, (r, p) in enumerate(zip(usable, per))]
    h = per[0]
    hit = {k: v for k, v in h["blackouts_by_region"].items() if v}
    windows = ", ".join(f"ticks {p['start_tick']}-{p['end_tick'] - 1}" for p in h["schedule"])
    mean = " (mean over the seeds)" if h.get("seeds") else ""
    verdict = (f"yes: {pm(h, 'blackout_generator_ticks', ',.1f' if mean else ',.0f')} generator-ticks{mean} blacked out during the "
               "partition in region(s) " + ", ".join(f"{k} ({v:,.1f})" if mean else f"{k} ({v})" for k, v in hit.items())
               if hit else "no: no generator blacked out during the partition" + (" in any seed" if mean else ""))
    details = []
    for p in per:
        regions = {k: round(v, 2) for k, v in p["blackouts_by_region"].items()}
        details.append(f"{p['run']}: blackouts by region during the partition {regions}{' (means over the seeds)' if p.get('seeds') else ''}; "
                       f"re-converged {_seconds(p)} after healing")
        line = interval_detail(p)
        if line:
            details.append(line)
    return Answer(7, headline=(f"{verdict} while consumers ran {count(h, 'self_optimizing_consumer_ticks')} consumer-ticks self-optimizing ({windows}); "
                               f"generators sent {count(h, 'capacity_low_sent')} capacity_low warnings and consumers deferred "
                               f"{pm(h, 'deferred_mwh', '.3f')} MWh ({h['run']})"),
                  details=details,
                  figures=figs, sources=[str(r.path) for r in usable], values={"runs": per})


def _seconds(p: dict) -> str:
    v = p.get("reconverge_s")
    return "not within the run" if v is None else f"{pm(p, 'reconverge_s', '.2f')} s"


def q8(sweeps: list[PartitionSweep], out: Path) -> Answer:
    if not sweeps:
        return unanswered(8, "no partition-size sweep given (a directory with partition_sweep.json)")
    ps = sweeps[0]
    d = ps.data
    pts = d["points"]
    if not pts:
        return unanswered(8, f"{ps.path / 'partition_sweep.json'} has no points", sources=[str(ps.path)])
    fig = Figure(figures.partition_size_plot(pts, d["smallest_without_blackout"], out / "q8-partition-size.png"),
                 "blackouts against peers per partition (one run per size)", d.get("command", "not recorded"))
    details = [f"{p['peers_per_partition']:,} peers per partition ({p['partitions']} partitions): {p['blackout_events']} blackout events, "
               f"{p['blackout_generator_ticks']} generator-ticks" + (f", {p['deferred_mwh']:.3f} MWh deferred" if "deferred_mwh" in p else "")
               for p in sorted(pts, key=lambda p: p["peers_per_partition"])]
    details.append(f"definition: {d['definition']}")
    smallest = d["smallest_without_blackout"]
    vals = {"smallest_without_blackout": smallest, "points": len(pts)}
    if smallest is None:
        sizes = [p["peers_per_partition"] for p in pts]
        return unanswered(8, f"every partition size swept, {min(sizes):,} to {max(sizes):,} peers per partition, had a blackout, "
                          "so none of them is small enough to operate under; see the blackouts by size below",
                          details=details, figures=[fig], sources=[str(ps.path)], values=vals)
    return Answer(8, headline=f"{smallest:,} peers per partition is the smallest that ran without a blackout",
                  details=details, figures=[fig], sources=[str(ps.path)], values=vals)
