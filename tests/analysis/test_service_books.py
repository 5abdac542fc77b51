"""A population's service books (scowl.analysis.service): what each consumer got, tick by tick."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.analysis.service import ServiceBooks


def _tick(books: ServiceBooks, demand, served, choked, block: int = 2) -> dict[str, float]:
    demand, served, choked = np.asarray(demand, np.float32), np.asarray(served, bool), np.asarray(choked, bool)
    f = books.tick_figures()
    for a in range(0, demand.size, block):  # in blocks, as a population counts them
        b = min(demand.size, a + block)
        books.count(f, a, b, demand[a:b], served[a:b], choked[a:b])
    return f


def test_a_tick_counts_served_starved_and_choked():
    books = ServiceBooks(3)
    f = _tick(books, [1.0, 2.0, 4.0], [True, True, False], [False, True, False])
    assert f == {"consumed_mw": 7.0, "served_mw": 1.0, "starved_mw": 4.0, "choked_mw": 2.0,
                 "assigned": 2, "served": 1, "starved": 1, "choked": 1}
    assert books.starved_ticks.tolist() == [0, 0, 1] and books.choked_ticks.tolist() == [0, 1, 0]


def test_spells_start_end_and_count_at_the_end_of_the_run():
    books = ServiceBooks(2)
    for served in ([False, False], [False, True], [True, False], [True, False]):
        _tick(books, [1.0, 1.0], served, [False, False])
    assert books.spells.tolist() == [1, 2]
    figures = books.final_figures(300)
    # consumer 0: one spell of 2 ticks (ended); consumer 1: 1 tick (ended), then 2 ticks still running
    assert figures["starved_spells"] == 3
    assert figures["starved_spell_max_s"] == 600.0
    assert figures["starved_spell_mean_s"] == pytest.approx(500.0)
    assert figures["consumers_ever_starved"] == 2
    assert figures["starved_consumer_seconds"] == 5 * 300


def test_a_whole_day_starved_does_not_wrap():
    """uint16 tick counts times 300 s would wrap past 218 ticks: seconds are floats."""
    books = ServiceBooks(1)
    books.spell[0] = books.starved_ticks[0] = 288
    figures = books.final_figures(300)
    assert figures["starved_per_consumer_max_s"] == figures["starved_spell_max_s"] == 86_400.0


def test_an_empty_population_has_no_figures_to_divide():
    assert ServiceBooks(0).final_figures(300)["starved_spells"] == 0


def test_a_block_without_starved_or_choked_counts_as_the_full_rule_does():
    """`choked=None` (no choked generator this tick) takes a shortcut where everyone is served
    and no spell ends: its figures and books equal the full rule's (an all-False choked array)."""
    rng = np.random.default_rng(5)
    n, block = 60_000, 20_000  # blocks past numpy's 8,192-element reduction buffer
    short, full = ServiceBooks(n), ServiceBooks(n)
    for tick in range(30):
        demand = rng.random(n).astype(np.float32) * 3
        served = np.ones(n, dtype=bool)
        if tick % 3 == 1:  # some ticks starve a few consumers in a few blocks
            served[rng.integers(0, n // 2, 40)] = False
        fs, ff = short.tick_figures(), full.tick_figures()
        for a in range(0, n, block):
            b = min(n, a + block)
            short.count(fs, a, b, demand[a:b], served[a:b], None)
            full.count(ff, a, b, demand[a:b], served[a:b], np.zeros(b - a, dtype=bool))
        assert fs == ff
    for name in ("spell", "starved_ticks", "spells", "choked_ticks"):
        np.testing.assert_array_equal(getattr(short, name), getattr(full, name))
    assert short.final_figures(300) == full.final_figures(300)
    assert short.final_figures(300)["starved_spells"] > 0
