"""Random sequences of updates, handovers and rounds on small regions: after every round the
invariants hold (loads match a recount, nobody over the ceiling, no starved consumer that
would fit), and the round's report matches the assignment it left behind."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.balance import (
    ABSENT,
    STARVED,
    Trees,
    accept_consumers,
    check_invariants,
    pick_handover,
    rebalance,
    region_summary,
    release_consumers,
)


def random_round(rng: np.random.Generator, trees: Trees, thr: float) -> None:
    n, g = trees.n, trees.G
    k = int(rng.integers(0, n // 4 + 1))
    trees.apply_consumer_updates(rng.integers(0, n, k), rng.gamma(2.0, 0.5, k).astype(np.float32))
    k = int(rng.integers(0, g + 1))
    out = rng.uniform(0, 30, k)
    out[rng.random(k) < 0.1] = 0.0  # a generator trips
    trees.apply_generator_updates(rng.integers(0, g, k), out)
    if rng.random() < 0.1:
        trees.add_consumers(rng.gamma(2.0, 0.5, int(rng.integers(1, 20))))
    if rng.random() < 0.03:
        trees.add_generators(rng.uniform(0, 30, 1))
    if rng.random() < 0.1:
        release_consumers(trees, pick_handover(trees, float(rng.uniform(0, 5))))
    if rng.random() < 0.1:
        offered = rng.gamma(2.0, 0.5, int(rng.integers(1, 10)))
        got = accept_consumers(trees, offered, thr)
        assert got.count == int(got.accepted.sum()) and (got.generator >= 0).all()
        took = np.unique(got.generator)
        assert (trees.load[took] <= trees.cap(thr)[took]).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_invariants_hold_after_every_random_round(seed):
    rng = np.random.default_rng(seed)
    thr = float(rng.choice([0.0, 0.1, 0.25]))
    trees = Trees(rng.uniform(0, 30, 6), rng.gamma(2.0, 0.5, 300).astype(np.float32))
    passes = []
    for _ in range(150):
        random_round(rng, trees, thr)
        before = trees.assignment.copy()
        result = rebalance(trees, thr)
        after = trees.assignment
        changed = np.flatnonzero(before[: after.size] != after)
        assert result.moved.tolist() == changed.tolist()
        assert result.moved_from.tolist() == before[changed].tolist()
        assert result.moved_to.tolist() == after[changed].tolist()
        assert result.starved_count == np.count_nonzero(after == STARVED)
        assert not np.isin(after[result.restored], [STARVED, ABSENT]).any()
        summary = region_summary(trees, thr)
        assert summary.starved_count == result.starved_count
        assert summary.starved_mw == pytest.approx(result.starved_mw)
        check_invariants(trees, thr)
        passes.append(result.passes)
    assert max(passes) < 16


def test_handover_moves_no_more_than_offered_and_accepting_fills_only_headroom():
    short = Trees([10.0], [1.0, 2.0, 3.0, 4.0, 0.5])  # ceiling 9
    rebalance(short, 0.10)
    starved = np.flatnonzero(short.assignment == STARVED)
    offer = pick_handover(short, 3.0)
    assert short.demand[offer].sum() <= 3.0 and set(offer) <= set(starved)
    spare = Trees([10.0, 10.0], [4.0, 4.0], assignment=[0, 1])  # 5 MW headroom each
    got = accept_consumers(spare, short.demand[offer], 0.10)
    assert got.count == offer.size  # everything offered fits
    release_consumers(short, offer[got.accepted])
    assert (short.assignment[offer] == ABSENT).all()
    check_invariants(short, 0.10, rebalanced=False)
    check_invariants(spare, 0.10)
    too_much = accept_consumers(spare, [6.0, 2.0, 6.0], 0.10)
    assert too_much.accepted.tolist() == [False, True, False]  # 2 MW fits; 6 MW fits nowhere
