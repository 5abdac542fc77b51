"""When to shard: one tracker's round cost fitted against its consumers, the trackers a target
rate needs, and the runs that confirm it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

FIT_SPAN = 10.0  # the round cost is fitted over runs within this factor of the largest tracker load
CONFIRM_RUNS = 3  # at most this many confirming runs, each refitted with the ones before it


def tracker_cost_model(table: pd.DataFrame) -> dict:
    """Round time of one tracker against the consumers in its trees: t = a + b n, least squares in
    relative error (one point per run: mean round time, mean consumers per tracker). Fitted over
    the runs within a factor FIT_SPAN of the largest load measured, where sharding is decided
    (round time grows faster than linearly at scale: a fit over every run is optimistic there)."""
    runs = table.drop_duplicates("run")
    x = runs["consumers_per_tracker"].to_numpy(float)
    y = runs["round_ms_mean"].to_numpy(float) / 1e3
    ok = (x > 0) & (y > 0)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.ptp(x) == 0:
        return {"ok": False, "why": "fewer than two runs with different consumers per tracker"}
    near = x >= x.max() / FIT_SPAN
    if near.sum() >= 2 and np.ptp(x[near]) > 0:
        x, y = x[near], y[near]
    w = 1.0 / y
    A = np.vstack([np.ones_like(x), x]).T
    a, b = (float(v) for v in np.linalg.lstsq(A * w[:, None], y * w, rcond=None)[0])
    if a < 0:  # growing faster than linearly: no fixed cost, the line through the largest run
        i = int(np.argmax(x))
        a, b = 0.0, float(y[i] / x[i])
    b = max(b, 1e-15)
    return {"ok": True, "a_s": a, "b_s_per_consumer": b, "consumers_per_s": 1.0 / b, "points": int(len(x)),
            "fit_from_consumers": float(x.min())}


def shard_plan(table: pd.DataFrame, target_hz: float, target_consumers: int) -> dict:
    """Trackers needed to hold `target_hz` with `target_consumers` consumers, from one tracker's
    measured capacity (the cost model)."""
    m = tracker_cost_model(table)
    if not m["ok"]:
        return {"ok": False, "why": m["why"]}
    budget = 1.0 / target_hz
    if budget <= m["a_s"]:
        return {**m, "ok": False, "why": f"a round's fixed cost ({1e3 * m['a_s']:.2f} ms) already exceeds the {1e3 * budget:.1f} ms "
                f"a {target_hz:g} Hz rate allows: no number of trackers reaches it"}
    per_tracker = (budget - m["a_s"]) / m["b_s_per_consumer"]
    need = max(1, math.ceil(target_consumers / per_tracker))
    return {**m, "ok": True, "target_hz": target_hz, "target_consumers": int(target_consumers),
            "consumers_per_tracker_max": float(per_tracker), "trackers": int(need),
            "text": (f"One tracker's round costs {1e3 * m['a_s']:.2f} ms + {1e9 * m['b_s_per_consumer']:.1f} ns per consumer "
                     f"(fitted over the {m['points']} runs from {m['fit_from_consumers']:,.0f} consumers per tracker up): at {target_hz:g} Hz it can hold {per_tracker:,.0f} consumers, "
                     f"so {target_consumers:,} consumers need {need} tracker(s). Shard when a tracker's trees pass "
                     f"{per_tracker:,.0f} consumers.")}


# ---------------------------------------------------------------- the sweep

def default_target_hz(table: pd.DataFrame, scale: float) -> float:
    """Twice the rate the fewest trackers held at `scale` (whole Hz, at least 1): a target the
    sweep itself missed, so the plan has to shard. None measured there: the scale nearest below."""
    fewest = table[table["trackers"] == table["trackers"].min()].drop_duplicates("run")
    at = fewest[fewest["scale"] <= scale].sort_values("scale")
    if at.empty:
        raise ValueError(f"no run of {int(table['trackers'].min())} tracker(s) at or below scale {scale:g} to set a target rate from")
    return float(max(1.0, round(2 * at["rate_hz_mean"].iloc[-1])))


def confirm_plan(do_point, table: pd.DataFrame, scale: float, shard: dict, say) -> tuple[pd.DataFrame, list[dict]]:
    """Run the planned tracker count at the target scale; if it misses the target rate, refit the
    cost with that run and run again with more trackers, up to CONFIRM_RUNS runs. Returns the
    table with the confirming runs (confirm=True) and one record per run."""
    target_hz, trackers, attempts = shard["target_hz"], shard["trackers"], []
    for i in range(1, CONFIRM_RUNS + 1):
        more = do_point(i, CONFIRM_RUNS, scale, trackers, tag="-confirm" if i == 1 else f"-confirm{i}")
        if not more:
            break
        c = more[0]
        attempts.append({"run": c["run"], "trackers": trackers, "rate_hz_mean": c["rate_hz_mean"], "rate_hz_p5": c["rate_hz_p5"],
                         "consumers_per_tracker": c["consumers_per_tracker"], "held": bool(c["rate_hz_mean"] >= target_hz)})
        table = pd.concat([table, pd.DataFrame([{**r, "confirm": True} for r in more])], ignore_index=True)
        say(f"CONFIRM: {trackers} tracker(s) at scale {scale:g}: {c['rate_hz_mean']:,.1f} Hz mean (p5 {c['rate_hz_p5']:,.1f}) "
            f"against the {target_hz:g} Hz target: " + ("held" if attempts[-1]["held"] else "NOT held"))
        if attempts[-1]["held"]:
            break
        again = shard_plan(table, target_hz, shard["target_consumers"])
        if not again["ok"]:
            say(f"  refitted with that run: {again['why']}")
            break
        trackers = max(trackers + 1, again["trackers"])
        if i < CONFIRM_RUNS:
            say(f"  refitted with that run: {again['text']} Trying {trackers}.")
    return table, attempts
