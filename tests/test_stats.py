"""Means and 95 % t-intervals over seeds (scowl.stats): pure functions, checked against the
textbook values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scowl.stats import Interval, band, band_frame, interval, summary_intervals, t_quantile, welch_difference


@pytest.mark.parametrize(("df", "t"), [(1, 12.706), (4, 2.776), (9, 2.262), (30, 2.042), (120, 1.980), (10_000, 1.960)])
def test_t_quantiles_are_the_table_values(df, t):
    assert t_quantile(df) == pytest.approx(t, abs=2e-3)


def test_t_quantile_between_table_rows_lies_between_them():
    assert 2.042 > t_quantile(35) > 2.021
    with pytest.raises(ValueError):
        t_quantile(5, 0.9)


def test_interval_of_five_values():
    x = [10.0, 12.0, 11.0, 13.0, 9.0]
    iv = interval(x)
    sd = float(np.std(x, ddof=1))
    assert iv.mean == 11.0 and iv.n == 5 and iv.sd == pytest.approx(sd)
    assert iv.half_width == pytest.approx(2.776 * sd / math.sqrt(5), rel=1e-3)
    one = interval([3.0])
    assert one.mean == 3.0 and math.isnan(one.low)


def test_welch_difference_covers_a_shift():
    rng = np.random.default_rng(1)
    a, b = rng.normal(10, 1, 8), rng.normal(13, 2, 6)
    d = welch_difference(a, b)
    assert d.mean == pytest.approx(b.mean() - a.mean()) and d.low < d.mean < d.high
    assert d.low > 0  # a shift of 3 with these spreads is well outside the noise


def test_summary_intervals_cover_numbers_and_keep_constants():
    s = [{"scenario": "x", "seed": k, "energy_mwh": {"served": 10.0 + k}, "ok": True} for k in range(3)]
    got = summary_intervals(s)
    assert got["scenario"] == "x" and got["ok"] is True
    assert isinstance(got["energy_mwh.served"], Interval) and got["energy_mwh.served"].mean == 11.0
    assert got["seed"].n == 3


def test_band_is_the_interval_of_each_point():
    curves = [[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [2.0, 5.0, 9.0]]
    mean, low, high = band(curves)
    for i in range(3):
        iv = interval([c[i] for c in curves])
        assert mean[i] == pytest.approx(iv.mean)
        if iv.sd:
            assert (low[i], high[i]) == (pytest.approx(iv.low), pytest.approx(iv.high))
        else:  # the same in every seed: no width
            assert low[i] == high[i] == mean[i]
    one = band([[1.0, 2.0]])
    assert np.array_equal(one[0], [1.0, 2.0]) and np.array_equal(one[1], one[0]) and np.array_equal(one[2], one[0])


def test_band_frame_keeps_the_shared_ticks_and_adds_low_and_high():
    import pandas as pd

    a = pd.DataFrame({"tick": [0, 1, 2], "hour": [15.0, 15.25, 15.5], "served_mw": [10.0, 11.0, 12.0]})
    b = pd.DataFrame({"tick": [0, 1], "hour": [15.0, 15.25], "served_mw": [12.0, 13.0]})  # an interrupted seed
    f = band_frame([a, b], ["served_mw"])
    assert list(f["tick"]) == [0, 1] and list(f["hour"]) == [15.0, 15.25] and f.attrs["seeds"] == 2
    assert list(f["served_mw"]) == [11.0, 12.0]
    iv = interval([10.0, 12.0])
    assert f["served_mw_low"][0] == pytest.approx(iv.low) and f["served_mw_high"][0] == pytest.approx(iv.high)
