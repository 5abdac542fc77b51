"""The starved queue and the round's report when consumers change outside the policy or
through its float-rounding guard (review findings, issue 18). Powers in MW."""

from __future__ import annotations

import numpy as np

import scowl.balance.round as rnd
from scowl.balance import STARVED, Trees, check_invariants, rebalance


def test_a_consumer_resynced_then_shed_is_queued_once_and_counted_once():
    # Ceilings 9 MW: generators hold 8 MW each, the two 2 MW consumers 4 and 5 are starved.
    t = Trees([10.0, 10.0], [4.0, 4.0, 4.0, 4.0, 2.0, 2.0], [0, 0, 1, 1, STARVED, STARVED])
    assert t.starved().tolist() == [4, 5]
    t.reassign(np.array([4]), np.array([0], dtype=np.int32))  # a population's Resync: 4 is on generator 0
    rebalance(t, 0.1, clock=2)  # generator 0 (10 MW > 9) sheds 4 again before the queue is read
    assert sorted(t.starved().tolist()) == [4, 5]
    check_invariants(t, 0.1)
    t.apply_generator_updates([0, 1], [20.0, 20.0])  # room for everyone
    result = rebalance(t, 0.1, clock=3)
    check_invariants(t, 0.1)
    assert t.n_unplaced == 0 and result.starved_count == 0
    assert t.load.sum() == 20.0  # 4 x 4 + 2 x 2, not 22 (4 placed twice)
    assert result.restored.tolist() == [4, 5]


def test_a_consumer_placed_outside_the_policy_leaves_the_queue():
    t = Trees([10.0, 10.0], [4.0, 4.0, 4.0, 4.0, 2.0, 2.0], [0, 0, 1, 1, STARVED, STARVED])
    t.starved()
    t.reassign(np.array([5]), np.array([1], dtype=np.int32))  # Resync places 5; it stays placed
    t.reassign(np.array([4, 5]), np.array([0, STARVED], dtype=np.int32))  # then 4 placed, 5 starved again
    assert t.starved().tolist() == [5]
    check_invariants(t, 0.1, rebalanced=False)


def test_a_served_consumer_the_rounding_guard_sheds_is_reported_newly_starved(monkeypatch):
    # The plan overfills generator 0 (standing in for float rounding between the plan's sums
    # and the loads'): the guard sheds the largest member, consumer 0, served at the start.
    monkeypatch.setattr(rnd, "plan_placement", lambda d, load, cap: (np.zeros(d.size, dtype=np.int32), 1))
    t = Trees([10.0], [5.0, 5.0], [0, STARVED])
    result = rnd.rebalance(t, 0.1)
    assert t.assignment.tolist() == [STARVED, 0]
    assert result.moved.tolist() == [0, 1]
    assert result.moved_from.tolist() == [0, STARVED] and result.moved_to.tolist() == [STARVED, 0]
    assert result.newly_starved.tolist() == [0] and result.restored.tolist() == [1]
    assert result.starved_count == 1 and result.starved_mw == 5.0


def test_unique_ints_is_np_unique_by_a_sort():
    from scowl.balance.trees import unique_ints

    rng = np.random.default_rng(9)
    for a in (rng.integers(0, 50, 1000), rng.integers(-5, 5, 7).astype(np.int32), np.zeros(0, dtype=np.int64), np.array([4])):
        u = unique_ints(a)
        assert np.array_equal(u, np.unique(a)) and u.dtype == a.dtype
