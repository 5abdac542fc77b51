"""Agreement of the trackers', populations' and fleets' views, from the state log alone (scowl.analysis.views)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scowl.analysis.views import after_heal, view_agreement
from scowl.balance.views import view_figures


def _rows(tick: int, views: dict[str, tuple[np.ndarray, np.ndarray]], blacked: int = 0) -> list[dict]:
    rows = []
    for actor, role in (("tracker-0", "tracker"), ("population-0", "consumer"), ("fleet-0", "generator")):
        lo, gen = views[role]
        row = {"tick": tick, "actor": actor, "role": role, **view_figures(lo, gen)}
        if role == "generator":
            row.update(available_mw=10.0, blacked_out=blacked)
        if role == "consumer":
            row.update(demand_mw=5.0)
        rows.append(row)
    return rows


def test_one_consumer_on_another_generator_is_a_disagreement_and_its_end_is_found():
    lo, gen = np.arange(50), np.arange(50) % 3
    stale = gen.copy()
    stale[7] = 2 if gen[7] != 2 else 1
    same = {"tracker": (lo, gen), "consumer": (lo, gen), "generator": (lo, gen)}
    state = pd.DataFrame(_rows(0, same) + _rows(1, {**same, "generator": (lo, stale)}, blacked=1)
                         + _rows(2, {**same, "consumer": (lo[:-1], gen[:-1])}) + _rows(3, same) + _rows(4, same))
    df = view_agreement(state)
    assert df["agree"].tolist() == [True, False, False, True, True]
    assert df["placed_gap"].tolist() == [0, 0, 1, 0, 0]  # the same count can hide a move: the digest tells
    heal = after_heal(state, 1)
    assert heal["views_agree_from_tick"] == 3 and heal["views_disagree_ticks_after_heal"] == 2
    assert heal["blackout_generator_ticks_after_heal_covered"] == 1
    assert heal["blackout_generator_ticks_agreed_covered"] == 0


def test_logs_without_view_figures_give_nothing():
    assert view_agreement(pd.DataFrame({"tick": [0], "role": ["tracker"]})).empty
