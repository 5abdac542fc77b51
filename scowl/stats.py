"""Figures over several seeds: the mean and its 95 % confidence interval (Student's t), so a
stochastic day is reported as a range rather than one draw. Pure functions over summaries.

    summary_intervals([summary, ...]) -> {dotted key: Interval | constant}
    welch_difference(a_values, b_values) -> Interval of mean(B) - mean(A)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = ["Interval", "band", "band_frame", "interval", "interval_frame", "intervals_table", "summary_intervals", "t_quantile", "welch_difference"]

# two-sided 95 %: the 0.975 quantile of Student's t by degrees of freedom (the usual table)
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086,
         21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042,
         40: 2.021, 60: 2.000, 120: 1.980}
_Z975 = 1.959964


def t_quantile(df: float, confidence: float = 0.95) -> float:
    """The two-sided `confidence` quantile of Student's t with `df` degrees of freedom (95 %
    only: from the table, interpolated in 1/df between its rows; the normal's beyond 120)."""
    if abs(confidence - 0.95) > 1e-12:
        raise ValueError(f"confidence {confidence}: only 0.95 is tabulated")
    if not df >= 1:
        raise ValueError(f"degrees of freedom {df}: expected >= 1")
    if df in _T975:
        return _T975[int(df)]
    if df > 120:
        lo_df, lo_t, hi_df, hi_t = 120.0, _T975[120], math.inf, _Z975
    else:
        keys = sorted(_T975)
        hi_df = float(next(k for k in keys if k >= df))
        lo_df = float(max(k for k in keys if k <= df))
        lo_t, hi_t = _T975[int(lo_df)], _T975[int(hi_df)]
    x, x0, x1 = 1 / df, 1 / lo_df, (0.0 if math.isinf(hi_df) else 1 / hi_df)
    return hi_t + (lo_t - hi_t) * (x - x1) / (x0 - x1)


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float  # NaN with one seed: no interval
    high: float
    sd: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The mean of `values` and its t-interval."""
    x = np.asarray(values, dtype=np.float64)
    n = int(x.size)
    if n == 0:
        raise ValueError("no values")
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, math.nan, 1)
    sd = float(x.std(ddof=1))
    h = t_quantile(n - 1, confidence) * sd / math.sqrt(n)
    return Interval(mean, float(mean - h), float(mean + h), sd, n)


def band(curves: Sequence[Sequence[float]] | Sequence[np.ndarray], confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Several equally long curves (one per seed), point by point: the mean and its t-interval
    (low, high), as `interval` gives for one figure; with one curve the band is the curve."""
    a = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    n = a.shape[0]
    mean = a.mean(axis=0)
    if n < 2:
        return mean, mean.copy(), mean.copy()
    h = t_quantile(n - 1, confidence) * a.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - h, mean + h


def band_frame(frames: Sequence[pd.DataFrame], columns: Sequence[str], key: str = "tick") -> pd.DataFrame:
    """Per-tick frames of several seeds of one day as one: each of `columns` as its mean, with
    `<column>_low` and `<column>_high` its 95 % band; the other columns (time, hour) from the
    first frame; only the ticks every frame has. attrs["seeds"]: how many frames."""
    common = set(frames[0][key])
    for f in frames[1:]:
        common &= set(f[key])
    rows = [f[f[key].isin(common)].sort_values(key).reset_index(drop=True) for f in frames]
    out = rows[0].copy()
    for col in columns:
        mean, low, high = band([r[col].to_numpy(np.float64) for r in rows])
        out[col], out[f"{col}_low"], out[f"{col}_high"] = mean, low, high
    out.attrs["seeds"] = len(frames)
    return out


def welch_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Interval:
    """mean(b) - mean(a) with Welch's t-interval (unequal variances, Welch-Satterthwaite df)."""
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = float(xb.mean() - xa.mean())
    if xa.size < 2 or xb.size < 2:
        return Interval(d, math.nan, math.nan, math.nan, int(min(xa.size, xb.size)))
    va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(d, d, d, 0.0, int(min(xa.size, xb.size)))
    df = (va + vb) ** 2 / (va**2 / (xa.size - 1) + vb**2 / (xb.size - 1))
    h = t_quantile(max(1.0, float(df)), confidence) * se
    return Interval(d, float(d - h), float(d + h), float(se), int(min(xa.size, xb.size)))


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def summary_values(summaries: Sequence[dict]) -> dict[str, list]:
    """{dotted key: [value per summary]} for keys every summary has."""
    from scowl.analysis.compare import flatten

    flat = [flatten(s) for s in summaries]
    keys = [k for k in flat[0] if all(k in f for f in flat[1:])]
    return {k: [f[k] for f in flat] for k in keys}


