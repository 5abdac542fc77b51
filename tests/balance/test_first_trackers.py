"""The populations' first placement (scowl.balance.sharding.first_trackers): every customer
class split across the trackers by the broker's weights, or each consumer's zone tracker by
zone. Pure functions, no sockets."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.api import load_scenario
from scowl.balance.sharding import consumer_zone_buckets, first_trackers, zone_buckets
from scowl.model.zones import consumer_zones, zone_shares

HOME, SHOP, FIXED = 0, 1, 255


def test_every_class_is_split_in_the_brokers_proportions():
    # a population holds its homes, then its commercial buildings, then its fixed-load blocks
    cls = np.r_[np.full(900, HOME), np.full(100, SHOP), np.full(40, FIXED)]
    d = np.r_[np.full(900, 0.0013), np.full(100, 0.045), np.full(40, 0.5)]
    b = first_trackers([260, 780], cls)  # the broker weighs tracker 1 three times tracker 0
    for c in (HOME, SHOP, FIXED):
        n = np.bincount(b[cls == c], minlength=2)
        assert n[1] == pytest.approx(3 * n[0], abs=3)
        assert (np.diff(b[cls == c]) >= 0).all()  # contiguous runs within the class
    share = float(d[b == 1].sum()) / float(d.sum())
    assert share == pytest.approx(0.75, abs=0.01)  # demand follows the weights too
    # contiguous runs over the whole population (the old placement) gave tracker 1 every
    # commercial building and fixed load: 96 % of the demand for 75 % of the weight
    old = np.repeat([0, 1], [260, 780])
    assert float(d[old == 1].sum()) / float(d.sum()) > 0.95


def test_empty_buckets_stay_empty():
    assert set(first_trackers([0, 10, 0], np.zeros(10)).tolist()) == {1}
    assert first_trackers([3, 3, 4], np.zeros(10)).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]


def test_counts_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="summing to 10"):
        first_trackers([3, 3], np.zeros(10))


def test_by_zone_each_consumer_goes_to_its_zones_tracker():
    assert consumer_zone_buckets(np.arange(100), load_scenario("small"), 4) is None  # hash: the default
    sc = load_scenario("small", trackers__assign="zone")
    idx = np.arange(5000)
    zb = consumer_zone_buckets(idx, sc, 4)
    assert zb is not None
    assert (zb == zone_buckets(consumer_zones(idx, sc.seed), 4, zone_shares())).all()
    assert (first_trackers([1250] * 4, np.zeros(5000), zb) == zb).all()  # the broker's counts do not matter then
    with pytest.raises(ValueError, match="bucket indices"):
        first_trackers([1, 1], np.zeros(2), np.array([0, 2]))
