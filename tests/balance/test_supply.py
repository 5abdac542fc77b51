"""Two rebalances of a round merged as one (scowl.balance.supply.merge_results): the same lists as
marking both passes' consumers over the whole region and reading where they are now."""

import numpy as np
import pytest

from scowl.balance.round import RebalanceResult
from scowl.balance.supply import merge_results
from scowl.balance.trees import ABSENT, STARVED, Trees


def _whole_region_merge(first: RebalanceResult, second: RebalanceResult, trees: Trees) -> tuple[np.ndarray, ...]:
    """The definition (the code before): mark both passes' consumers, start = the first pass's word."""
    mark = np.zeros(trees.n, dtype=bool)
    mark[first.moved] = True
    mark[second.moved] = True
    touched = np.flatnonzero(mark)
    start = trees.assignment[touched].copy()
    start[np.searchsorted(touched, second.moved)] = second.moved_from
    start[np.searchsorted(touched, first.moved)] = first.moved_from
    end = trees.assignment[touched]
    moved = start != end
    idx, frm, to = touched[moved], start[moved], end[moved]
    return idx, frm, to, idx[(frm >= 0) & (to == STARVED)], idx[(frm == STARVED) & (to >= 0)]


def _pass(trees: Trees, rng: np.random.Generator, share: float) -> RebalanceResult:
    """Some consumers moved (a pass of the policy), reported against its start as rebalance does."""
    idx = np.flatnonzero((rng.random(trees.n) < share) & (trees.assignment != ABSENT))
    before = trees.assignment[idx].copy()
    trees.move(idx, rng.integers(STARVED, trees.G, idx.size).astype(np.int32))
    after = trees.assignment[idx]
    m = before != after
    return RebalanceResult(idx[m], before[m], after[m], idx[:0], idx[:0], 0, 0, 0, 0.0, 1, trees.load.copy())


@pytest.mark.parametrize("shares", [(1.0, 0.001), (0.3, 0.3), (0.01, 0.0), (0.0, 0.2), (0.5, 1.0)])
def test_merge_is_the_whole_region_marking(shares):
    rng = np.random.default_rng(int(shares[0] * 1000 + shares[1] * 10))
    for _ in range(8):
        n = int(rng.choice([1, 40, 5_000]))
        trees = Trees(np.full(4, 1e9), rng.random(n).astype(np.float32), rng.integers(STARVED, 4, n).astype(np.int32))
        first = _pass(trees, rng, shares[0])
        gone = np.flatnonzero(rng.random(n) < 0.05)  # handed to a peer between the passes (released: ABSENT)
        trees.move(gone, np.full(gone.size, ABSENT, dtype=np.int32))
        second = _pass(trees, rng, shares[1])
        got = merge_results(first, second, trees)
        want = _whole_region_merge(first, second, trees)
        for a, b in zip((got.moved, got.moved_from, got.moved_to, got.newly_starved, got.restored), want):
            assert np.array_equal(a, b) and a.dtype == b.dtype
