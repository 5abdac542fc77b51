"""PNG plots for sweeps, reports and comparisons (matplotlib, Agg backend, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _series(table: pd.DataFrame):
    runs = table[~table.get("confirm", pd.Series(False, index=table.index)).astype(bool)].drop_duplicates("run")
    for tr, part in runs.groupby("trackers"):
        yield tr, part.sort_values("peers")


def rate_plot(table: pd.DataFrame, path: Path, meta: dict | None = None) -> Path:
    """Seed Q1: consumers per tracker (independent) against rebalance rate in Hz (dependent)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for tr, part in _series(table):
        ax.loglog(part["consumers_per_tracker"], part["rate_hz_mean"], "o-", label=f"{tr} tracker(s), mean")
        ax.loglog(part["consumers_per_tracker"], part["rate_hz_p5"], "x:", alpha=0.6, label=f"{tr} tracker(s), p5")
    conf = table[table.get("confirm", False) == True].drop_duplicates("run")  # noqa: E712
    if len(conf):
        ax.loglog(conf["consumers_per_tracker"], conf["rate_hz_mean"], "*", ms=14, color="k", label="shard confirmation")
    shard = (meta or {}).get("shard", {})
    if shard.get("ok"):
        ax.axhline(shard["target_hz"], color="r", lw=0.8, ls="--", label=f"target {shard['target_hz']:g} Hz")
        m = np.logspace(np.log10(max(1, table["consumers_per_tracker"].min())), np.log10(table["consumers_per_tracker"].max() * 2), 50)
        ax.loglog(m, 1.0 / (shard["a_s"] + shard["b_s_per_consumer"] * m), color="gray", lw=0.8, label="fitted t = a + b n")
    ax.set_xlabel("consumers per tracker")
    ax.set_ylabel("rebalance rate (Hz)")
    ax.set_title("Rebalance rate against peers per tracker")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def resources_plot(table: pd.DataFrame, path: Path) -> Path:
    """Seed Q2/Q3: utilization of each resource against peers (the fewest trackers)."""
    fewest = table["trackers"].min()
    t = table[(table["trackers"] == fewest) & ~table.get("confirm", pd.Series(False, index=table.index)).astype(bool)]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
    ax = axes[0, 0]
    for role, part in t.groupby("role"):
        part = part.sort_values("peers")
        if part["mode"].iloc[0] == "processes":
            ax.semilogx(part["peers"], part["cpu_pct_ticks"], "o-", label=role)
    runs = t.drop_duplicates("run").sort_values("peers")
    if runs["mode"].iloc[0] == "in-process":
        ax.semilogx(runs["peers"], runs["run_cpu_pct"], "o-", label="the one process")
    ax.semilogx(runs["peers"], runs["tracker_busy_pct_max"], "s--", label="tracker busy (round time / wall)")
    ax.axhline(100, color="k", lw=0.6)
    ax.set_title(f"CPU, % of one core over the ticks ({fewest} tracker(s))")
    ax.set_xlabel("peers")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for role, part in t.groupby("role"):
        part = part.sort_values("peers")
        ax.loglog(part["peers"], part["rss_peak_mb_max"], "o-", label=role)
    ax.set_title("peak memory per process (MB)")
    ax.set_xlabel("peers")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    for role, part in t.groupby("role"):
        part = part.sort_values("peers")
        ax.loglog(part["peers"], part["busiest_link_mb_per_tick"].clip(lower=1e-6), "o-", label=role)
    ax.set_title("busiest outgoing link, MB per tick")
    ax.set_xlabel("peers")
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    for role, part in t.groupby("role"):
        part = part.sort_values("peers")
        ax.loglog(part["peers"], part["loop_lag_ms_max"].clip(lower=1e-3), "o-", label=f"{role} max")
    ax.loglog(runs["peers"], runs["tick_ms"], "k--", label="wall per tick (ms)")
    ax.set_title("event-loop lag (ms) and tick latency")
    ax.set_xlabel("peers")
    ax.legend(fontsize=7)
    return _save(fig, path)


