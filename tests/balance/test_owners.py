"""A consumer's global index names its population: the ranges of each (consumers, then
fixed-load blocks) own it, and an index in no range has no owner."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.balance.owners import NO_OWNER, range_owner


def test_each_index_falls_to_the_range_holding_it():
    # two populations: consumers [0, 5) and [5, 9), fixed-load blocks [20, 22) and [22, 23)
    ranges = [(0, 5, 0), (5, 9, 1), (20, 22, 0), (22, 23, 1), (30, 30, 2)]
    lo = np.array([0, 4, 5, 8, 9, 19, 20, 21, 22, 23, 30, -1])
    assert range_owner(lo, ranges).tolist() == [0, 0, 1, 1, NO_OWNER, NO_OWNER, 0, 0, 1, NO_OWNER, NO_OWNER, NO_OWNER]


def test_no_ranges_no_owner():
    assert range_owner(np.arange(3), []).tolist() == [NO_OWNER] * 3


def test_overlapping_ranges_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        range_owner(np.arange(3), [(0, 5, 0), (4, 9, 1)])
