"""Supply: solar dark at night, wind correlated in time, nuclear fixed, hydro near 90 %, gas ramps."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.config import load_scenario, override, packaged_scenarios
from scowl.model import TYPE_CODES, build_grid, ramp_limit, solar_elevation, timeline


@pytest.fixture(scope="module")
def ny():
    sc = load_scenario(packaged_scenarios()["ny2030"])
    grid = build_grid(override(sc, {"scenario.scale": 0.02}))
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
    assert 0.4 < f.mean() < 0.95


def test_nuclear_fixed_hydro_near_ninety_gas_at_capacity(ny):
    grid, supply = ny
    g = grid.generators
    nuc = _cols(grid, "nuclear")
    np.testing.assert_allclose(supply.profile[:, nuc], np.broadcast_to(0.97 * g.nameplate_mw[nuc], supply.profile[:, nuc].shape))
    hyd = supply.profile[:, _cols(grid, "hydroelectric")] / g.nameplate_mw[_cols(grid, "hydroelectric")]
    assert 0.6 < hyd.mean() < 1.0
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
