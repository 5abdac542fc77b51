"""Demand: the statewide peak at scale 1.0 is the season's Gold Book peak at the hour NYISO's
hourly data put it (summer 17:00, winter 18:00); the minimum/peak ratio is the data's; a heat
wave raises the day by data/stress.csv's uplift; a scenario's own load series replaces the shape."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.config import load_scenario, override, packaged_scenarios
from scowl.model import (
    build_grid,
    demand_shares,
    expected_demand_mw,
    load_shape,
    timeline,
)

GOLD_BOOK_PEAK = 32_121.0


def _ny(scale, **changes):
    """ny2030 without the heat wave (the ordinary summer weekday), at `scale`."""
    return override(load_scenario(packaged_scenarios()["ny2030"]), {"scenario.scale": scale, "stress.heat_wave": False, **changes})


def test_analytic_peak_at_full_scale_is_the_gold_book_peak_late_afternoon():
    sc = _ny(1.0)
    total = expected_demand_mw(sc)["total"]
    peak = total.max()
    assert abs(peak - GOLD_BOOK_PEAK) / GOLD_BOOK_PEAK < 0.02, peak
    h = timeline(sc).local_hour[np.argmax(total)]
    assert 15.0 <= h <= 19.0, h


def test_stepped_peak_at_full_scale_within_two_percent():
    """All 8.9 million consumers, stepped around the analytic peak (about 3 s)."""
    sc = _ny(1.0)
    peak_tick = int(np.argmax(expected_demand_mw(sc)["total"]))
    grid = build_grid(sc)
    dm = grid.demand(start_tick=peak_tick - 6)
    totals = [dm.step(t).sum(dtype=np.float64) / 1000.0 + grid.fixed_loads.total_mw for t in range(peak_tick - 6, peak_tick + 7)]
    assert abs(max(totals) - GOLD_BOOK_PEAK) / GOLD_BOOK_PEAK < 0.02, max(totals)
    assert grid.bytes_per_consumer(dm) <= 64


def test_demand_by_type_matches_the_facts_at_the_peak():
    e = expected_demand_mw(_ny(1.0))
    i = int(np.argmax(e["total"]))
    assert e["residential"][i] + e["commercial"][i] == pytest.approx(11_173.33 + 16_441.96, rel=1e-6)
    assert e["residential"][i] == pytest.approx(11_173.33, rel=0.01)  # both class shapes are at 1.0 at 17:00
    assert e["industrial"][i] == pytest.approx(3_872.84) and e["transportation"][i] == pytest.approx(632.87)


def test_summer_weekday_min_over_peak_is_the_hourly_data():
    total = expected_demand_mw(_ny(1.0))["total"]
    assert 0.55 <= total.min() / total.max() <= 0.70
    assert total.min() / total.max() == pytest.approx(19_297 / 30_919, abs=0.005)  # the 2021 summer peak day


def test_january_weekday_peaks_at_the_winter_gold_book_peak_in_the_early_evening():
    sc = _ny(1.0, **{"scenario.date": "2030-01-16", "scenario.mix_year": 2022})  # a Wednesday
    total = expected_demand_mw(sc)["total"]
    assert abs(total.max() - 25_275) / 25_275 < 0.03
    assert 17.0 <= timeline(sc).local_hour[np.argmax(total)] <= 19.0
    assert 0.70 <= total.min() / total.max() <= 0.80  # winter is flatter (2021 winter peak day: 0.75)


def test_weekend_is_lower_and_flatter_and_heat_wave_raises_the_day():
    wd = expected_demand_mw(_ny(1.0))["total"]
    we = expected_demand_mw(_ny(1.0, **{"scenario.date": "2030-07-20"}))["total"]  # a Saturday
    assert we.sum() == pytest.approx(0.86 * wd.sum(), rel=0.01)  # July weekend energy 14 % below (facts)
    assert we.min() / we.max() == pytest.approx(0.73, abs=0.01)
    hot = expected_demand_mw(_ny(1.0, **{"stress.heat_wave": True}))["total"]
    np.testing.assert_allclose(hot, wd * 1.06)


def test_own_load_series_replaces_the_shape_and_errors_name_file_column_row(tmp_path):
    from scowl.model.series import SeriesError

    csv = tmp_path / "load.csv"
    csv.write_text("hour,total_mw\n0,20000\n12,30000\n24,20000\n")
    cfg = tmp_path / "s.toml"
    cfg.write_text('[scenario]\nname = "own"\nscale = 0.5\n[series]\nload = "load.csv"\n')
    sc = load_scenario(cfg)
    total = expected_demand_mw(sc)["total"]
    assert total[0] == pytest.approx(10_000) and total.max() == pytest.approx(15_000)
    assert total[72] == pytest.approx(12_500)  # 06:00, interpolated
    csv.write_text("hour,total_mw\n0,20000\n12,lots\n24,20000\n")
    from scowl.model.series import load_series

    load_series.cache_clear()
    with pytest.raises(SeriesError, match=r"load.csv: column 'total_mw', row 2: expected a number, found 'lots'"):
        expected_demand_mw(load_scenario(cfg))
    csv.write_text("hour,total_mw\n0,20000\n12,30000\n")
    load_series.cache_clear()
    with pytest.raises(SeriesError, match="load.csv: column 'hour'.*covering the run"):
        expected_demand_mw(load_scenario(cfg))


def test_commercial_follows_business_hours():
    weekday = np.array([True])
    night, noon, evening = (load_shape(np.array([h]), weekday, 1)[0] for h in (3.0, 13.0, 21.0))
    assert noon > 2 * night and noon > evening
    assert load_shape(np.array([13.0]), np.array([False]), 1)[0] < noon  # weekend


def test_shares_sum_to_one_with_deferral_windows():
    s = demand_shares(_ny(0.01))
    assert s.fixed + s.responsive + sum(share for _, share, _ in s.deferrable) == pytest.approx(1.0)
    windows = {load: w for load, _, w in s.deferrable}
    assert windows == {"hvac": 600, "hot_water": 300, "fridge": 180, "washer_dryer": 900, "dishwasher": 1800, "other": 1800}
    assert s.fixed == pytest.approx(0.13) and s.responsive == pytest.approx(0.10)


def test_per_consumer_variation_is_correlated_in_time():
    grid = build_grid(_ny(0.002))
    dm = grid.demand()
    states = []
    for t in range(60):
        dm.step(t)
        states.append(dm.state.copy())
    x = np.stack(states)
    lag1 = (x[1:] * x[:-1]).mean() / (x * x).mean()
    assert lag1 == pytest.approx(np.exp(-300 / 3600), abs=0.02)
    assert x.std() == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="expected tick 60"):
        dm.step(62)


@pytest.mark.slow
def test_full_day_at_full_scale_peaks_late_afternoon():
    """Every consumer of New York through all 288 ticks (about a minute)."""
    sc = _ny(1.0)
    grid = build_grid(sc)
    dm = grid.demand()
    totals = np.array([dm.step(t).sum(dtype=np.float64) / 1000.0 for t in range(sc.ticks + 1)]) + grid.fixed_loads.total_mw
    assert abs(totals.max() - GOLD_BOOK_PEAK) / GOLD_BOOK_PEAK < 0.02
    assert 15.0 <= timeline(sc).local_hour[np.argmax(totals)] <= 19.0
    np.testing.assert_allclose(totals, expected_demand_mw(sc)["total"], rtol=0.01)


def test_own_load_series_by_class_from_parquet(tmp_path):
    import pandas as pd

    pd.DataFrame({"time": ["2030-07-17T00:00", "2030-07-17T12:00", "2030-07-18T00:00"],
                  "residential_mw": [8_000.0, 10_000.0, 8_000.0], "commercial_mw": [9_000.0, 15_000.0, 9_000.0]}
                 ).to_parquet(tmp_path / "load.parquet")
    cfg = tmp_path / "s.toml"
    cfg.write_text('[scenario]\nname = "own"\nscale = 0.1\n[series]\nload = "load.parquet"\n')
    sc = load_scenario(cfg)
    assert sc.series.load == str((tmp_path / "load.parquet").resolve())  # kept absolute for copies of the scenario
    e = expected_demand_mw(sc)
    assert e["residential"][144] == pytest.approx(1_000.0, rel=1e-6) and e["commercial"][0] == pytest.approx(900.0, rel=1e-6)
    assert e["total"][144] == pytest.approx(2_500.0 + 0.1 * (3_872.84 + 632.87), rel=1e-6)


def test_the_state_moved_ahead_a_block_at_a_time_gives_the_same_demand(monkeypatch):
    """DemandModel.advance in pieces (what a population does while its trackers round), then
    step: the same kW, bit for bit, as step alone; a step past the advanced tick is refused."""
    from scowl.model import demand

    monkeypatch.setattr(demand, "BLOCK", 1000)  # several blocks in a small population
    grid = build_grid(_ny(0.002))
    whole, ahead = grid.demand(), grid.demand()
    assert len(whole.state) > 3 * demand.BLOCK
    for t in range(6):
        if t:  # (tick 0's state is drawn, then moved a block per call)
            done = [ahead.advance(t, blocks=1) for _ in range(2)]
            assert done == [False, False]
        np.testing.assert_array_equal(ahead.step(t).view(np.uint32), whole.step(t).view(np.uint32))
    assert ahead.advance(6, blocks=10**6) is True
    with pytest.raises(ValueError, match="expected tick 6"):
        ahead.advance(7)
