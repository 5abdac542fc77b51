"""Figures over several seeds: the mean and its 95 % confidence interval (Student's t), so a
stochastic day is reported as a range rather than one draw. Pure functions over summaries.

    summary_intervals([summary, ...]) -> {dotted key: Interval | constant}
    welch_difference(a_values, b_values) -> Interval of mean(B) - mean(A)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = ["Interval", "interval", "interval_frame", "intervals_table", "summary_intervals", "t_quantile", "welch_difference"]

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
    return Interval(mean, mean - h, mean + h, sd, n)


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
    h = t_quantile(max(1.0, df), confidence) * se
    return Interval(d, d - h, d + h, se, int(min(xa.size, xb.size)))


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def summary_values(summaries: Sequence[dict]) -> dict[str, list]:
    """{dotted key: [value per summary]} for keys every summary has."""
    from scowl.compare import flatten

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
    """"38.40 ± 0.12" (3 significant digits of the half-width decide the decimals)."""
    if math.isnan(iv.low):
        return _fmt_num(iv.mean)
    h = iv.half_width
    if h == 0:
        return f"{_fmt_num(iv.mean)} ± 0"
    decimals = max(0, min(6, 2 - int(math.floor(math.log10(abs(h))))))
    return f"{iv.mean:,.{decimals}f} ± {h:,.{decimals}f}"


def _fmt_num(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.2f}"


def intervals_table(intervals: dict[str, object], n: int, width: int = 100) -> str:
    """A text table of every figure over `n` seeds: mean ± half-width of its 95 % interval and
    [low, high]; figures the seeds agree on are listed once, after the numbers."""
    rows = []
    for k, v in intervals.items():
        if isinstance(v, Interval):
            rng = "" if math.isnan(v.low) else f"[{v.low:,.4g}, {v.high:,.4g}]"
            rows.append((k, fmt_interval(v), rng))
    w0 = min(max((len(r[0]) for r in rows), default=6), 52)
    w1 = max((len(r[1]) for r in rows), default=4)
    head = f"{'figure':<{w0}}  {'mean ± 95 % CI':>{w1}}  range (low, high)"
    out = [f"{n} seeds: every figure as the mean and the half-width of its 95 % t-interval", "", head, "-" * min(width, len(head) + 12)]
    section = None
    for k, a, b in rows:
        top = k.split(".", 1)[0] if "." in k else "run"
        if section is not None and top != section:
            out.append("")
        section = top
        key = k if len(k) <= w0 else k[: w0 - 1] + "…"
        out.append(f"{key:<{w0}}  {a:>{w1}}  {b}"[:width].rstrip())
    same = [f"{k} = {v}" for k, v in intervals.items() if not isinstance(v, (Interval, list))]
    if same:
        out += ["", "the same in every seed: " + "; ".join(same[:8]) + (" ..." if len(same) > 8 else "")]
    return "\n".join(out)
