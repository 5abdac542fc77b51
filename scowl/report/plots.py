"""PNG plots of a scale sweep (matplotlib, Agg backend, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from scowl.analysis.bound import THRESHOLD, run_findings  # noqa: E402


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)


def finish(fig, ax, path: Path, *, xlabel: str, ylabel: str, title: str) -> Path:
    """Label one axes, grid both ways, a small legend, and save."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, path)


def _series(table: pd.DataFrame):
    runs = table[~table.get("confirm", pd.Series(False, index=table.index)).astype(bool)].drop_duplicates("run")
    for tr, part in runs.groupby("trackers"):
        yield tr, part.sort_values("peers")


def rate_plot(table: pd.DataFrame, path: Path, meta: dict | None = None) -> Path:
    """Seed Q1: consumers per tracker (independent) against rebalance rate in Hz (dependent)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for tr, part in _series(table):
        (line,) = ax.loglog(part["consumers_per_tracker"], part["rate_hz_mean"], "o-", label=f"{tr} tracker(s), mean")
        ax.loglog(part["consumers_per_tracker"], part["rate_hz_p5"], "x:", color=line.get_color(), alpha=0.6, label=f"{tr} tracker(s), p5")
    conf = table[table.get("confirm", False) == True].drop_duplicates("run")  # noqa: E712
    if len(conf):
        ax.loglog(conf["consumers_per_tracker"], conf["rate_hz_mean"], "*", ms=14, color="k", label="shard confirmation")
    shard = (meta or {}).get("shard", {})
    if shard.get("ok"):
        ax.axhline(shard["target_hz"], color="r", lw=0.8, ls="--", label=f"target {shard['target_hz']:g} Hz")
        lo = shard.get("fit_from_consumers", table["consumers_per_tracker"].min())  # drawn over the runs it was fitted to
        m = np.logspace(np.log10(max(1, lo)), np.log10(table["consumers_per_tracker"].max() * 2), 50)
        ax.loglog(m, 1.0 / (shard["a_s"] + shard["b_s_per_consumer"] * m), color="gray", lw=0.8, label="fitted round cost t = a + b n")
    return finish(fig, ax, path, xlabel="consumers per tracker", ylabel="rebalance rate (Hz)",
                  title="Rebalance rate against peers per tracker")


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
    for run, part in t.groupby("run"):
        peers = int(part["peers"].iloc[0])
        for f in run_findings(part, memory_mb, heartbeat):
            key = f"{f.resource} ({f.role})"
            lines.setdefault(key, []).append((peers, f.utilization / THRESHOLD[f.resource]))
    fig, ax = plt.subplots(figsize=(8, 4))
    for key, pts in sorted(lines.items()):
        pts.sort()
        ax.semilogx([p for p, _ in pts], [u for _, u in pts], "o-", label=key)
    ax.axhline(1.0, color="r", lw=0.8, ls="--", label="bound (utilization = threshold)")
    bound = meta.get("bound", {})
    if bound.get("bound"):
        ax.axvline(bound["peers"], color="k", lw=0.8, ls=":", label=f"binds at {bound['peers']:,} peers")
    return finish(fig, ax, path, xlabel="peers", ylabel="utilization / threshold", title=f"Which resource binds first ({fewest} tracker(s))")


def shard_plot(meta: dict, table: pd.DataFrame, path: Path) -> Path:
    """Seed Q6: trackers needed to hold the target rate against consumers (from the fitted round
    cost), the swept points, and the confirming run."""
    shard = meta["shard"]
    n = np.logspace(np.log10(max(1.0, table["consumers"].min())), np.log10(table["consumers"].max() * 3), 200)
    need = np.maximum(1, np.ceil(n / shard["consumers_per_tracker_max"]))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.semilogx(n, need, "-", label=f"trackers needed for {shard['target_hz']:g} Hz (fitted t = a + b n)")
    runs = table.drop_duplicates("run")
    ok = runs["rate_hz_mean"] >= shard["target_hz"]
    ax.semilogx(runs.loc[ok, "consumers"], runs.loc[ok, "trackers"], "go", label="swept: held the target")
    ax.semilogx(runs.loc[~ok, "consumers"], runs.loc[~ok, "trackers"], "rx", label="swept: missed the target")
    for conf in shard.get("confirm_attempts") or ([shard["confirm"]] if shard.get("confirm") else []):
        ax.semilogx([shard["target_consumers"]], [conf["trackers"]], "*", ms=14, color="k" if conf["held"] else "r",
                    label=f"confirming run, {conf['trackers']} tracker(s): {conf['rate_hz_mean']:,.1f} Hz ({'held' if conf['held'] else 'missed'})")
    return finish(fig, ax, path, xlabel="consumers", ylabel="trackers", title="When to shard")
