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


def draw_band(ax, hours, low, high, colour, label: str | None = None, clip_zero: bool = True) -> None:
    """A mean's 95 % interval over seeds, shaded beneath its curve (never below 0 for quantities
    that cannot be negative)."""
    lo = np.maximum(low, 0.0) if clip_zero else low
    ax.fill_between(hours, lo, high, color=colour, alpha=0.22, lw=0, label=label or "_nolegend_")


def _series_band(ax, series: pd.DataFrame, col: str, colour, label: str | None = None, k: float = 1.0) -> None:
    """The band of a day series column, when the series is a mean over seeds (band_frame)."""
    if f"{col}_low" in series:
        draw_band(ax, series["hour"], series[f"{col}_low"].to_numpy() * k, series[f"{col}_high"].to_numpy() * k, colour, label)


def rounds_plot(days: dict[str, tuple[pd.DataFrame, pd.DataFrame]], path: Path,
                seeds: dict[str, list[tuple[pd.DataFrame, pd.DataFrame]]] | None = None) -> str:
    """Rebalance rate (1 / round time) of every tracker round over the day, against local time.
    A run of several seeds (`seeds`): per tick, the trackers' mean rate averaged over the seeds,
    with its 95 % band."""
    from scowl.stats import band

    fig, ax = new_figure(figsize=(11, 3.4))
    hours = []
    rates = []
    for name, (state, series) in days.items():
        at = hour_of_tick(series)
        runs = (seeds or {}).get(name)
        if runs:
            per_seed = [1.0 / rows_of(st, "tracker").groupby("tick")["round_s"].mean() for st, _ in runs]
            ticks = sorted(set.intersection(*(set(r.index) for r in per_seed)))
            m, lo, hi = band([r.reindex(ticks).to_numpy() for r in per_seed])
            h = pd.Series(ticks).map(at)
            hours.append(h)
            rates.append(pd.Series(m))  # the axis is chosen by the means (a band reaching 0 must not make it log)
            line = ax.plot(h, m, ".-", ms=3, lw=0.8, label=f"{name}: trackers' mean rate, mean of {len(runs)} seeds")[0]
            draw_band(ax, h, lo, hi, line.get_color(), f"{name}: 95 % interval over {len(runs)} seeds")
            continue
        tr = state[state["role"] == "tracker"]
        rates.append(1.0 / tr["round_s"])
        for actor, part in tr.groupby("actor"):
            h = part["tick"].map(at)
            hours.append(h)
            ax.plot(h, 1.0 / part["round_s"], ".-", ms=3, lw=0.8, label=f"{name}: {actor}")
    rates = pd.concat(rates)
    from scowl.report.plots import scale_y

    scale_y(ax, rates)
    if ax.get_yscale() == "log":
        count_axis(ax.yaxis)
    else:
        ax.set_ylim(bottom=0)
    local_time_axis(ax, pd.concat(hours))
    out = finish(fig, ax, path, xlabel="local time", ylabel="rebalance rate (Hz" + (", log scale)" if ax.get_yscale() == "log" else ")"),
                 title="Rebalance rate of each tracker round" + ("; of several seeds: per tick, the mean with its band" if seeds else ""))
    return out.name


