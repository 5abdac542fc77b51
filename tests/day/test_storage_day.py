"""EV storage on the healthy day: the hubs charge on a surplus and discharge on a deficit as
their trackers ask, their books close, and the same day without them leaves more unserved."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.analysis.results import load_run
from scowl.config import load_scenario, override
from scowl.run import run_scenario
from scowl.sweep import scenario_toml


def test_storage_books_close_and_state_of_charge_stays_in_the_battery(small_run):
    out, s = small_run
    st = s["storage"]
    assert st["evs"] > 0 and st["hubs"] == 4 and s["peers"]["storage_hubs"] == 4
    # end = start + charged - delivered - driven, to float rounding
    assert abs(st["books_balance_mwh"]) < 1e-6 * st["capacity_mwh"]
    assert st["charged_mwh"] > 0 and st["delivered_mwh"] > 0 and st["driven_mwh"] > 0
    state, finals, _ = load_run(out)
    hubs = state[state["role"] == "storage"].set_index("tick")
    assert len(hubs) == s["ticks"]
    assert ((hubs["state_of_charge_mwh"] >= 0) & (hubs["state_of_charge_mwh"] <= st["capacity_mwh"])).all()
    assert (hubs["asleep"] <= hubs["evs"]).all() and (hubs["plugged"] <= hubs["evs"]).all()
    # what the hubs delivered is what their trees drew (the consumers on them were served by it)
    np.testing.assert_allclose(hubs["discharge_mw"], hubs["delivered_mw"], rtol=1e-9, atol=1e-9)
    # never charged beyond what the plugged-in EVs could take
    assert (hubs["charge_mw"] <= hubs["charge_available_mw"] + 1e-9).all()


def test_without_storage_the_same_day_leaves_more_unserved(small_run, tmp_path):
    _, with_storage = small_run
    cfg = tmp_path / "small-no-storage.toml"
    cfg.write_text(scenario_toml(override(load_scenario("configs/small.toml"), {"storage.hubs": 0})))
    without = run_scenario(str(cfg), str(tmp_path / "run"), show_progress=False)
    assert "storage" not in without and without["peers"]["storage_hubs"] == 0
    assert without["energy_mwh"]["demanded"] == pytest.approx(with_storage["energy_mwh"]["demanded"])
    delivered = with_storage["storage"]["delivered_mwh"]
    assert with_storage["energy_mwh"]["unserved"] < without["energy_mwh"]["unserved"]
    # the EVs' energy is what made the difference: the day without them lacks at most that much more
    assert without["energy_mwh"]["unserved"] - with_storage["energy_mwh"]["unserved"] <= delivered + 1e-6


def test_two_populations_and_fleets_over_tcp_give_the_in_process_day(tmp_path):
    """Trees are built in sender order, whichever fleet or population registered first."""
    inproc = run_scenario("configs/small.toml", str(tmp_path / "a"), populations=2, show_progress=False)
    tcp = run_scenario("configs/small.toml", str(tmp_path / "b"), populations=2, processes=True, transport="tcp", show_progress=False)
    for key in ("energy_mwh", "starvation", "blackouts", "storage"):
        assert tcp[key] == inproc[key], key
    assert tcp["rebalance"]["peers_rebalanced"] == inproc["rebalance"]["peers_rebalanced"]
