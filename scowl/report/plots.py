"""PNG plots of a scale sweep. Built with matplotlib's object API (Figure, no pyplot), so that
importing or calling this module never switches the backend of the program that uses it.

Rules every plot here keeps: a unit on every axis; a log axis only for quantities that span
decades and are never 0 (a 0 is not drawn as 1e-3); linear where the change is small (memory);
legends beside the axes, never over the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def new_figure(nrows: int = 1, ncols: int = 1, figsize=(7, 4.2), **kw):
    """A Figure and its axes (an array when there are several), like pyplot.subplots."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)

from scowl.analysis.bound import THRESHOLD, run_findings  # noqa: E402


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return Path(path)


def legend_beside(ax, **kw) -> None:
    """The legend to the right of the axes, outside the data (nothing drawn when there are no labels)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, **kw)


def scale_y(ax, values) -> None:
    """Log y only when the values are all > 0 and span more than two decades; else linear."""
    v = np.asarray(pd.Series(values).dropna(), dtype=float)
    if len(v) and v.min() > 0 and v.max() / v.min() > 100:
        ax.set_yscale("log")


def count_axis(axis) -> None:
    """A log axis of counts labelled 1,000 / 10,000 (no 2x10^4 minor labels over each other)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def finish(fig, ax, path: Path, *, xlabel: str, ylabel: str, title: str) -> Path:
    """Label one axes, grid both ways, the legend beside it, and save."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_xscale() == "log":
        count_axis(ax.xaxis)
    legend_beside(ax)
    return save(fig, path)


def _series(table: pd.DataFrame):
    runs = table[~table.get("confirm", pd.Series(False, index=table.index)).astype(bool)].drop_duplicates("run")
    for tr, part in runs.groupby("trackers"):
        yield tr, part.sort_values("peers")


def rate_plot(table: pd.DataFrame, path: Path, meta: dict | None = None) -> Path:
    """Seed Q1: consumers per tracker (independent) against rebalance rate in Hz (dependent)."""
    fig, ax = new_figure(figsize=(9, 4.2))
    for tr, part in _series(table):
        (line,) = ax.semilogx(part["consumers_per_tracker"], part["rate_hz_mean"], "o-", label=f"{tr} tracker(s), mean")
        ax.semilogx(part["consumers_per_tracker"], part["rate_hz_p5"], "x:", color=line.get_color(), alpha=0.6, label=f"{tr} tracker(s), p5")
    conf = table[table.get("confirm", False) == True].drop_duplicates("run")  # noqa: E712
    if len(conf):
        ax.semilogx(conf["consumers_per_tracker"], conf["rate_hz_mean"], "*", ms=14, color="k", label="shard confirmation")
    shard = (meta or {}).get("shard", {})
    if shard.get("ok"):
        ax.axhline(shard["target_hz"], color="r", lw=0.8, ls="--", label=f"target {shard['target_hz']:g} Hz")
        lo = shard.get("fit_from_consumers", table["consumers_per_tracker"].min())  # drawn over the runs it was fitted to
        m = np.logspace(np.log10(max(1, lo)), np.log10(table["consumers_per_tracker"].max() * 2), 50)
        ax.semilogx(m, 1.0 / (shard["a_s"] + shard["b_s_per_consumer"] * m), color="gray", lw=0.8, label="fitted round cost t = a + b n")
    scale_y(ax, pd.concat([table["rate_hz_mean"], table["rate_hz_p5"]]))
    if ax.get_yscale() == "log":
        count_axis(ax.yaxis)
    else:
        ax.set_ylim(bottom=0)
    ylabel = "rebalance rate (Hz" + (", log scale)" if ax.get_yscale() == "log" else ")")
    return finish(fig, ax, path, xlabel="consumers per tracker (log scale)", ylabel=ylabel,
                  title="Rebalance rate against peers per tracker")


def resources_plot(table: pd.DataFrame, path: Path) -> Path:
    """Seed Q2/Q3: utilization of each resource against peers (the fewest trackers). Peers span
    decades (log x); CPU, memory and lag are drawn on linear axes; in an in-process run every
    role shares one process, so its memory is one line, not one per role."""
    fewest = table["trackers"].min()
    t = table[(table["trackers"] == fewest) & ~table.get("confirm", pd.Series(False, index=table.index)).astype(bool)]
    fig, axes = new_figure(2, 2, figsize=(12, 7))
    runs = t.drop_duplicates("run").sort_values("peers")
    in_process = runs["mode"].iloc[0] != "processes"
    ax = axes[0, 0]
    for role, part in t.groupby("role"):
        part = part.sort_values("peers")
        if not in_process:
            ax.semilogx(part["peers"], part["cpu_pct_ticks"], "o-", label=role)
    if in_process:
        ax.semilogx(runs["peers"], runs["run_cpu_pct"], "o-", label="the one process (every role)")
    ax.semilogx(runs["peers"], runs["tracker_busy_pct_max"], "s--", label="tracker busy (round time / wall)")
    ax.axhline(100, color="k", lw=0.6, label="one core")
    ax.set_ylim(bottom=0)
    ax.set_title(f"CPU over the ticks ({fewest} tracker(s))")
    ax.set_ylabel("% of one core")
    ax = axes[0, 1]
    if in_process:
        ax.semilogx(runs["peers"], t.groupby("run")["rss_peak_mb_max"].max().reindex(runs["run"]).to_numpy(), "o-",
                    label="the one process (every role)")
    else:
        for role, part in t.groupby("role"):
            part = part.sort_values("peers")
            ax.semilogx(part["peers"], part["rss_peak_mb_max"], "o-", label=role)
    ax.set_ylim(0, float(t["rss_peak_mb_max"].max()) * 1.15)  # linear from 0: a change of a few MB looks as small as it is
    ax.set_title("peak memory per process")
    ax.set_ylabel("MB")
    ax = axes[1, 0]
    for role, part in t.groupby("role"):
        part = part.sort_values("peers")
        ax.semilogx(part["peers"], part["busiest_link_mb_per_tick"], "o-", label=role)
    scale_y(ax, t["busiest_link_mb_per_tick"])
    ax.set_title("busiest outgoing link of each role")
    ax.set_ylabel("MB per tick")
    ax = axes[1, 1]
    if in_process:  # one process, one event loop: every role measured the same loop
        ax.semilogx(runs["peers"], t.groupby("run")["loop_lag_ms_max"].max().reindex(runs["run"]).to_numpy(), "o-",
                    label="event-loop lag, max (the one loop)")
    for role, part in ([] if in_process else t.groupby("role")):
        part = part.sort_values("peers")
        ax.semilogx(part["peers"], part["loop_lag_ms_max"], "o-", label=f"{role}: event-loop lag, max")
    ax.semilogx(runs["peers"], runs["tick_ms"], "k--", label="wall time per tick")
    scale_y(ax, pd.concat([t["loop_lag_ms_max"], runs["tick_ms"]]))
    if ax.get_yscale() == "linear":
        ax.set_ylim(bottom=0)
    ax.set_title("event-loop lag and tick latency")
    ax.set_ylabel("ms")
    for ax in axes.ravel():
        ax.set_xlabel("peers (log scale)")
        ax.grid(True, which="both", alpha=0.3)
        count_axis(ax.xaxis)
        legend_beside(ax)
    return save(fig, path)


def sweep_plots(table: pd.DataFrame, meta: dict, out: Path) -> list[Path]:
    out = Path(out)
    return [rate_plot(table, out / "sweep-rate.png", meta), resources_plot(table, out / "sweep-resources.png")]


def bound_plot(table: pd.DataFrame, meta: dict, path: Path) -> Path:
    """Seed Q3: each resource's utilization over its bound threshold against peers (the fewest
    trackers); the first point at or above 1 is where it binds."""
    fewest = table["trackers"].min()
    t = table[(table["trackers"] == fewest) & ~table.get("confirm", pd.Series(False, index=table.index)).astype(bool)]
    memory_mb = meta["machine"]["memory_gb"] * 1024
    heartbeat = meta.get("heartbeat_timeout_s", 2.0)
    lines: dict[str, list[tuple[int, float]]] = {}
    for _run, part in t.groupby("run"):
        peers = int(part["peers"].iloc[0])
        for f in run_findings(part, memory_mb, heartbeat):
            key = f"{f.resource} ({f.role})"
            lines.setdefault(key, []).append((peers, f.utilization / THRESHOLD[f.resource]))
    fig, ax = new_figure(figsize=(10, 4))
    for key, pts in sorted(lines.items()):
        pts.sort()
        ax.semilogx([p for p, _ in pts], [u for _, u in pts], "o-", label=key)
    ax.axhline(1.0, color="r", lw=0.8, ls="--", label="bound (utilization = threshold)")
    bound = meta.get("bound", {})
    if bound.get("bound"):
        ax.axvline(bound["peers"], color="k", lw=0.8, ls=":", label=f"binds at {bound['peers']:,} peers")
    return finish(fig, ax, path, xlabel="peers (log scale)", ylabel="utilization / its threshold (1 = binds)", title=f"Which resource binds first ({fewest} tracker(s))")


def shard_plot(meta: dict, table: pd.DataFrame, path: Path) -> Path:
    """Seed Q6: trackers needed to hold the target rate against consumers (from the fitted round
    cost), the swept points, and the confirming run."""
    shard = meta["shard"]
    n = np.logspace(np.log10(max(1.0, table["consumers"].min())), np.log10(table["consumers"].max() * 3), 200)
    need = np.maximum(1, np.ceil(n / shard["consumers_per_tracker_max"]))
    fig, ax = new_figure(figsize=(10, 3.8))
    ax.semilogx(n, need, "-", label=f"trackers needed for {shard['target_hz']:g} Hz (fitted t = a + b n)")
    runs = table.drop_duplicates("run")
    ok = runs["rate_hz_mean"] >= shard["target_hz"]
    ax.semilogx(runs.loc[ok, "consumers"], runs.loc[ok, "trackers"], "go", label="swept: held the target")
    ax.semilogx(runs.loc[~ok, "consumers"], runs.loc[~ok, "trackers"], "rx", label="swept: missed the target")
    for conf in shard.get("confirm_attempts") or ([shard["confirm"]] if shard.get("confirm") else []):
        ax.semilogx([shard["target_consumers"]], [conf["trackers"]], "*", ms=14, color="k" if conf["held"] else "r",
                    label=f"confirming run, {conf['trackers']} tracker(s): {conf['rate_hz_mean']:,.1f} Hz ({'held' if conf['held'] else 'missed'})")
    return finish(fig, ax, path, xlabel="consumers (log scale)", ylabel="trackers", title="When to shard")
