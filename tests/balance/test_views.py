"""Views of who is on which generator (scowl.balance.views) and a tracker re-announcing its
consumers to a population back from a partition (Region.reannounce)."""

from __future__ import annotations

import numpy as np

from scowl import balance, wire
from scowl.balance.views import combine, view_figures
from scowl.model import CONTINUOUS


def test_digests_add_up_over_actors_and_tell_one_moved_consumer():
    lo, gen = np.arange(1000), np.arange(1000) % 7
    whole = view_figures(lo, gen)
    parts = [view_figures(lo[:300], gen[:300]), view_figures(lo[300:], gen[300:])]
    assert whole["view_placed"] == 1000
    assert combine(p["view_digest"] for p in parts) == whole["view_digest"]  # any split, same view
    moved = gen.copy()
    moved[123] = 3 if gen[123] != 3 else 4
    assert view_figures(lo, moved)["view_digest"] != whole["view_digest"]
    assert view_figures(lo[::-1], gen[::-1]) == whole  # order does not matter


def _ids(lo, hi=7):
    ids = np.zeros(len(lo), dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"] = hi
    ids["lo"] = np.asarray(lo, dtype=np.uint64)
    return ids


def test_a_tracker_reannounces_the_consumers_a_population_believes_elsewhere():
    r = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    r.add_generators([5], [CONTINUOUS], [0.0], [100.0], [100.0])
    r.add_consumers(_ids(range(10)), np.full(10, 1.0, dtype=np.float32))
    r.add_consumers(_ids(range(10, 12), hi=8), np.full(2, 1.0, dtype=np.float32))  # another population
    st = balance.GenUpdate(np.array([5]), np.array([100.0]), np.array([50.0]), np.zeros(1))
    balance.tracker_round(r, balance.RoundInput(0, statuses=[st]))
    quiet = balance.tracker_round(r, balance.RoundInput(1, statuses=[st]))
    assert quiet.ids.size == 0  # nothing moved: nothing said
    assert r.reannounce(7) == 10
    out = balance.tracker_round(r, balance.RoundInput(2, statuses=[st]))
    assert sorted(out.ids["lo"].tolist()) == list(range(10)) and (out.gen_ids == 5).all()
    assert balance.tracker_round(r, balance.RoundInput(3, statuses=[st])).ids.size == 0  # once


def test_served_consumers_let_go_after_a_handover_are_named_for_the_fleets():
    r = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    r.add_generators([5], [CONTINUOUS], [0.0], [10.0], [0.0])  # 9 MW at the threshold, no ramp
    r.add_consumers(_ids(range(12)), np.full(12, 1.0, dtype=np.float32))
    st = balance.GenUpdate(np.array([5]), np.array([10.0]), np.array([10.0]), np.zeros(1))
    offer = {"t1": balance.PeerOffer(headroom_mw=0.0, starved_mw=0.0, room_mw=20.0)}
    out = balance.tracker_round(r, balance.RoundInput(1, statuses=[st], offers=offer, peers=["t1"]))
    served = set(out.handovers["t1"].ids["lo"].tolist()) - set(out.ids["lo"][out.gen_ids == balance.NO_GENERATOR].tolist())
    assert served and out.released_ids.size == 0  # handed while served: kept this round
    out = balance.tracker_round(r, balance.RoundInput(2, statuses=[st], peers=["t1"]))
    assert set(out.released_ids["lo"].tolist()) == served  # let go now: the fleets hear it
