"""Questions about partitions: did SOC consumers black out their region during a partition (7),
from a partitioned day run, and the smallest partition that still runs (8), from a
partition-size sweep (partition_sweep.json)."""

from __future__ import annotations

from pathlib import Path

from scowl.analysis.results import SUPPLY_ROLES
from scowl.report import figures
from scowl.report.answer import Answer, Figure, unanswered
from scowl.report.inputs import DayRun, PartitionSweep
from scowl.report.repro import day_command


def region_figures(run: DayRun, state) -> dict:
    """Blacked-out generator-ticks per region during the partition windows, SOC consumer-ticks,
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
            "soc_consumer_ticks": int(c["soc"].sum()) if "soc" in c else 0,
            "capacity_low_sent": int(part.get("capacity_low_sent", 0)),
            "deferred_mwh": float(part.get("deferred_mwh", 0.0)),
            "reconverge_s": part.get("reconverge_s")}


def q7(runs: list[DayRun], loaded: dict, out: Path) -> Answer:
    if not runs:
        return unanswered(7, "no partitioned run given (a day run whose summary has a \"partition\" section, e.g. "
                          "scowl run configs/small-partition.toml)")
    usable = [r for r in runs if r.summary["partition"].get("schedule")]
    if not usable:
        return unanswered(7, f"the partitioned runs {[r.label for r in runs]} record no partition schedule", sources=[str(r.path) for r in runs])
    per = [region_figures(r, loaded[r.label][0]) for r in usable]
    figs = [Figure(figures.partition_plot(loaded[r.label][0], loaded[r.label][1], p["schedule"], r.label, out / f"q7-partition-{i}.png"),
                   "blacked-out generators per region, consumers in SOC mode and deferred MW; partition shaded", day_command(r))
            for i, (r, p) in enumerate(zip(usable, per))]
    h = per[0]
    hit = {k: v for k, v in h["blackouts_by_region"].items() if v}
    windows = ", ".join(f"ticks {p['start_tick']}-{p['end_tick'] - 1}" for p in h["schedule"])
    verdict = (f"yes: {sum(hit.values())} generator-ticks blacked out during the partition in region(s) "
               + ", ".join(f"{k} ({v})" for k, v in hit.items()) if hit else "no: no generator blacked out during the partition")
    return Answer(7, headline=(f"{verdict} while consumers ran {h['soc_consumer_ticks']:,} consumer-ticks in SOC mode ({windows}); "
                               f"generators sent {h['capacity_low_sent']} capacity_low warnings and consumers deferred "
                               f"{h['deferred_mwh']:.3f} MWh ({h['run']})"),
                  details=[f"{p['run']}: blackouts by region during the partition {p['blackouts_by_region']}; "
                           f"re-converged {p['reconverge_s']} s after healing" for p in per],
                  figures=figs, sources=[str(r.path) for r in usable], values={"runs": per})


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
