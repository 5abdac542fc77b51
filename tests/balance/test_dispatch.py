"""Continuous dispatch and EV storage (scowl.balance.dispatch): limits computed by hand."""

from __future__ import annotations

import pytest

from scowl.balance.dispatch import dispatch, required_output


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
