"""What a population keeps as the trackers' Assigns move its consumers (scowl.actors.population_rows):
the rows, each row's member count and the view digest, kept incrementally, equal what a recount
of every consumer gives."""

from __future__ import annotations

import numpy as np

from scowl import wire
from scowl.actors.population_rows import GeneratorRows
from scowl.balance import views


def _recount(on: GeneratorRows, lo_of: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    placed = np.flatnonzero(on.row != 0)
    return np.bincount(on.row, minlength=len(on.table)), views.view_figures(lo_of[placed], on.table[on.row[placed]])


def test_moves_keep_members_and_view_equal_to_a_recount():
    rng = np.random.default_rng(3)
    n = 5_000
    lo_of = np.arange(n, dtype=np.int64) * 3 + 1_000_000  # any global indices
    on = GeneratorRows(n)
    gens = np.array([11, 12, 13, 500, 7, 8], dtype=np.int32)
    for step in range(40):
        k = n if step == 0 else int(rng.integers(1, 400))
        pos = rng.integers(0, n, k)  # with repeats: the last generator named wins
        g = gens[rng.integers(0, len(gens), k)]
        g[rng.random(k) < 0.2] = wire.STARVED_ID
        expect = on.row.copy()
        rows = on.rows_of(g)
        expect[pos] = rows  # numpy's fancy assignment: the last write of a repeated position wins
        on.move(pos, g, lo_of[pos])
        np.testing.assert_array_equal(on.row, expect)
        members, figures = _recount(on, lo_of)
        np.testing.assert_array_equal(on.members, members)
        assert on.view_figures() == figures
    assert 0 < on.view_figures()["view_placed"] < n


def test_rows_widen_past_65535_generators_and_keep_counting():
    n = 70_000
    on = GeneratorRows(n)
    lo_of = np.arange(n, dtype=np.int64)
    g = np.arange(1, n + 1, dtype=np.int32)  # every consumer on its own generator
    on.move(np.arange(n), g, lo_of)
    assert on.row.dtype == np.int32 and int(on.row.max()) == n
    np.testing.assert_array_equal(on.table[on.row], g)
    members, figures = _recount(on, lo_of)
    np.testing.assert_array_equal(on.members, members)
    assert on.view_figures() == figures
