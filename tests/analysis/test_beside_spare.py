"""results.starvation_beside_spare: starvation the supply did not force, from the state log alone."""

from __future__ import annotations

import pandas as pd

from scowl.analysis.results import starvation_beside_spare


def _state(rows):
    return pd.DataFrame.from_records(rows)


def test_flags_only_ticks_where_reachable_spare_exceeds_starved_demand():
    rows = []
    # tick 0: 100 MW reachable, 80 served, 5 starved: spare 90 - 80 = 10 > 5 -> beside spare
    # tick 1: 100 MW reachable, 88 served, 5 starved: spare 2 < 5 -> forced by physics
    # tick 2: nothing starved
    # tick 3: generators short, but the EV hubs could give 20 MW: flagged only with storage
    for tick, reach, consumed, starved, hub in ((0, 100, 85, 5, 0), (1, 100, 93, 5, 0), (2, 100, 50, 0, 0), (3, 100, 95, 5, 20)):
        rows += [
            {"tick": tick, "role": "generator", "actor": "fleet-0", "reachable_mw": reach * 0.6, "available_mw": 200.0},
            {"tick": tick, "role": "generator", "actor": "fleet-1", "reachable_mw": reach * 0.4, "available_mw": 200.0},
            {"tick": tick, "role": "storage", "actor": "storage-0", "available_mw": float(hub)},
            {"tick": tick, "role": "consumer", "actor": "population-0", "consumed_mw": consumed - 1.0, "starved_mw": starved - 1.0 if starved else 0.0},
            {"tick": tick, "role": "consumer", "actor": "population-1", "consumed_mw": 1.0, "starved_mw": 1.0 if starved else 0.0},
        ]
    df = starvation_beside_spare(_state(rows), 0.1)
    assert df["beside_spare"].tolist() == [True, False, False, False]
    assert df.loc[0, "spare_mw"] == 10.0 and df.loc[0, "starved_mw"] == 5.0
    with_hubs = starvation_beside_spare(_state(rows), 0.1, with_storage=True)
    assert with_hubs["beside_spare"].tolist() == [True, False, False, True]


def test_a_log_without_reachable_output_gives_an_empty_check():
    rows = [{"tick": 0, "role": "generator", "actor": "f", "available_mw": 1.0},
            {"tick": 0, "role": "consumer", "actor": "p", "consumed_mw": 1.0, "starved_mw": 0.0}]
    assert starvation_beside_spare(_state(rows), 0.1).empty
