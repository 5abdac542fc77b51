"""The report's PNGs of day runs: rebalance rate per round, starvation, supply against demand with
blackouts, blackouts by region around a partition, and blackouts against partition size.
Every curve comes from the state log through `scowl.analysis.dayseries.day_series`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scowl.analysis.results import SUPPLY_ROLES, rows_of
from scowl.report.plots import count_axis, finish, legend_beside, new_figure, save


def _save(fig, path: Path) -> str:
    return save(fig, path).name


def per_tick(state: pd.DataFrame, role: str | tuple[str, ...], col: str, ticks) -> pd.Series:
    part = rows_of(state, role)
    s = part.groupby("tick")[col].sum() if col in part else pd.Series(dtype=float)
    return s.reindex(ticks).fillna(0.0)


def local_time_axis(ax, hours) -> None:
    """An x axis of local clock time (HH:MM) over exactly the hours drawn."""
    h = np.asarray(hours, dtype=float)
    lo, hi = float(np.nanmin(h)), float(np.nanmax(h))
    span = max(hi - lo, 1e-9)
    step = 0.25 if span <= 1.5 else 0.5 if span <= 4 else 1.0 if span <= 8 else 3.0
    ticks = np.arange(np.ceil(lo / step) * step, hi + 1e-9, step)
    ax.set_xticks(ticks, [f"{int(t) % 24:02d}:{round((t % 1) * 60):02d}" for t in ticks])
    ax.set_xlim(lo, hi)
    ax.set_xlabel("local time")


def hour_of_tick(series: pd.DataFrame) -> dict[int, float]:
    return dict(zip(series["tick"].astype(int), series["hour"].astype(float)))


def consumers_of(state: pd.DataFrame) -> int:
    """Consumers of a run (its populations' `consumers` at the first tick)."""
    pop = rows_of(state, "consumer")
    if not len(pop) or "consumers" not in pop:
        return 0
    return int(pop[pop["tick"] == pop["tick"].min()]["consumers"].sum())


def rounds_plot(days: dict[str, tuple[pd.DataFrame, pd.DataFrame]], path: Path) -> str:
    """Rebalance rate (1 / round time) of every tracker round over the day, against local time."""
    fig, ax = new_figure(figsize=(11, 3.4))
    hours = []
    for name, (state, series) in days.items():
        at = hour_of_tick(series)
        tr = state[state["role"] == "tracker"]
        for actor, part in tr.groupby("actor"):
            h = part["tick"].map(at)
            hours.append(h)
            ax.plot(h, 1.0 / part["round_s"], ".-", ms=3, lw=0.8, label=f"{name}: {actor}")
    rates = pd.concat([1.0 / rows_of(st, "tracker")["round_s"] for st, _ in days.values()])
    from scowl.report.plots import scale_y

    scale_y(ax, rates)
    if ax.get_yscale() == "log":
        count_axis(ax.yaxis)
    else:
        ax.set_ylim(bottom=0)
    local_time_axis(ax, pd.concat(hours))
    out = finish(fig, ax, path, xlabel="local time", ylabel="rebalance rate (Hz" + (", log scale)" if ax.get_yscale() == "log" else ")"),
                 title="Rebalance rate of each tracker round")
    return out.name


def starvation_plot(days: dict[str, tuple[pd.DataFrame, pd.DataFrame]], path: Path) -> str:
    """Share of consumers starved per tick, and starved demand as a share of demand: per consumer,
    so runs of 3,500 and 445,000 consumers read on one axis."""
    fig, (a1, a2) = new_figure(2, 1, figsize=(11, 4.8), sharex=True)
    hours = []
    for name, (state, series) in days.items():
        n = max(1, consumers_of(state))
        starved = per_tick(state, "consumer", "starved", series["tick"]).to_numpy()
        a1.plot(series["hour"], 100.0 * starved / n, label=f"{name} ({n:,} consumers)")
        demand = series["demand_mw"].to_numpy()
        a2.plot(series["hour"], 100.0 * np.divide(series["starved_mw"].to_numpy(), demand, out=np.zeros(len(demand)), where=demand > 0),
                label=f"{name}")
        hours.append(series["hour"])
    a1.set_ylabel("consumers starved (%)")
    a2.set_ylabel("starved demand\n(% of demand)")
    a1.set_title("Starvation over the day, per consumer")
    for a in (a1, a2):
        a.grid(True, alpha=0.3)
        a.set_ylim(bottom=0)
    legend_beside(a1)
    local_time_axis(a2, pd.concat(hours))
    return _save(fig, path)


def supply_plot(days: dict[str, tuple[pd.DataFrame, pd.DataFrame]], path: Path) -> str:
    """Demand against available supply per day run, each over its own hours; ticks with demand
    above supply shaded; blacked-out generators per tick as bars on their own axis."""
    n = len(days)
    fig, axes = new_figure(n, 1, figsize=(11, 3.2 * n), squeeze=False)
    for ax, (name, (state, series)) in zip(axes[:, 0], days.items()):
        h = series["hour"].to_numpy()
        ax.plot(h, series["demand_mw"], label="demand")
        ax.plot(h, series["available_mw"], label="available supply")
        ax.plot(h, series["served_mw"], ":", label="served")
        over = (series["demand_mw"] > series["available_mw"]).to_numpy()
        top = float(max(series["demand_mw"].max(), series["available_mw"].max())) * 1.05
        ax.fill_between(h, 0, top, where=over, color="orange", alpha=0.25, step="mid", label="demand above supply")
        ax.set_ylim(0, top)
        ax.set_ylabel("MW")
        ax2 = ax.twinx()
        bo = per_tick(state, SUPPLY_ROLES, "blacked_out", series["tick"]).to_numpy()
        step = float(np.median(np.diff(h))) if len(h) > 1 else 1.0
        ax2.bar(h, bo, width=0.8 * step, color="k", alpha=0.45, label="generators blacked out")
        ax2.set_ylim(0, max(1.0, bo.max() * 1.3))
        ax2.set_ylabel("generators blacked out")
        ax2.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(f"{name} ({consumers_of(state):,} consumers; MW of the scenario's scaled grid)", fontsize=10)
        lines, labels = ax.get_legend_handles_labels()
        l2, lb2 = ax2.get_legend_handles_labels()
        ax.legend(lines + l2, labels + lb2, fontsize=7, loc="upper left", bbox_to_anchor=(1.08, 1.0), borderaxespad=0)
        local_time_axis(ax, h)
    return _save(fig, path)


def partition_plot(state: pd.DataFrame, series: pd.DataFrame, schedule: list[dict], name: str, path: Path) -> str:
    """Blacked-out generators per region, SOC consumers and deferred MW over local time, the partition shaded."""
    ticks = series["tick"]
    h = series["hour"].to_numpy()
    tick_h = float(h[1] - h[0]) if len(h) > 1 else 1.0
    regions = sorted(c for c in state.columns if c.startswith("blackouts_region:"))
    fig, (a1, a2) = new_figure(2, 1, figsize=(11, 5.0), sharex=True)
    for c in regions:
        a1.step(h, per_tick(state, SUPPLY_ROLES, c, ticks).to_numpy(), where="mid", label=f"region {c.split(':', 1)[1]}")
    a1.set_ylabel("generators\nblacked out")
    a1.yaxis.get_major_locator().set_params(integer=True)
    a1.set_ylim(bottom=0)
    a1.set_title(f"{name}: blackouts by region (partition shaded)")
    a2.plot(h, per_tick(state, "consumer", "soc", ticks).to_numpy(), label="consumers self-optimizing (SOC)")
    a2.set_ylabel("consumers in SOC mode")
    a2.set_ylim(bottom=0)
    a3 = a2.twinx()
    a3.plot(h, series["deferred_mw"], "r--", lw=0.9, label="deferred demand (MW)")
    a3.set_ylabel("deferred (MW)")
    a3.set_ylim(bottom=0)
    for a in (a1, a2):
        for p in schedule:
            a.axvspan(h[0] + (p["start_tick"] - 0.5) * tick_h, h[0] + (p["end_tick"] - 0.5) * tick_h, color="gray", alpha=0.2)
        a.grid(True, alpha=0.3)
    legend_beside(a1)
    l1, b1 = a2.get_legend_handles_labels()
    l3, b3 = a3.get_legend_handles_labels()
    a2.legend(l1 + l3, b1 + b3, fontsize=7, loc="upper left", bbox_to_anchor=(1.08, 1.0), borderaxespad=0)
    local_time_axis(a2, h)
    return _save(fig, path)


def partition_size_plot(points: list[dict], smallest, path: Path) -> str:
    """Blackouts against peers per partition (one point per partition size)."""
    pts = sorted(points, key=lambda p: p["peers_per_partition"])
    x = [p["peers_per_partition"] for p in pts]
    fig, ax = new_figure(figsize=(10, 3.6))
    ax.semilogx(x, [p["blackout_generator_ticks"] for p in pts], "o-", label="blacked-out generator-ticks")
    ax.semilogx(x, [p["blackout_events"] for p in pts], "s--", label="blackout events")
    if smallest is not None:
        ax.axvline(smallest, color="g", ls=":", label=f"smallest without blackout: {smallest:,}")
    return finish(fig, ax, path, xlabel="peers per partition (log scale)", ylabel="generator-ticks, events", title="Blackouts against partition size").name
