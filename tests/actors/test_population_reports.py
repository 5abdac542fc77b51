"""A population's demand reports (scowl.actors.population_reports): the consumers past the
report threshold, by tracker in position order, and `reported` updated, equal a plain
whole-array rule, across blocks and ticks (its scratch is reused); and the ids of a report
(scowl.actors.population_ids)."""

from __future__ import annotations

import numpy as np
import pytest

from scowl import wire
from scowl.actors import population_reports
from scowl.actors.population_ids import IdSpace


@pytest.mark.parametrize("trackers", [1, 3])
def test_reports_by_tracker_equal_the_whole_array_rule(monkeypatch, trackers):
    monkeypatch.setattr(population_reports, "REPORT_BLOCK", 1000)  # many blocks, the last one short
    rng = np.random.default_rng(5)
    n = 10_500
    reported = rng.random(n, dtype=np.float32)
    reported[rng.random(n) < 0.05] = 0.0  # reported 0: any demand reports
    demand = reported * (1 + rng.normal(0, 0.06, n)).astype(np.float32)
    demand[rng.random(n) < 0.05] = 0.0
    tracker_of = rng.integers(0, trackers, n).astype(np.uint8)
    threshold = np.float32(0.05)
    moved = np.abs(demand - reported) > threshold * reported
    expect_reported = np.where(moved, demand, reported)

    space = IdSpace(start=100, n_consumers=n - 20, n_blocks=20, fixed_start=3, n_global=50_000)
    reports = population_reports.Reports(space, trackers)
    got = list(reports.moved_past_threshold(demand, reported, threshold, tracker_of))

    assert len(got) == trackers
    for t, (lo, mw) in enumerate(got):
        want = np.flatnonzero(moved & (tracker_of == t))
        assert lo.dtype == np.uint32 and mw.dtype == np.float32
        np.testing.assert_array_equal(lo, space.global_at(want))  # consumers, then the blocks after every consumer
        np.testing.assert_array_equal(mw.view(np.uint32), demand[want].view(np.uint32))
    np.testing.assert_array_equal(reported.view(np.uint32), expect_reported.view(np.uint32))
    assert 0 < sum(lo.size for lo, _ in got) < n and any(lo.max() >= 50_000 for lo, _ in got)
    again = reports.moved_past_threshold(demand, reported, threshold, tracker_of)
    assert all(lo.size == 0 and mw.size == 0 for lo, mw in again)  # nothing moved since
    demand[::7] += np.float32(1.0)  # the next tick, with the same scratch
    tracker_of[::5] = (tracker_of[::5] + 1) % trackers  # (some consumers changed trackers)
    later = reports.moved_past_threshold(demand, reported, threshold, tracker_of)
    for t, (lo, mw) in enumerate(later):
        want = np.arange(0, n, 7)[tracker_of[::7] == t]
        np.testing.assert_array_equal(lo, space.global_at(want))
        np.testing.assert_array_equal(mw.view(np.uint32), demand[want].view(np.uint32))


def test_ids_of_consumers_and_blocks():
    space = IdSpace(start=100, n_consumers=50, n_blocks=5, fixed_start=7, n_global=1_000)
    space.hi = np.uint64(9)
    consumers = np.array([0, 3, 49])
    ids = space.ids_at(consumers)  # no block among them
    assert ids.dtype == wire.CONSUMER_ID_DTYPE and ids["hi"].tolist() == [9, 9, 9]
    assert ids["lo"].tolist() == [100, 103, 149]
    mixed = space.ids_at(np.array([49, 50, 54]))  # a consumer, then blocks 7 and 11: after every consumer
    assert mixed["lo"].tolist() == [149, 1_007, 1_011]
    np.testing.assert_array_equal(space.local_index(mixed), [49, 50, 54])
    assert space.ids_at(np.zeros(0, dtype=np.int64)).size == 0


def test_positions_from_compact_ids_equal_those_from_16_byte_ids():
    """An Assign's compact ids (one high word, uint32 global indices) map to the same positions as
    their 16-byte form, with no 16-byte id built; another population's high word maps to none."""
    space = IdSpace(start=100, n_consumers=50, n_blocks=5, fixed_start=7, n_global=1_000)
    space.hi = np.uint64(9)
    ids = space.ids_at(np.array([0, 49, 50, 54]))
    lo = np.array(ids["lo"].tolist() + [99, 150, 1_006, 1_012], dtype=np.uint32)  # 4 of ours, 4 outside our range
    full = np.zeros(lo.size, dtype=wire.CONSUMER_ID_DTYPE)
    full["hi"], full["lo"] = 9, lo
    np.testing.assert_array_equal(space.positions(lo, 9), [0, 49, 50, 54, -1, -1, -1, -1])
    np.testing.assert_array_equal(space.positions(lo, 9), space.local_index(full))
    np.testing.assert_array_equal(space.positions(lo, 8), np.full(lo.size, -1))
