"""storage_last.discharge_beside_spare: EV hubs discharging while generators in reach had spare for
their load (issue 18's "storage discharges only when no generator in reach can cover the load")."""

from __future__ import annotations

import pandas as pd
import pytest

from scowl.analysis.storage_last import discharge_beside_spare, discharge_beside_spare_figures


def _state(ticks):
    rows = []
    for tick, reach, consumed, starved, hub in ticks:
        rows += [
            {"tick": tick, "role": "generator", "actor": "fleet-0", "reachable_mw": float(reach)},
            {"tick": tick, "role": "storage", "actor": "storage-0", "delivered_mw": float(hub)},
            {"tick": tick, "role": "consumer", "actor": "population-0", "consumed_mw": float(consumed), "starved_mw": float(starved)},
        ]
    return pd.DataFrame.from_records(rows)


def test_flags_discharge_only_where_free_generator_spare_exceeds_it():
    # spare = 0.9 x reach - (consumed - starved); free = spare - starved
    # tick 0: reach 100, load 60 (hubs carry 5 of it): spare 30, free 30 > 5 -> beside spare
    # tick 1: reach 100, load 86, hubs 5: spare 4, free 4 < 5 -> needed; coverable min(5, 4 + 5) = 5
    # tick 2: reach 100, load 89 (91 wanted, 2 starved), hubs 5: spare 1, free -1: coverable min(5, 4) = 4
    # tick 3: no discharge
    state = _state([(0, 100, 60, 0, 5), (1, 100, 86, 0, 5), (2, 100, 91, 2, 5), (3, 100, 50, 0, 0)])
    df = discharge_beside_spare(state, 0.1)
    assert df["beside_spare"].tolist() == [True, False, False, False]
    assert df["coverable_mw"].tolist() == pytest.approx([5.0, 5.0, 4.0, 0.0])
    f = discharge_beside_spare_figures(state, 0.1, tick_h=0.5)
    assert f == pytest.approx({"ticks_discharging": 3, "delivered_mwh": 7.5, "ticks_beside_spare": 1, "mwh_beside_spare": 2.5,
                               "ticks_coverable": 3, "mwh_coverable": 7.0, "ticks_beside_spare_fit": 1, "mwh_beside_spare_fit": 2.5,
                               "mwh_unfit_beside_spare": 0.0})


def test_fit_aware_the_discharge_of_consumers_that_fit_no_gap_is_left_out_beside_the_aggregate():
    """The giver's `hub_unfit_mw` (whole consumers on its hubs fitting no generator's gap): tick 0 discharges
    5 MW beside spare, 4 of them consumers that fit no gap, so 1 MW counts fit-aware; tick 1, all 5 fit no
    gap: beside spare in the aggregate, not fit-aware. The aggregate figures do not move."""
    state = _state([(0, 100, 60, 0, 5), (1, 100, 60, 0, 5)])
    unfit = pd.DataFrame.from_records([{"tick": 0, "role": "tracker", "actor": "tracker-0", "hub_unfit_mw": 4.0},
                                       {"tick": 1, "role": "tracker", "actor": "tracker-0", "hub_unfit_mw": 5.0}])
    f = discharge_beside_spare_figures(pd.concat([state, unfit], ignore_index=True), 0.1, tick_h=1.0)
    assert f["ticks_beside_spare"] == 2 and f["mwh_beside_spare"] == pytest.approx(10.0)
    assert f["ticks_beside_spare_fit"] == 1 and f["mwh_beside_spare_fit"] == pytest.approx(1.0)
    assert f["mwh_unfit_beside_spare"] == pytest.approx(9.0)
    plain = discharge_beside_spare_figures(state, 0.1, tick_h=1.0)  # (no such rows: nothing is left out)
    assert plain["ticks_beside_spare_fit"] == 2 and plain["mwh_unfit_beside_spare"] == 0.0


def test_a_day_without_hubs_discharges_nothing():
    state = _state([(0, 100, 60, 0, 0)])
    state = state[state["role"] != "storage"]
    f = discharge_beside_spare_figures(state, 0.1, tick_h=1.0)
    assert f["ticks_discharging"] == 0 and f["ticks_beside_spare"] == 0
