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


def _recount(r: balance.Region) -> dict[str, float]:
    a = r.trees.assignment
    placed = np.flatnonzero(a >= 0)
    return view_figures(r.lo[placed], r.gen_ids[a[placed]])


def test_a_region_keeps_its_view_as_it_changes_equal_to_a_recount():
    """Region.view keeps the digest from the trees' reassignments (O(changes)); whatever the
    rounds do - shed, starve, rotate, hand over, take in, resync - it equals a recount."""
    rng = np.random.default_rng(5)
    r = balance.Region(2000, 0.1, wire.CONSUMER_ID_DTYPE)
    r.add_generators([11, 12, 13], [CONTINUOUS, CONTINUOUS, CONTINUOUS], [0.0] * 3, [40.0, 30.0, 30.0], [5.0] * 3)
    r.add_consumers(_ids(range(0, 1600, 2)), rng.uniform(0.05, 0.15, 800).astype(np.float32))
    r.rotate_after = 1
    seen_none = seen_kept = False
    for tick in range(30):
        out_mw = np.array([40.0, 30.0, 30.0]) * (0.6 + 0.4 * np.cos(tick / 4.0) ** 2)  # short at times
        st = balance.GenUpdate(np.array([11, 12, 13]), out_mw, out_mw, np.zeros(3))
        idx = rng.choice(800, 200, replace=False)
        report = balance.ConsumerBatch(_ids(np.sort(idx) * 2), rng.uniform(0.05, 0.2, 200).astype(np.float32))
        handover = [balance.ConsumerBatch(_ids([1601 + 2 * tick]), np.array([0.1], dtype=np.float32))] if tick % 3 == 1 else []
        offers = {"peer": balance.PeerOffer(0.0, 0.0, room_mw=2.0)} if tick % 5 == 4 else {}
        changes = r.trees._changes
        seen_none |= changes is None
        seen_kept |= changes is not None and tick > 0
        out = balance.tracker_round(r, balance.RoundInput(tick, statuses=[st], reports=[report], handovers=handover,
                                                          offers=offers, peers=["peer"]))
        assert {k: out.figures[k] for k in ("view_placed", "view_digest")} == _recount(r), tick
        if tick == 20:  # a population tells where its consumers are (some on another generator)
            lo = np.arange(0, 40, 2)
            gens = np.where(np.arange(20) % 2, 12, balance.NO_GENERATOR).astype(np.int32)
            r.resync(_ids(lo), np.full(20, 0.1, dtype=np.float32), gens)
    assert seen_none and seen_kept  # both the recount (round 0) and the kept changes were used


def test_a_pair_sum_taken_a_block_at_a_time_is_the_whole_arrays_modulo_2_64():
    from scowl.balance.views import pair_hash, pair_sum

    rng = np.random.default_rng(9)
    lo = rng.integers(0, 9_000_000, 100_000).astype(np.uint32)
    gen = rng.integers(0, 500, 100_000).astype(np.int32)
    with np.errstate(over="ignore"):
        whole = int(pair_hash(lo, gen).sum(dtype=np.uint64))
    assert pair_sum(lo, gen, block=777) == pair_sum(lo, gen) == whole
    assert pair_sum(lo[:0], gen[:0]) == 0
