"""Supply: solar dark at night, wind correlated in time at New York's observed capacity factor and
ramps, nuclear fixed at its observed factor, hydro at its monthly factor, gas ramps, and the
stresses (forced outages, the trip of the largest unit, a calm evening) from named streams."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.config import load_scenario, override, packaged_scenarios
from scowl.model import TYPE_CODES, build_grid, ramp_limit, solar_elevation, timeline


@pytest.fixture(scope="module")
def ny():
    sc = load_scenario(packaged_scenarios()["ny2030"])
    grid = build_grid(override(sc, {"scenario.scale": 0.02, "stress.forced_outages": False, "stress.trip_largest_at": None,
                                    "stress.low_wind_evening": False}))
    return grid, grid.supply()


def _cols(grid, *types):
    return np.isin(grid.generators.type_code, [TYPE_CODES[t] for t in types])


def test_solar_is_zero_at_night_and_peaks_near_solar_noon(ny):
    grid, supply = ny
    tl = timeline(grid.scenario)
    solar = supply.profile[:, _cols(grid, "utility-scale solar", "distributed solar")].sum(axis=1)
    el = solar_elevation(tl.day_of_year, tl.utc_hour)
    night = el <= 0
    assert night.sum() > 60  # about 9 hours of the day's 5-minute ticks
    assert np.all(solar[night] == 0.0)
    assert np.all(solar[~night] >= 0.0) and solar[~night].max() > 0
    h = tl.local_hour
    assert np.all(solar[(h < 5.0) | (h > 21.0)] == 0.0)  # EDT, July: sun rises ~05:40, sets ~20:35
    assert 11.0 <= h[np.argmax(solar)] <= 15.5
    # the sun's own path peaks at solar noon, ~13:05 EDT at 75.5 W, at ~68-69 degrees
    assert 12.9 <= h[np.argmax(el)] <= 13.3
    assert el.max() == pytest.approx(90 - 42.7 + 21.1, abs=0.6)


def test_wind_is_correlated_in_time_not_white_noise(ny):
    grid, supply = ny
    wind = supply.profile[:, _cols(grid, "land-based wind", "offshore wind")]
    cap = grid.generators.nameplate_mw[_cols(grid, "land-based wind", "offshore wind")]
    f = wind / cap
    for j in range(f.shape[1]):
        x = f[:, j] - f[:, j].mean()
        lag1 = (x[1:] * x[:-1]).sum() / (x * x).sum()
        assert lag1 > 0.9, lag1
        assert np.abs(np.diff(f[:, j])).max() < 0.25
    assert 0.0 < f.mean() < 0.6


def test_nuclear_fixed_hydro_near_ninety_gas_at_capacity(ny):
    grid, supply = ny
    g = grid.generators
    nuc = _cols(grid, "nuclear")
    np.testing.assert_allclose(supply.profile[:, nuc], np.broadcast_to(0.98 * g.nameplate_mw[nuc], supply.profile[:, nuc].shape))
    hyd = supply.profile[:, _cols(grid, "hydroelectric")] / g.nameplate_mw[_cols(grid, "hydroelectric")]
    assert 0.45 < hyd.mean() < 0.95  # July's observed 0.712 with the month's spread
    gas = _cols(grid, "natural gas-fired")
    assert np.all(supply.profile[:, gas] == g.nameplate_mw[gas])


def test_one_generator_alone_gets_the_same_path(ny):
    grid, supply = ny
    for i in (0, len(grid.generators) // 2, len(grid.generators) - 1):
        alone = grid.supply(indices=[i])
        np.testing.assert_array_equal(alone.profile[:, 0], supply.profile[:, i])


def test_ramp_limit():
    assert ramp_limit(50.0, 100.0, 10.0, 30.0, 90.0) == 60.0
    assert ramp_limit(50.0, 0.0, 10.0, 45.0, 90.0) == 45.0
    assert ramp_limit(85.0, 100.0, 10.0, 30.0, 90.0) == 90.0
    out = ramp_limit(np.array([50.0, 50.0]), np.array([52.0, 10.0]), np.array([5.0, 5.0]), 30.0, 90.0)
    np.testing.assert_array_equal(out, [52.0, 45.0])


def _wind_days(month: int, days: int = 12):
    """Land-wind fleet output (fraction of capacity) hour by hour over `days` seeded days of
    `month`, 2022 fleet at scale 1.0."""
    from scowl.config import scenario_from_dict
    from scowl.model import SupplyModel, build_generators
    from scowl.streams import StreamRepo

    out = []
    for seed in range(days):
        sc = scenario_from_dict({"scenario": {"name": "w", "date": f"2022-{month:02d}-13", "mix_year": 2022, "scale": 1.0, "seed": seed}})
        g = build_generators(sc, StreamRepo(seed))
        sel = np.flatnonzero(g.type_code == TYPE_CODES["land-based wind"])
        p = SupplyModel(g, sc, indices=sel).profile.sum(axis=1)
        out.append(p[::12] / g.nameplate_mw[sel].sum())
    return out


def test_july_land_wind_capacity_factor_and_ramps_match_new_york():
    """Acceptance: July land-wind CF in 0.08-0.30 (observed 0.12-0.14) and the fleet's one-hour
    change p99 in 8-20 % of capacity (observed 12.7 %), over a dozen seeded days."""
    days = _wind_days(7)
    cf = float(np.mean([d.mean() for d in days]))
    p99 = float(np.percentile(np.abs(np.concatenate([np.diff(d) for d in days])), 99))
    assert 0.08 <= cf <= 0.30, cf
    assert 0.08 <= p99 <= 0.20, p99
    assert np.mean([d.mean() for d in _wind_days(1, 6)]) > 2 * cf  # winter is windier (January 0.343)


def test_stresses_from_named_streams():
    base = override(load_scenario(packaged_scenarios()["ny2030"]), {"scenario.scale": 1.0})
    grid = build_grid(base)
    s = grid.supply()
    out = s.out_from == 0
    assert out.any() and not np.isin(grid.generators.type_code[out], [TYPE_CODES["land-based wind"], TYPE_CODES["utility-scale solar"]]).any()
    np.testing.assert_array_equal(s.profile[:, out], 0.0)
    np.testing.assert_array_equal(grid.supply(indices=np.flatnonzero(out)).out_from, 0)  # the same draws alone
    trip = (s.out_from > 0) & (s.out_from <= base.ticks)
    assert trip.sum() == 1 and timeline(base).local_hour[s.out_from[trip][0]] == 19.0
    alive = (s.out_from > base.ticks) & (grid.generators.kind != 1)
    assert grid.generators.nameplate_mw[trip][0] >= grid.generators.nameplate_mw[alive].max()
    calm = override(base, {"stress.forced_outages": False, "stress.trip_largest_at": None})
    windy = override(calm, {"stress.low_wind_evening": False})
    w = _cols(grid, "land-based wind", "offshore wind")
    h = timeline(base).local_hour
    a, b = build_grid(calm).supply().profile[:, w].sum(1), build_grid(windy).supply().profile[:, w].sum(1)
    np.testing.assert_allclose(a[(h >= 17) & (h <= 21)], 0.15 * b[(h >= 17) & (h <= 21)])
    np.testing.assert_allclose(a[h < 15], b[h < 15])


def test_own_availability_series_replaces_a_types_model(tmp_path):
    csv = tmp_path / "avail.csv"
    csv.write_text("hour,land-based wind\n0,0.5\n24,0.1\n")
    cfg = tmp_path / "s.toml"
    cfg.write_text('[scenario]\nname = "own"\nscale = 0.05\n[series]\navailability = "avail.csv"\n')
    grid = build_grid(load_scenario(cfg))
    w = _cols(grid, "land-based wind")
    f = grid.supply().profile[:, w].sum(1) / grid.generators.nameplate_mw[w].sum()
    assert f[0] == pytest.approx(0.5) and f[144] == pytest.approx(0.3) and f[-1] == pytest.approx(0.1)
    from scowl.model.series import SeriesError, availability_series

    csv.write_text("hour,coal\n0,0.5\n24,0.1\n")
    availability_series.cache_clear()
    with pytest.raises(SeriesError, match="avail.csv: column 'coal': expected a generator type"):
        build_grid(load_scenario(cfg)).supply()
    csv.write_text("hour,land-based wind\n0,0.5\n24,1.7\n")
    availability_series.cache_clear()
    with pytest.raises(SeriesError, match="column 'land-based wind', row 2: expected a finite number >= 0 <= 1, found '1.7'"):
        build_grid(load_scenario(cfg)).supply()
