"""Summary arithmetic that must hold on any state log (pure, no run)."""

from __future__ import annotations

import pandas as pd
import pytest

from scowl.analysis.results import _ticks_above
from scowl.config import load_scenario
from scowl.plan import fixed_load_blocks


def test_ticks_above_compares_only_ticks_both_sides_reported():
    demand = pd.Series([5.0, 9.0, 7.0, 8.0], index=[0, 1, 2, 3])
    supply = pd.Series([6.0, 8.0, 9.0], index=[0, 1, 3])  # tick 2: a late actor sent nothing
    assert _ticks_above(demand, supply) == 1


def test_fixed_load_blocks_fit_the_smallest_generator():
    sc = load_scenario("configs/small.toml")
    n_big, mw_big = fixed_load_blocks(sc)  # no generator given: about 1 MW each
    n, mw = fixed_load_blocks(sc, smallest_unit_mw=0.4)
    assert mw_big <= 1.0 and mw <= 0.05 * 0.4 + 1e-12
    assert n * mw == pytest.approx(n_big * mw_big)  # the same total load, in smaller pieces


def test_stand_in_rows_of_an_absent_peer_do_not_poison_the_rates(small_run):
    """A dead peer's ticks are rows with absent = 1 and no figures; the summary skips them."""
    import math

    from scowl.analysis.results import load_run, summarize

    out, s = small_run
    state, finals, _ = load_run(out)
    stand_in = pd.DataFrame([{"tick": 3, "actor": "tracker-0", "role": "tracker", "absent": 1.0}])
    meta = {k: s[k] for k in ("scenario", "seed", "pacing", "transport", "peers", "tick_seconds", "wall_seconds", "version")}
    again = summarize(pd.concat([state, stand_in], ignore_index=True), finals, {**meta, "partitions": []})
    r = again["rebalance"]
    assert all(math.isfinite(r[k]) for k in ("rate_hz_mean", "rate_hz_p5", "round_ms_mean", "round_ms_max"))
    assert r["rounds"] == s["rebalance"]["rounds"] and again["energy_mwh"] == s["energy_mwh"]
