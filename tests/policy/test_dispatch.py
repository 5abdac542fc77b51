"""Continuous dispatch and EV storage (scowl.balance.dispatch): limits computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.balance.dispatch import advance_soc, dispatch, required_output, storage_power


def test_required_output_covers_demand_at_the_margin_less_fixed_output():
    assert required_output(90.0, 40.0, 0.10) == pytest.approx(60.0)


def test_dispatch_reaches_a_reachable_target_sharing_by_headroom():
    sp = [100.0, 100.0]
    new = dispatch(sp, pmin=[0.0, 0.0], pmax=[300.0, 120.0], ramp=[50.0, 50.0], required_mw=230.0)
    # Up-room: 50 (ramp) and 20 (pmax); +30 shared 50:20.
    assert new.tolist() == pytest.approx([100 + 30 * 50 / 70, 100 + 30 * 20 / 70])
    assert new.sum() == pytest.approx(230.0)


def test_dispatch_respects_ramp_and_bounds_when_the_target_is_out_of_reach():
    sp, pmin, pmax, ramp = [100.0, 50.0, 10.0], [20.0, 40.0, 30.0], [150.0, 60.0, 80.0], [30.0, 30.0, 5.0]
    up = dispatch(sp, pmin, pmax, ramp, required_mw=1e6)
    assert up.tolist() == [130.0, 60.0, 15.0]  # ramp, pmax, ramp (still climbing to pmin)
    down = dispatch(sp, pmin, pmax, ramp, required_mw=0.0)
    assert down.tolist() == [70.0, 40.0, 15.0]  # ramp, pmin; below pmin it must still climb
    steady = dispatch([100.0], [0.0], [200.0], [10.0], required_mw=100.0)
    assert steady.tolist() == [100.0]


def test_dispatch_rejects_bad_limits():
    with pytest.raises(ValueError, match="ramp >= 0"):
        dispatch([1.0], [0.0], [2.0], [-1.0], 1.0)
    with pytest.raises(ValueError, match="pmax: expected a 1-D array"):
        dispatch([1.0], [0.0], [2.0, 3.0], [1.0], 1.0)


FLEET = dict(
    soc_kwh=np.array([10.0, 60.0, 50.0, 40.0]),
    capacity_kwh=np.array([60.0, 60.0, 50.0, 80.0]),
    max_rate_kw=np.array([7.0, 7.0, 11.0, 7.0]),
    plugged=np.array([True, True, False, True]),
)


def test_storage_charges_on_surplus_within_rate_and_capacity():
    p = storage_power(1.0, **FLEET, tick_hours=0.5)  # 1 MW surplus: more than the fleet can take
    # EV0: rate 7; EV1: full; EV2: unplugged; EV3: rate 7 (room 40 kWh / 0.5 h = 80 kW).
    assert p.tolist() == [7.0, 0.0, 0.0, 7.0]
    p = storage_power(0.007, **FLEET, tick_hours=0.5)  # 7 kW shared 7:7
    assert p.tolist() == pytest.approx([3.5, 0.0, 0.0, 3.5])
    soc = advance_soc(FLEET["soc_kwh"], FLEET["capacity_kwh"], p, 0.5)
    assert (soc <= FLEET["capacity_kwh"]).all()


def test_storage_discharges_on_deficit_never_below_the_floor():
    p = storage_power(-1.0, **FLEET, tick_hours=1.0, floor=0.2)
    # EV0: 10 kWh above a 12 kWh floor? no -> 0; EV1: rate 7; EV3: 40 - 16 = 24 kWh, rate 7.
    assert p.tolist() == [0.0, -7.0, 0.0, -7.0]
    p = storage_power(-1.0, **FLEET, tick_hours=4.0, floor=0.2)  # long tick: energy binds
    assert p.tolist() == pytest.approx([0.0, -7.0, 0.0, -6.0])  # EV3: 24 kWh / 4 h
    soc = advance_soc(FLEET["soc_kwh"], FLEET["capacity_kwh"], p, 4.0)
    assert soc[3] == pytest.approx(16.0) and soc[1] == pytest.approx(32.0)
    assert storage_power(0.0, **FLEET, tick_hours=1.0).tolist() == [0.0] * 4


def test_a_round_dispatches_gas_then_rebalances():
    from scowl.balance import Trees, rebalance

    # Generator 0: 50 MW fixed (e.g. hydro); generator 1: gas at 20 MW, 10-100 MW, 15 MW/tick.
    trees = Trees([50.0, 20.0], [1.0] * 90)
    starved = []
    for _ in range(3):
        need = required_output(float(trees.demand.sum()), 50.0, 0.10)  # 90 / 0.9 - 50 = 50 MW
        gas = dispatch(trees.output[1:], [10.0], [100.0], [15.0], need)
        trees.apply_generator_updates([1], gas)
        starved.append(rebalance(trees, 0.10).starved_count)
    # Ceilings: 45 + 31.5 -> 76 served; then 45 + 45 -> all 90; then steady at 50 MW.
    assert starved == [14, 0, 0]
    assert trees.output.tolist() == [50.0, 50.0]