def sweep_plots(table: pd.DataFrame, meta: dict, out: Path) -> list[Path]:
    out = Path(out)
    return [rate_plot(table, out / "sweep-rate.png", meta), resources_plot(table, out / "sweep-resources.png")]


# ---------------------------------------------------------------- one run's day

def day_frame(state: pd.DataFrame, tick_seconds: float) -> pd.DataFrame:
    """Per tick: demand, available supply, delivered, served, starved (MW) and, if the run has
    them, deferred (MW) and capacity_low warnings."""
    def by(role, col):
        part = state[state["role"] == role]
        return part.groupby("tick")[col].sum() if col in part else pd.Series(dtype=float)

    df = pd.DataFrame({
        "demand_mw": by("consumer", "demand_mw"),
        "supply_mw": by("generator", "available_mw"),
        "delivered_mw": by("generator", "delivered_mw"),
        "served_mw": by("consumer", "served_mw"),
        "starved_mw": by("consumer", "starved_mw"),
    })
    for col in ("deferred_mw", "shed_mw", "capacity_low"):
        for role in ("consumer", "generator"):
            s = by(role, col)
            if len(s):
                df[col] = s
                break
    df.index.name = "tick"
    df["hour"] = df.index * tick_seconds / 3600.0
    return df


def day_plot(days: dict[str, pd.DataFrame], path: Path, title: str = "") -> Path:
    cols = [c for c in ("demand_mw", "supply_mw", "served_mw", "deferred_mw", "starved_mw")
            if any(c in d for d in days.values())]
    fig, axes = plt.subplots(len(cols), 1, figsize=(9, 2.1 * len(cols)), sharex=True)
    axes = np.atleast_1d(axes)
    for ax, col in zip(axes, cols):
        for (name, d), style in zip(days.items(), ("-", "--", ":", "-.")):
            if col in d:
                ax.plot(d["hour"], d[col], style, label=name)
            else:
                ax.plot([], [], style, label=f"{name} (not recorded)")
        ax.set_ylabel(col.replace("_mw", " (MW)"))
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[-1].set_xlabel("hours since start")
    if title:
        axes[0].set_title(title)
    return _save(fig, path)


def starvation_plot(state: pd.DataFrame, tick_seconds: float, path: Path, title: str) -> Path:
    pop = state[state["role"] == "consumer"]
    s = pop.groupby("tick")["starved"].sum()
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(s.index * tick_seconds / 3600, s.values, "-")
    ax.set_xlabel("hours since start")
    ax.set_ylabel("consumers starved")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return _save(fig, path)


def blackout_plot(state: pd.DataFrame, tick_seconds: float, path: Path, title: str) -> Path:
    day = day_frame(state, tick_seconds)
    gen = state[state["role"] == "generator"]
    bo = gen.groupby("tick")["blacked_out"].sum() if "blacked_out" in gen else pd.Series(0, index=day.index)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(day["hour"], day["demand_mw"], label="demand (MW)")
    ax.plot(day["hour"], day["supply_mw"], label="available supply (MW)")
    over = day["demand_mw"] > day["supply_mw"]
    ax.fill_between(day["hour"], 0, day["demand_mw"].max() * 1.05, where=over.to_numpy(), color="orange", alpha=0.2,
                    label="demand above supply")
    ax2 = ax.twinx()
    ax2.bar(bo.index * tick_seconds / 3600, bo.values, width=tick_seconds / 3600 * 0.8, color="k", alpha=0.5, label="blacked-out generators")
    ax2.set_ylabel("generators blacked out")
    ax.set_xlabel("hours since start")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def bar_plot(labels, values, path: Path, title: str, ylabel: str) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar([str(x) for x in labels], values)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelsize=7, rotation=20)
    return _save(fig, path)
