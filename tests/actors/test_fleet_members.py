"""scowl.actors.fleet_members: a fleet's copy of its trees holds its own members only, and
answers as a full per-consumer table would, in either form."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.actors.fleet_members import FleetMembers


@pytest.mark.parametrize("n_global, moves", [(10_000, 300), (10_000, 6_000)])
def test_answers_as_a_full_table_would_through_both_forms(n_global, moves):
    rng = np.random.default_rng(7)
    full = np.full(n_global, -1, dtype=np.int64)  # the reference: one row per global index
    members = FleetMembers(n_global, n_rows=40)
    forms = set()
    for step in range(60):
        lo = rng.choice(n_global, size=moves, replace=False)
        placed = 0.7 if step < 30 else 0.02  # consumers come onto our generators, then most leave
        new = np.where(rng.random(moves) < placed, rng.integers(0, 40, moves), -1)
        old = members.rows_of(lo)
        np.testing.assert_array_equal(old, full[lo])
        members.update(lo, old, new)
        full[lo] = new
        forms.add("dense" if members.dense is not None else "pairs")
        assert len(members) == int((full >= 0).sum())
        probe = rng.integers(0, n_global, 500)
        np.testing.assert_array_equal(members.rows_of(probe), full[probe])
    if moves > n_global // 3:
        assert forms == {"dense", "pairs"}, "many members: the dense form (and back to pairs when they leave)"


def test_holds_its_members_only():
    members = FleetMembers(9_000_000, n_rows=10)
    lo = np.arange(0, 9_000_000, 9_000, dtype=np.int64)  # 1,000 consumers of 9 M on our hubs
    members.update(lo, np.full(len(lo), -1), np.arange(len(lo)) % 10)
    assert len(members) == 1_000 and members.dense is None
    assert members.nbytes == 6 * 1_000  # not 4 B per consumer of the state (36 MB)
    members.update(lo[:500], members.rows_of(lo[:500]), np.full(500, -1))
    assert len(members) == 500 and members.nbytes == 6 * 500