def summary_intervals(summaries: Sequence[dict], confidence: float = 0.95) -> dict[str, object]:
    """Every figure of several runs' summaries: an Interval for a number every run has, the
    value itself where all runs agree (scenario, tick length), else the list of values."""
    out: dict[str, object] = {}
    for k, vals in summary_values(summaries).items():
        if all(_number(v) for v in vals):
            out[k] = interval([float(v) for v in vals], confidence)
        elif all(v == vals[0] for v in vals):
            out[k] = vals[0]
        else:
            out[k] = vals
    return out


def interval_frame(intervals: dict[str, object]) -> pd.DataFrame:
    """The numeric figures as a table: figure, mean, low, high, half_width, sd, n."""
    rows = [{"figure": k, **asdict(v), "half_width": v.half_width} for k, v in intervals.items() if isinstance(v, Interval)]
    return pd.DataFrame(rows, columns=["figure", "mean", "low", "high", "half_width", "sd", "n"])


def fmt_interval(iv: Interval) -> str:
    """"38.40 ± 0.12": the half-width to 2-3 significant digits and the mean to the same decimals."""
    if math.isnan(iv.low):
        return _fmt_num(iv.mean)
    h = iv.half_width
    if h == 0:
        return f"{_fmt_num(iv.mean)} ± 0"
    if abs(h) < 1e-6:
        return f"{iv.mean:.3g} ± {h:.1g}"
    decimals = max(0, 2 - math.floor(math.log10(abs(h))))
    return f"{iv.mean:,.{decimals}f} ± {h:,.{decimals}f}"


def fmt_bound(v: float) -> str:
    """An interval's end: 4 significant digits, never in exponent notation below 10^15."""
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:,.4g}"


def _fmt_num(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.2f}"


#: not figures of the day: the seed itself and the layout version
_NOT_FIGURES = ("summary_version", "seed")


def intervals_table(intervals: dict[str, object], n: int, width: int = 100) -> str:
    """A text table of every figure that varies over the `n` seeds: the mean ± the half-width of
    its 95 % t-interval, and the interval; figures every seed agrees on are listed once after it."""
    import textwrap

    rows, same = [], []
    for k, v in intervals.items():
        if k in _NOT_FIGURES:
            continue
        if isinstance(v, Interval) and (v.n < 2 or v.sd > 0):
            rng = "" if math.isnan(v.low) else f"[{fmt_bound(v.low)}, {fmt_bound(v.high)}]"
            rows.append((k, fmt_interval(v), rng))
        elif isinstance(v, Interval):
            same.append(f"{k} {_fmt_num(v.mean)}")
        elif not isinstance(v, list):
            same.append(f"{k} {v}")
    w0 = min(max((len(r[0]) for r in rows), default=6), 52)
    w1 = max((len(r[1]) for r in rows), default=4)
    head = f"{'figure':<{w0}}  {'mean ± half-width':>{w1}}  95 % interval"
    out = [f"{n} seeds: each figure as the mean and its 95 % t-interval over the seeds", "", head, "-" * min(width, len(head) + 14)]
    section = None
    for k, a, b in rows:
        top = k.split(".", 1)[0] if "." in k else "run"
        if section is not None and top != section:
            out.append("")
        section = top
        key = k if len(k) <= w0 else k[: w0 - 1] + "…"
        out.append(f"{key:<{w0}}  {a:>{w1}}  {b}"[:width].rstrip())
    if same:
        out += ["", *textwrap.wrap("the same in every seed: " + "; ".join(same), width=width, subsequent_indent="  ")]
    return "\n".join(out)


def intervals_json(intervals: Mapping[str, object]) -> dict[str, object]:
    """Intervals as plain data: {key: {"mean", "low", "high", "sd", "n"}} (NaN as null), constants as they are."""
    def clean(v: float):
        return None if isinstance(v, float) and math.isnan(v) else v
    return {k: ({f: clean(x) for f, x in asdict(v).items()} if isinstance(v, Interval) else v) for k, v in intervals.items()}


