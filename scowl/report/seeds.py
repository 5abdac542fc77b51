"""A `scowl run --seeds N` directory in the report: each answer's figures computed for every
seed, then reported as their mean with its 95 % t-interval (scowl.stats), never one seed's
draw; and the day series of the seeds as one mean series with 95 % bands for the plots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from scowl.report.inputs import DayRun
from scowl.stats import Interval, band_frame, fmt_bound, fmt_interval, interval, intervals_json

#: (state, series) of a run, by label (the plots) and by run directory (every seed)
Loaded = dict[str, tuple[pd.DataFrame, pd.DataFrame]]


def load_days(days: list[DayRun]) -> Loaded:
    """Every day's state log and day series: by label for the plots (a seed set: its first seed's
    state and the seeds' mean series with bands), and by directory for each seed's figures."""
    from scowl.analysis.dayseries import day_series

    loaded: Loaded = {}
    for r in days:
        for s in r.seeds or [r]:
            loaded[str(s.path)] = (s.state(), day_series(s.path))
        if len(r.seeds) > 1:
            series = [loaded[str(s.path)][1] for s in r.seeds]
            cols = [c for c in series[0].columns if c not in ("tick", "time", "hour")]
            loaded[r.label] = (loaded[str(r.path)][0], band_frame(series, cols))
        else:
            loaded[r.label] = loaded[str(r.path)]
    return loaded


def seed_states(days: list[DayRun], loaded: Loaded) -> dict[str, list[tuple[pd.DataFrame, pd.DataFrame]]]:
    """label -> every seed's (state, series), for the days that are seed sets (the plots' bands)."""
    return {r.label: [loaded[str(s.path)] for s in r.seeds] for r in days if len(r.seeds) > 1}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def figures_of(run: DayRun, loaded: Loaded, figures: Callable[..., dict]) -> dict:
    """`figures(run, state, series)` of a day run; of a seed set, every numeric figure's mean over
    its seeds (nested tables of numbers, like blackouts by region, key by key), with "seeds" (how
    many) and "intervals" ({figure: {mean, low, high, sd, n}}); the rest from the first seed."""
    if len(run.seeds) <= 1:
        return figures(run, *loaded[str(run.path)])
    per = [figures(s, *loaded[str(s.path)]) for s in run.seeds]
    out = dict(per[0], run=run.label, dir=str(run.seed_dir or run.path))
    ivs: dict[str, Interval] = {}
    for key, first in per[0].items():
        if key in ("run", "dir"):
            continue
        if _number(first) and all(_number(p.get(key)) for p in per):
            ivs[key] = interval([float(p[key]) for p in per])
            out[key] = ivs[key].mean
        elif isinstance(first, dict) and first and all(_number(v) for v in first.values()):
            keys = sorted(set().union(*(p.get(key, {}) for p in per)))
            sub = {k: interval([float(p.get(key, {}).get(k, 0)) for p in per]) for k in keys}
            ivs.update({f"{key}.{k}": v for k, v in sub.items()})
            out[key] = {k: v.mean for k, v in sub.items()}
    out["seeds"] = len(per)
    out["intervals"] = intervals_json(ivs)
    return out


def pm(p: dict, key: str, fmt: str = ",.1f") -> str:
    """A figure as text: `mean ± half-width` when it is a mean over seeds, else the number."""
    v = p[key]
    iv = p.get("intervals", {}).get(key)
    if iv and iv.get("low") is not None and iv.get("sd"):
        return f"{v:{fmt}} ± {(iv['high'] - iv['low']) / 2:{fmt}}"
    if iv and float(v).is_integer():  # the same in every seed: a count stays a count
        return f"{int(v):,}"
    return f"{v:{fmt}}"


def count(p: dict, key: str) -> str:
    """A count as text: an integer as it is, a mean over seeds to one decimal (± half-width)."""
    return pm(p, key, ",.0f" if isinstance(p[key], int) else ",.1f")


def interval_detail(p: dict, names: dict[str, str] | None = None) -> str | None:
    """One detail line of a seed set's figures: each as mean ± half-width [95 % t-interval]."""
    ivs = p.get("intervals")
    if not ivs:
        return None
    parts = []
    for key, iv in ivs.items():
        if iv["low"] is None or iv["sd"] == 0:
            continue
        one = Interval(iv["mean"], iv["low"], iv["high"], iv["sd"], iv["n"])
        parts.append(f"{(names or {}).get(key, key.replace('_', ' '))} {fmt_interval(one)} "
                     f"[{fmt_bound(one.low)}, {fmt_bound(one.high)}]")
    constant = [k for k, iv in ivs.items() if iv["sd"] == 0]
    text = "; ".join(parts) or "no figure varied"
    same = f"; the same in every seed: {', '.join(k.replace('_', ' ') for k in constant)}" if constant else ""
    return f"{p['run']}, over its {p['seeds']} seeds (mean ± half-width [95 % t-interval]): {text}{same}"
