"""What a region hands its peers (scowl.balance.giving): the picks of the consumers its own EV hubs
carry are exactly a prefix of the whole order (largest first, ties by index), however far the
lazily sorted head has to grow."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.balance.giving import HubLoad
from scowl.balance.trees import Trees


def _trees(n: int = 300_000) -> Trees:
    """n consumers (ties on purpose: demands on a 0.5 kW grid) on 3 generators; generators 1 and 2 are hubs."""
    rng = np.random.default_rng(7)
    demand = (rng.integers(1, 40, n) * 0.0005).astype(np.float32)
    gen = rng.integers(0, 3, n)
    gen[rng.random(n) < 0.05] = -1  # some starved
    return Trees(np.full(3, 1e6), demand, gen)


def _brute(trees: Trees, max_mw: float, exclude: np.ndarray, frozen: np.ndarray) -> np.ndarray:
    a, d = trees.assignment, trees.demand.astype(np.float64)
    cand = np.flatnonzero(((a == 1) | (a == 2)) & ~frozen)
    cand = cand[~np.isin(cand, exclude)]
    order = cand[np.lexsort((cand, -d[cand]))]
    return np.sort(order[np.cumsum(d[order]) <= max_mw])


@pytest.mark.parametrize("max_mw", [0.001, 2.0, 40.0, 1e9])
@pytest.mark.parametrize("block", [None, 1000])
def test_hub_picks_are_a_prefix_of_the_whole_order(monkeypatch, max_mw, block):
    import scowl.balance.giving as giving

    if block is not None:  # (the whole region's hub consumers listed a block at a time: the same picks)
        monkeypatch.setattr(giving, "_EVERY_BLOCK", block)
    trees = _trees()
    frozen = np.zeros(trees.n, dtype=bool)
    frozen[::97] = True
    hub = HubLoad(trees, np.array([1, 2]), frozen)
    exclude = np.flatnonzero(trees.assignment == 1)[:500]
    got = hub.pick(max_mw, exclude)
    assert np.array_equal(got, _brute(trees, max_mw, exclude, frozen))
    assert not np.isin(got, exclude).any() and not frozen[got].any()
    again = hub.pick(max_mw / 2, np.concatenate([exclude, got[:10]]))  # a second pick of the round, from the same head
    assert np.array_equal(again, _brute(trees, max_mw / 2, np.concatenate([exclude, got[:10]]), frozen))