def write_seeds(out_dir, runs) -> dict:
    """OUT/seeds.json: the seeds, their run directories and every figure's mean and 95 % interval."""
    import json
    from pathlib import Path

    result = {"kind": "seeds", "seeds_version": 1, "confidence": 0.95, "interval": "Student t over the seeds",
              "scenario": runs[0].summary.get("scenario"), "seeds": [r.summary.get("seed") for r in runs],
              "runs": [str(r.dir) for r in runs], "figures": intervals_json(runs.intervals())}
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "seeds.json").write_text(json.dumps(result, indent=1))
    return result


def load_seed_summaries(run_dir) -> list[dict] | None:
    """The summaries of a `--seeds` directory (OUT/seed-*/summary.json), or None if it is not one."""
    import json
    from pathlib import Path

    d = Path(run_dir)
    if (d / "summary.json").is_file():
        return None
    found = sorted(d.glob("seed-*/summary.json"), key=lambda p: int(p.parent.name.split("-", 1)[1]) if p.parent.name.split("-", 1)[1].isdigit() else 0)
    return [json.loads(p.read_text()) for p in found] or None


def compare_intervals(a: Sequence[dict], b: Sequence[dict]) -> list[dict]:
    """Two sets of seeds' summaries, figure by figure: each side's mean and 95 % interval and
    the difference of the means with Welch's 95 % interval ("clear": the interval excludes 0)."""
    va, vb = summary_values(a), summary_values(b)
    rows = []
    for k in [k for k in va if k in vb and k not in _NOT_FIGURES]:
        xa, xb = va[k], vb[k]
        if not (all(_number(v) for v in xa) and all(_number(v) for v in xb)):
            continue
        ia, ib = interval([float(v) for v in xa]), interval([float(v) for v in xb])
        d = welch_difference([float(v) for v in xa], [float(v) for v in xb])
        clear = bool(not math.isnan(d.low) and (d.low > 0 or d.high < 0))
        rows.append({"key": k, "a": intervals_json({"x": ia})["x"], "b": intervals_json({"x": ib})["x"],
                     "diff": intervals_json({"x": d})["x"], "clear": clear})
    return rows


def compare_intervals_table(rows: list[dict], label_a: str, label_b: str, n_a: int, n_b: int, width: int = 100) -> str:
    """The comparison as text: A and B as mean ± half-width, B - A with its Welch interval, and
    `*` where that interval excludes 0 (a difference the seeds' spread does not explain)."""
    def cell(d: dict) -> str:
        low = math.nan if d["low"] is None else d["low"]
        high = math.nan if d["high"] is None else d["high"]
        return fmt_interval(Interval(d["mean"], low, high, d["sd"] or 0.0, d["n"]))
    cells = [(r["key"], cell(r["a"]), cell(r["b"]), cell(r["diff"]) + (" *" if r["clear"] else "")) for r in rows
             if not (r["a"]["sd"] == 0 and r["b"]["sd"] == 0 and r["a"]["mean"] == r["b"]["mean"])]
    head = ("figure", f"{label_a} ({n_a} seeds)", f"{label_b} ({n_b} seeds)", f"{label_b} - {label_a}")
    w = [max(len(head[i]), *(len(c[i]) for c in cells)) if cells else len(head[i]) for i in range(4)]
    w[0] = min(w[0], max(16, width - 6 - w[1] - w[2] - w[3]))
    out = [f"{head[0]:<{w[0]}}  {head[1]:>{w[1]}}  {head[2]:>{w[2]}}  {head[3]:>{w[3]}}"[:width], "-" * min(width, sum(w) + 6)]
    section = None
    for c in cells:
        top = c[0].split(".", 1)[0] if "." in c[0] else "run"
        if section is not None and top != section:
            out.append("")
        section = top
        key = c[0] if len(c[0]) <= w[0] else c[0][: w[0] - 1] + "…"
        out.append(f"{key:<{w[0]}}  {c[1]:>{w[1]}}  {c[2]:>{w[2]}}  {c[3]:>{w[3]}}"[:width].rstrip())
    out += ["", "mean ± half-width of the 95 % t-interval over the seeds; B - A with Welch's 95 % interval,",
            "* where it excludes 0; figures equal in every seed of both runs are left out"]
    return "\n".join(out)
