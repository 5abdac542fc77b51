"""What a death cost, from the metronome's records alone (scowl.analysis.deaths)."""

from __future__ import annotations

import pytest

from scowl.analysis.deaths import death_costs


def _rows(actor: str, role: str, ticks: range, absent: range, **figures: float) -> list[dict]:
    return [{"tick": t, "actor": actor, "role": role, **({"absent": 1.0} if t in absent else figures)} for t in ticks]


def test_a_dead_fleet_costs_its_last_delivery_only_until_the_others_were_told():
    # fleet-0 delivered 12 MW, died at tick 2 and was declared dead at tick 4: absent on 2 and 3,
    # then no longer counted (no rows); its consumers counted served meanwhile are the cost
    records = _rows("fleet-0", "generator", range(4), range(2, 4), delivered_mw=12.0)
    deaths = [{"peer": "fleet-0", "role": "generator", "tick": 2, "how": "its connection closed", "told_at_tick": 4}]
    (cost,) = death_costs(deaths, records, [], tick_seconds=1800)
    assert cost["ticks_absent"] == 2 and cost["told_at_tick"] == 4 and cost["rejoined_at_tick"] is None
    assert cost["delivery_unconfirmed_mwh"] == pytest.approx(12.0 * 2 * 0.5)


def test_each_role_names_its_own_cost_and_a_death_not_yet_told_says_so():
    records = (_rows("population-0", "consumer", range(5), range(3, 5), demand_mw=8.0)
               + _rows("tracker-0", "tracker", range(5), range(1, 5), consumers=300.0))
    deaths = [{"peer": "population-0", "role": "consumer", "tick": 3, "how": "x"},  # the run ended within the grace
              {"peer": "tracker-0", "role": "tracker", "tick": 1, "how": "y", "told_at_tick": 5}]
    pop, tracker = death_costs(deaths, records, [("population-0", 3, 9)], tick_seconds=3600)
    assert pop["told_at_tick"] is None and pop["rejoined_at_tick"] == 9
    assert pop["demand_missing_mwh"] == pytest.approx(8.0 * 2)
    assert tracker["consumers_managed_at_death"] == 300 and tracker["ticks_absent"] == 4
