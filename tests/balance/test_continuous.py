"""A continuous round (scowl.balance.interim_round), without sockets: what a tracker does
between its tick rounds under real-time pacing."""

from __future__ import annotations

import numpy as np

from scowl import balance, wire
from scowl.model import CONTINUOUS, STOCHASTIC


def _ids(lo) -> np.ndarray:
    ids = np.zeros(len(lo), dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"] = 7
    ids["lo"] = np.asarray(lo, dtype=np.uint64)
    return ids


def _region():
    r = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    # gen 10: wind 0..50 MW; gen 11: gas 20..100 MW, ramp 10 MW a tick
    r.add_generators([10, 11], [STOCHASTIC, CONTINUOUS], [0.0, 20.0], [50.0, 100.0], [50.0, 10.0])
    r.add_consumers(_ids(range(20)), np.full(20, 2.0, dtype=np.float32))  # 40 MW
    st = balance.GenUpdate(np.array([10, 11]), np.array([30.0, 100.0]), np.array([0.0, 30.0]), np.zeros(2))
    balance.tracker_round(r, balance.RoundInput(1, statuses=[st]))
    return r


def test_wind_falling_between_ticks_sheds_at_once_and_places_on_the_gas_already_running():
    r = _region()
    gas = r.setpoint.copy()
    on_wind = np.flatnonzero(r.trees.assignment[:20] == 0)
    assert on_wind.size
    st = balance.GenUpdate(np.array([10]), np.array([4.0]), np.array([0.0]), np.zeros(1))  # wind 30 -> 4 MW
    out = balance.interim_round(r, 1, statuses=[st])
    assert (r.setpoint == gas).all()  # no dispatch: setpoints are the tick round's
    assert r.trees.load[0] <= 0.9 * 4.0 + 1e-9  # nobody left over the wind's ceiling
    moved = dict(zip(out.ids["lo"].tolist(), out.gen_ids.tolist()))
    assert moved and set(moved) <= set(on_wind.tolist())  # only those shed from the wind moved
    assert out.starved == sum(g == balance.NO_GENERATOR for g in moved.values())
    balance.check_invariants(r.trees, rebalanced=False)


def test_a_demand_report_between_ticks_is_placed_where_there_is_room_and_nothing_else_moves():
    r = _region()
    out = balance.interim_round(r, 1)
    assert out.ids.size == 0  # no update: nothing to do
    out = balance.interim_round(r, 1, reports=[balance.ConsumerBatch(_ids([3]), np.array([9.0], dtype=np.float32))])
    assert set(out.ids["lo"].tolist()) <= {3}
    balance.check_invariants(r.trees, rebalanced=False)


def test_consumers_of_an_unheard_population_stay_put_when_wind_falls_between_ticks():
    r = _region()
    on_wind = np.flatnonzero(r.trees.assignment[:20] == 0)
    assert on_wind.size
    st = balance.GenUpdate(np.array([10]), np.array([4.0]), np.array([0.0]), np.zeros(1))
    out = balance.interim_round(r, 1, statuses=[st], unheard=[7])  # prefix 7: every consumer here
    assert out.ids.size == 0 and (r.trees.assignment[on_wind] == 0).all()  # cut off: not moved on paper
    assert r.trees.frozen is None