def _starved_shares(state: pd.DataFrame, series: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per tick: % of consumers starved, and starved demand as % of demand."""
    n = max(1, consumers_of(state))
    starved = per_tick(state, "consumer", "starved", series["tick"]).to_numpy()
    demand = series["demand_mw"].to_numpy()
    return 100.0 * starved / n, 100.0 * np.divide(series["starved_mw"].to_numpy(), demand, out=np.zeros(len(demand)), where=demand > 0)


def starvation_plot(days: dict[str, tuple[pd.DataFrame, pd.DataFrame]], path: Path,
                    seeds: dict[str, list[tuple[pd.DataFrame, pd.DataFrame]]] | None = None) -> str:
    """Share of consumers starved per tick, and starved demand as a share of demand: per consumer,
    so runs of 3,500 and 445,000 consumers read on one axis. A run of several seeds (`seeds`:
    label -> every seed's state and series): the mean over them with its 95 % band."""
    from scowl.stats import band

    fig, (a1, a2) = new_figure(2, 1, figsize=(11, 4.8), sharex=True)
    hours = []
    for i, (name, (state, series)) in enumerate(days.items()):
        colour = f"C{i}"
        n = max(1, consumers_of(state))
        runs = (seeds or {}).get(name)
        if runs:  # every seed's curves on the ticks they share, as mean and band
            ticks = sorted(set.intersection(*(set(se["tick"]) for _, se in runs)))
            shares = [_starved_shares(st, se[se["tick"].isin(ticks)].reset_index(drop=True)) for st, se in runs]
            series = runs[0][1][runs[0][1]["tick"].isin(ticks)].reset_index(drop=True)
            (m1, lo1, hi1), (m2, lo2, hi2) = band([s[0] for s in shares]), band([s[1] for s in shares])
            a1.plot(series["hour"], m1, color=colour, label=f"{name}: mean ({n:,} consumers)")
            draw_band(a1, series["hour"], lo1, hi1, colour, f"{name}: 95 % interval over {len(runs)} seeds")
            a2.plot(series["hour"], m2, color=colour, label=f"{name}")
            draw_band(a2, series["hour"], lo2, hi2, colour)
        else:
            share, demand_share = _starved_shares(state, series)
            a1.plot(series["hour"], share, color=colour, label=f"{name} ({n:,} consumers)")
            a2.plot(series["hour"], demand_share, color=colour, label=f"{name}")
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


def supply_plot(days: dict[str, tuple[pd.DataFrame, pd.DataFrame]], path: Path,
                seeds: dict[str, list[tuple[pd.DataFrame, pd.DataFrame]]] | None = None) -> str:
    """Demand against available supply per day run, each over its own hours; ticks with demand
    above supply shaded; blacked-out generators per tick as bars on their own axis."""
    n = len(days)
    fig, axes = new_figure(n, 1, figsize=(11, 3.2 * n), squeeze=False)
    for ax, (name, (state, series)) in zip(axes[:, 0], days.items()):
        h = series["hour"].to_numpy()
        n_seeds = series.attrs.get("seeds")
        for col, style, text, colour in (("demand_mw", "-", "demand", "C0"), ("available_mw", "-", "available supply", "C1"),
                                         ("served_mw", ":", "served", "C2")):
            ax.plot(h, series[col], style, color=colour, label=text + (f" (mean of {n_seeds} seeds)" if n_seeds else ""))
            _series_band(ax, series, col, colour, f"{text}: 95 % interval over {n_seeds} seeds")
        runs = (seeds or {}).get(name) or [(state, series)]
        # a tick is short in a share of the seeds: shaded as deep as that share
        short = np.mean([(se.set_index("tick").reindex(series["tick"])["demand_mw"]
                          > se.set_index("tick").reindex(series["tick"])["available_mw"]).to_numpy() for _, se in runs], axis=0)
        top = float(max(series["demand_mw"].max(), series["available_mw"].max())) * 1.05
        for share in sorted(set(short[short > 0])):
            ax.fill_between(h, 0, top, where=short == share, color="orange", alpha=0.3 * share, step="mid", lw=0,
                            label="demand above supply" + (f" (in {share:.0%} of the seeds)" if len(runs) > 1 else ""))
        ax.set_ylim(0, top)
        ax.set_ylabel("MW")
        ax2 = ax.twinx()
        bo = np.mean([per_tick(st, SUPPLY_ROLES, "blacked_out", series["tick"]).to_numpy() for st, _ in runs], axis=0)
        step = float(np.median(np.diff(h))) if len(h) > 1 else 1.0
        ax2.bar(h, bo, width=0.8 * step, color="k", alpha=0.45,
                label="generators blacked out" + (f" (mean of {len(runs)} seeds)" if len(runs) > 1 else ""))
        ax2.set_ylim(0, max(1.0, bo.max() * 1.3))
        ax2.set_ylabel("generators blacked out")
        ax2.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(f"{name} ({consumers_of(state):,} consumers; MW of the scenario's scaled grid)", fontsize=10)
        lines, labels = ax.get_legend_handles_labels()
        l2, lb2 = ax2.get_legend_handles_labels()
        ax.legend(lines + l2, labels + lb2, fontsize=7, loc="upper left", bbox_to_anchor=(1.08, 1.0), borderaxespad=0)
        local_time_axis(ax, h)
    return _save(fig, path)


def partition_plot(state: pd.DataFrame, series: pd.DataFrame, schedule: list[dict], name: str, path: Path,
                   seeds: list[tuple[pd.DataFrame, pd.DataFrame]] | None = None) -> str:
    """Blacked-out generators per region, self-optimizing consumers and deferred MW over local time, the
    partition shaded. Of several seeds (`seeds`: every seed's state and series): each curve as
    the mean over the seeds with its 95 % band."""
    from scowl.stats import band

    ticks = series["tick"]
    h = series["hour"].to_numpy()
    tick_h = float(h[1] - h[0]) if len(h) > 1 else 1.0
    regions = sorted(c for c in state.columns if c.startswith("blackouts_region:"))
    fig, (a1, a2) = new_figure(2, 1, figsize=(11, 5.0), sharex=True)
    runs = seeds or [(state, series)]
    over = f" (mean of {len(runs)} seeds)" if len(runs) > 1 else ""
    for i, c in enumerate(regions):
        m, lo, hi = band([per_tick(st, SUPPLY_ROLES, c, ticks).to_numpy() for st, _ in runs])
        a1.step(h, m, where="mid", color=f"C{i}", label=f"region {c.split(':', 1)[1]}{over}")
        if over:
            a1.fill_between(h, np.maximum(lo, 0), hi, step="mid", color=f"C{i}", alpha=0.22, lw=0,
                            label=f"region {c.split(':', 1)[1]}: 95 % interval")
    a1.set_ylabel("generators\nblacked out")
    a1.yaxis.get_major_locator().set_params(integer=True)
    a1.set_ylim(bottom=0)
    a1.set_title(f"{name}: blackouts by region (partition shaded)")
    m, lo, hi = band([per_tick(st, "consumer", "self_optimizing", ticks).to_numpy() for st, _ in runs])
    a2.plot(h, m, color="C0", label=f"consumers self-optimizing{over}")
    if over:
        draw_band(a2, h, lo, hi, "C0", "self-optimizing: 95 % interval")
    a2.set_ylabel("consumers self-optimizing")
    a2.set_ylim(bottom=0)
    a3 = a2.twinx()
    a3.plot(h, series["deferred_mw"], "r--", lw=0.9, label=f"deferred demand (MW){over}")
    _series_band(a3, series, "deferred_mw", "r", "deferred: 95 % interval")
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
