"""The second hop of a region's hub load within a tick (scowl.balance.hubhop): a taker reports the room
it has left after its sub-round and its largest per-generator gaps; the giver offers what its EV hubs
still carry to the peers whose gaps fit each consumer, largest first, each peer within its room.
(ny2030 tick 199 before it: 1.05 MW of hub part all offered to tracker-0, whose gaps were at most
0.047 MW, while tracker-1 ended the tick with 6.17 MW of room and was offered nothing.)"""

from __future__ import annotations

import numpy as np
import pytest

from scowl import balance, wire
from scowl.balance.hubhop import Room, fresh_room, second_offer, unfit_mw, wants_again
from scowl.model import CONTINUOUS, FIXED, STOCHASTIC, STORAGE

DEMAND = [8.5, 3.0, 1.5, 0.25, 0.08, 0.05]  # the first fills the nuclear unit, the rest go to the hub


def _ids(lo) -> np.ndarray:
    ids = np.zeros(len(lo), dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"] = 7
    ids["lo"] = np.asarray(lo, dtype=np.uint64)
    return ids


def _giver():
    """Nuclear 10 MW (9 MW under the threshold) and an EV hub of 50 MW; six consumers, five on the hub."""
    g = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    g.add_generators([1, 2], [FIXED, STORAGE], [0.0, 0.0], [10.0, 50.0], [0.0, 50.0])
    g.add_consumers(_ids(range(len(DEMAND))), np.array(DEMAND, dtype=np.float32))
    st = balance.GenUpdate(np.array([1, 2]), np.array([10.0, 50.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    balance.tracker_round(g, balance.RoundInput(1, statuses=[st], peers=["a", "b"]))
    assert g.trees.assignment[:6].tolist() == [0, 1, 1, 1, 1, 1]
    return g


def test_each_consumer_goes_to_a_peer_whose_gap_fits_it_and_one_wider_than_every_gap_to_the_most_room_left():
    g = _giver()
    rooms = {"a": Room(5.0, (0.3, 0.1)), "b": Room(5.0, (2.0,))}
    out = second_offer(g, np.zeros(0, dtype=np.int64), rooms)
    # 1.5 into b's 2.0, 0.25 into the 0.5 left (a's largest is 0.3), 0.08 into a's 0.3, 0.05 into b's 0.25 left
    assert sorted(out["b"].tolist()) == [2, 3, 5]
    # 3 MW fits no gap: offered last to a (4.92 MW of room left, b 3.2), which opens a gap for it (scowl.balance.opengap)
    assert out["a"].tolist() == [4, 1]
    out = second_offer(g, np.zeros(0, dtype=np.int64), {"a": Room(2.9, (0.3, 0.1)), "b": Room(2.9, (2.0,))})
    assert 1 not in np.concatenate(list(out.values()))  # no peer with 3 MW of room left: it stays on the hub


def test_a_peer_gets_no_more_than_its_room_and_none_of_the_excluded():
    g = _giver()
    out = second_offer(g, np.array([2], dtype=np.int64), {"b": Room(0.3, (2.0,))})
    assert out["b"].tolist() == [3]  # 3 fits no gap, 1.5 excluded (taken already); 0.25 within the 0.3 room; 0.08 then exceeds it
    assert second_offer(g, np.zeros(0, dtype=np.int64), {"b": Room(0.0, (2.0,)), "a": Room(5.0, ())}) == {}


def test_a_takers_room_and_gaps_count_its_gas_ramp_and_leave_out_its_hubs():
    """Wind 10 MW, gas running at 50 (ramp 10, up to 100 available), an EV hub: the gas unit's gap is
    0.9 x 60 less its load, the wind's 0.9 x 10 less its load; the hub's is not a gap."""
    t = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    t.add_generators([10, 11, 12], [STOCHASTIC, CONTINUOUS, STORAGE], [0.0, 20.0, 0.0], [50.0, 100.0, 50.0], [50.0, 10.0, 50.0])
    t.add_consumers(_ids(range(50, 54)), np.full(4, 2.0, dtype=np.float32))
    st = balance.GenUpdate(np.array([10, 11, 12]), np.array([10.0, 100.0, 40.0]), np.array([50.0, 50.0, 0.0]), np.zeros(3))
    first = balance.first_pass(t, balance.RoundInput(1, statuses=[st], peers=["g"]))
    room = fresh_room(t, first.base)
    load = t.trees.load
    assert np.allclose(sorted(room.fits_mw, reverse=True), sorted([0.9 * 60.0 - load[1], 0.9 * 10.0 - load[0]], reverse=True))
    assert 0 < room.room_mw <= 0.9 * (0.9 * 70.0 - 8.0) + 1e-9


def test_a_second_hop_is_announced_by_every_region_whose_hubs_can_discharge():
    """Whether or not they carry load now: a peer's starved may land on them in the sub-round."""
    g = _giver()
    assert wants_again(g)  # its hubs carry five consumers
    t = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    t.add_generators([10, 11], [FIXED, STORAGE], [0.0, 0.0], [10.0, 5.0], [0.0, 5.0])
    t.add_consumers(_ids([60]), np.ones(1, dtype=np.float32))
    st = balance.GenUpdate(np.array([10, 11]), np.array([10.0, 5.0]), np.zeros(2), np.zeros(2))
    balance.tracker_round(t, balance.RoundInput(1, statuses=[st]))
    assert t.trees.load[1] == 0.0 and wants_again(t)  # its hubs carry nothing, nobody is short: still
    balance.tracker_round(t, balance.RoundInput(2, statuses=[balance.GenUpdate(np.array([10, 11]), np.array([10.0, 0.0]), np.zeros(2), np.zeros(2))]))
    assert not wants_again(t)  # hubs with nothing to discharge: no
    n = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    n.add_generators([10], [FIXED], [0.0], [10.0], [0.0])
    assert not wants_again(n)  # no hubs: never


def test_the_hub_load_that_fits_no_gap_is_what_first_fit_decreasing_leaves():
    """The state log's fit-aware figure: hub consumers 3, 1.5, 0.25, 0.08, 0.05 into gaps 2.0 and 0.3:
    1.5 and 0.25 take the 2.0, 0.08 and 0.05 the 0.3; 3 MW fits none. No gaps: all of it."""
    g = _giver()
    assert unfit_mw(g, [2.0, 0.3]) == pytest.approx(3.0)
    assert unfit_mw(g, [1.0]) == pytest.approx(3.0 + 1.5)  # 0.25 + 0.08 + 0.05 fit the 1.0
    assert unfit_mw(g, []) == pytest.approx(sum(DEMAND[1:]))
