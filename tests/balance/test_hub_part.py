"""A handover's hub part (scowl.balance.regionround: first_pass, sub_round, wrap_up): served
consumers on the giver's EV hubs, placed by the taker in the same tick on what its generators
have left after its own load and growth, released by the giver before its Assign; what the
taker cannot place stays on the giver's hub, served. Storage discharges only for the load no
generator in reach takes (issue 18; ny2030 EV discharge beside generator spare 15 ticks /
3.22 MWh before it)."""

from __future__ import annotations

import numpy as np

from scowl import balance, wire
from scowl.balance.supply import room_and_short
from scowl.model import CONTINUOUS, FIXED, STOCHASTIC, STORAGE


def _ids(lo) -> np.ndarray:
    ids = np.zeros(len(lo), dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"] = 7
    ids["lo"] = np.asarray(lo, dtype=np.uint64)
    return ids


def _giver():
    """20 x 2 MW on nuclear 30 MW (27 MW under the threshold) and an EV hub: 7 consumers on the hub."""
    g = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    g.add_generators([1, 2], [FIXED, STORAGE], [0.0, 0.0], [30.0, 50.0], [0.0, 50.0])
    g.add_consumers(_ids(range(20)), np.full(20, 2.0, dtype=np.float32))
    st = balance.GenUpdate(np.array([1, 2]), np.array([30.0, 50.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    balance.tracker_round(g, balance.RoundInput(1, statuses=[st], peers=["t"]))
    assert g.trees.load.tolist() == [26.0, 14.0]
    return g, st


def _taker(n: int):
    """Wind 10 MW, gas 20..100 MW (ramp 10 a tick, running at 50), nuclear 30 MW; `n` x 2 MW of its own (ids 50..)."""
    t = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    t.add_generators([10, 11, 12], [STOCHASTIC, CONTINUOUS, FIXED], [0.0, 20.0, 0.0], [50.0, 100.0, 30.0], [50.0, 10.0, 0.0])
    t.add_consumers(_ids(range(50, 50 + n)), np.full(n, 2.0, dtype=np.float32))
    return t, balance.GenUpdate(np.array([10, 11, 12]), np.array([10.0, 100.0, 30.0]), np.array([50.0, 50.0, 0.0]), np.zeros(3))


def _exchange(g, st, t, tst, tick=2):
    """One tick between the giver and the taker as the trackers run it: first passes, the taker's
    sub-round on the giver's hub part (its answer), the giver's sub-round and wrap-up with it."""
    first_g = balance.first_pass(g, balance.RoundInput(tick, statuses=[st], peers=["t"], offers={"t": balance.PeerOffer(0.0, 0.0, room_mw=20.0)}))
    ho, hub = first_g.handovers["t"], first_g.hub["t"]
    k = ho.ids.size - first_g.later["t"] - hub
    first_t = balance.first_pass(t, balance.RoundInput(tick, statuses=[tst], peers=["g"]))
    budget = room_and_short(t)[0] * 0.9
    sub_t, taken = balance.sub_round(t, first_t, [balance.ConsumerBatch(ho.ids[:k], ho.demand_mw[:k])],
                                     [balance.ConsumerBatch(ho.ids[k:k + hub], ho.demand_mw[k:k + hub])])
    out_t = balance.wrap_up(t, sub_t)
    out_g = balance.wrap_up(g, balance.sub_round(g, first_g)[0], {"t": taken[0]})
    return ho.ids[k:k + hub]["lo"], taken[0], budget, out_g, out_t


def test_hub_consumers_a_peer_places_leave_the_hub_in_the_same_tick():
    g, st = _giver()
    on_hub = set(np.flatnonzero(g.trees.assignment[:20] == 1).tolist())
    offered, taken, _, out_g, out_t = _exchange(g, st, *_taker(20))
    assert set(offered.tolist()) == on_hub and taken.all()  # the hub's 7, all placed by the taker
    assert g.trees.load.tolist() == [26.0, 0.0]  # the hub carries nothing: it discharges nothing
    tail = slice(out_g.ids.size - out_g.handed, out_g.ids.size)  # the giver names them handed (the taker's word beats it)
    assert set(out_g.ids["lo"][tail].tolist()) == on_hub and (out_g.gen_ids[tail] == balance.NO_GENERATOR).all()
    assert out_g.figures["hub_moved"] == 7 and out_g.figures["hub_moved_mw"] == 14.0
    assert out_g.figures["hub_load_mw"] == out_g.figures["hub_declined_mw"] == 0.0
    named = dict(zip(out_t.ids["lo"].tolist(), out_t.gen_ids.tolist()))
    assert all(named[i] in (10, 11, 12) for i in on_hub)  # on the taker's generators, in its Assign
    assert out_t.figures["starved"] == 0 and out_t.figures["handed_in_accepted"] == 7


def test_a_taker_places_its_own_load_and_growth_first_and_what_it_cannot_place_stays_on_the_givers_hub():
    g, st = _giver()
    on_hub = set(np.flatnonzero(g.trees.assignment[:20] == 1).tolist())
    t, tst = _taker(25)
    balance.tracker_round(t, balance.RoundInput(1, statuses=[tst], peers=["g"]))  # 50 MW of its own
    t.add_consumers(_ids(range(75, 80)), np.full(5, 2.0, dtype=np.float32))  # grown to 60 MW: it keeps room for as much again
    offered, taken, budget, out_g, out_t = _exchange(g, st, t, tst)
    assert 0 < budget < 14.0 and taken.tolist() == (np.cumsum(np.full(7, 2.0)) <= budget).tolist()  # the prefix that fits
    left = 7 - int(taken.sum())
    assert left > 0 and g.trees.load.tolist() == [26.0, 2.0 * left]  # the rest stay on the hub, served
    assert out_g.figures["starved"] == 0 and out_g.handed == 7 - left
    assert out_g.figures["hub_load_mw"] == out_g.figures["hub_declined_mw"] == 2.0 * left  # the state log says why the hub discharges
    assert out_g.figures["hub_handed_in_mw"] == 0.0
    assert out_t.figures["starved"] == 0  # the taker's own are all placed
    named = set(out_t.ids["lo"].tolist())
    assert named & on_hub == set(offered[taken].tolist()) and not named & set(offered[~taken].tolist())  # never names the rest
    assert (t.local_of[offered[~taken].astype(np.int64)] < 0).all()  # nor holds them


def test_without_an_answer_the_hub_keeps_its_consumers_served():
    g, st = _giver()
    first_g = balance.first_pass(g, balance.RoundInput(2, statuses=[st], peers=["t"], offers={"t": balance.PeerOffer(0.0, 0.0, room_mw=20.0)}))
    assert first_g.hub["t"] == 7
    out = balance.wrap_up(g, balance.sub_round(g, first_g)[0], {})  # the answer never came
    assert g.trees.load.tolist() == [26.0, 14.0] and out.handed == 0 and out.figures["starved"] == 0
    # it came late after all (the taker placed them): released at the next round, off the hub in the trees
    lo = g.lo[first_g.hub_to["t"]].astype(np.int64)
    nxt = balance.tracker_round(g, balance.RoundInput(3, statuses=[st], peers=["t"], hub_released=[lo]))
    assert g.trees.load.tolist() == [26.0, 0.0] and set(nxt.released_ids["lo"].tolist()) == set(lo.tolist())


def test_the_state_log_says_which_hub_load_came_from_a_peers_starved_this_tick():
    """A starved consumer a short peer hands into our hub room lands on our hub in our sub-round, after
    our hub part went out (it is offered at the next tick): `hub_handed_in_mw` counts it, so the state log
    tells this one-tick discharge from a declined or an unoffered hub part."""
    g, st = _giver()
    first_g = balance.first_pass(g, balance.RoundInput(2, statuses=[st], peers=["t"], offers={"t": balance.PeerOffer(0.0, 0.0, room_mw=20.0)}))
    sub_g, _ = balance.sub_round(g, first_g, [balance.ConsumerBatch(_ids([90]), np.array([3.0], dtype=np.float32))])
    out = balance.wrap_up(g, sub_g, {})  # (the taker's answer never came: the hub part stays too)
    assert out.figures["hub_handed_in_mw"] == 3.0 and out.figures["hub_declined_mw"] == 14.0
    assert out.figures["hub_load_mw"] == 17.0 and out.figures["starved"] == 0
