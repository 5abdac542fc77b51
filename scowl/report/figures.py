"""The report's PNGs of day runs: rebalance rate per round, starvation, supply against demand with
blackouts, blackouts by region around a partition, and blackouts against partition size.
Every curve comes from the state log through `scowl.analysis.dayseries.day_series`."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from scowl.report.plots import finish, save  # noqa: E402
from scowl.analysis.results import SUPPLY_ROLES, rows_of  # noqa: E402


def _save(fig, path: Path) -> str:
    return save(fig, path).name


def per_tick(state: pd.DataFrame, role: str | tuple[str, ...], col: str, ticks) -> pd.Series:
    part = rows_of(state, role)
    s = part.groupby("tick")[col].sum() if col in part else pd.Series(dtype=float)
    return s.reindex(ticks).fillna(0.0)


def rounds_plot(days: dict[str, pd.DataFrame], path: Path) -> str:
    """Rebalance rate (1 / round time) of every tracker round over the day."""
    fig, ax = plt.subplots(figsize=(9, 3))
    for name, state in days.items():
        tr = state[state["role"] == "tracker"]
        for actor, part in tr.groupby("actor"):
            ax.semilogy(part["tick"], 1.0 / part["round_s"], ".-", ms=3, lw=0.8, label=f"{name}: {actor}")
    return finish(fig, ax, path, xlabel="tick", ylabel="rebalance rate (Hz)", title="Rebalance rate of each tracker round").name


def starvation_plot(days: dict[str, tuple[pd.DataFrame, pd.DataFrame]], path: Path) -> str:
    """Consumers starved per tick, and starved demand (MW)."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 4.6), sharex=True)
    for name, (state, series) in days.items():
        a1.plot(series["hour"], per_tick(state, "consumer", "starved", series["tick"]).to_numpy(), label=name)
        a2.plot(series["hour"], series["starved_mw"], label=name)
    a1.set_ylabel("consumers starved")
    a2.set_ylabel("starved demand (MW)")
    a2.set_xlabel("hour of the day")
    a1.set_title("Starvation over the day")
    for a in (a1, a2):
        a.grid(True, alpha=0.3)
    a1.legend(fontsize=7)
    return _save(fig, path)


def supply_plot(days: dict[str, tuple[pd.DataFrame, pd.DataFrame]], path: Path) -> str:
    """Demand against available supply per day run; ticks with demand above supply shaded; blacked-out
    generators per tick as bars."""
    n = len(days)
    fig, axes = plt.subplots(n, 1, figsize=(9, 3.0 * n), sharex=True, squeeze=False)
    for ax, (name, (state, series)) in zip(axes[:, 0], days.items()):
        h = series["hour"].to_numpy()
        ax.plot(h, series["demand_mw"], label="demand (MW)")
        ax.plot(h, series["available_mw"], label="available supply (MW)")
        ax.plot(h, series["served_mw"], ":", label="served (MW)")
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
        ax.set_title(name)
        lines, labels = ax.get_legend_handles_labels()
        l2, lb2 = ax2.get_legend_handles_labels()
        ax.legend(lines + l2, labels + lb2, fontsize=7, loc="lower left")
    axes[-1, 0].set_xlabel("hour of the day")
    return _save(fig, path)


def partition_plot(state: pd.DataFrame, series: pd.DataFrame, schedule: list[dict], name: str, path: Path) -> str:
    """Blacked-out generators per region, SOC consumers and deferred MW, the partition shaded."""
    ticks = series["tick"]
    regions = sorted(c for c in state.columns if c.startswith("blackouts_region:"))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 4.8), sharex=True)
    for c in regions:
        a1.step(ticks, per_tick(state, SUPPLY_ROLES, c, ticks).to_numpy(), where="mid", label=f"region {c.split(':', 1)[1]}")
    a1.set_ylabel("generators blacked out")
    a1.set_title(f"{name}: blackouts by region (partition shaded)")
    a2.plot(ticks, per_tick(state, "consumer", "soc", ticks).to_numpy(), label="consumers in SOC mode")
    a2.set_ylabel("consumers in SOC mode")
    a3 = a2.twinx()
    a3.plot(ticks, series["deferred_mw"], "r--", lw=0.9, label="deferred (MW)")
    a3.set_ylabel("deferred (MW)")
    for a in (a1, a2):
        for p in schedule:
            a.axvspan(p["start_tick"] - 0.5, p["end_tick"] - 0.5, color="gray", alpha=0.2)
        a.grid(True, alpha=0.3)
    a1.legend(fontsize=7)
    l1, b1 = a2.get_legend_handles_labels()
    l3, b3 = a3.get_legend_handles_labels()
    a2.legend(l1 + l3, b1 + b3, fontsize=7, loc="upper right")
    a2.set_xlabel("tick")
    return _save(fig, path)


def partition_size_plot(points: list[dict], smallest, path: Path) -> str:
    """Blackouts against peers per partition (one point per partition size)."""
    pts = sorted(points, key=lambda p: p["peers_per_partition"])
    x = [p["peers_per_partition"] for p in pts]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.semilogx(x, [p["blackout_generator_ticks"] for p in pts], "o-", label="blacked-out generator-ticks")
    ax.semilogx(x, [p["blackout_events"] for p in pts], "s--", label="blackout events")
    if smallest is not None:
        ax.axvline(smallest, color="g", ls=":", label=f"smallest without blackout: {smallest:,}")
    return finish(fig, ax, path, xlabel="peers per partition", ylabel="count", title="Blackouts against partition size").name
