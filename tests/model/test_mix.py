"""The fleet at scale matches the configured mix.

Tolerance: each type's share of nameplate equals its share of the mix year's MWh to 1e-9
(units are sized so the type totals are exact); total nameplate is 41,071 MW x scale to 1e-9
relative; unit counts follow nameplate / unit size (the facts' method) to within 2 units per type
and 12 % at scale 1.0.
"""

from __future__ import annotations

import pytest

from scowl.config import default_scenario_path, load_scenario, override, packaged_scenarios
from scowl.model import TYPE_NAMES, build_generators, consumer_counts, fleet_plan, mix_shares
from scowl.model import data
from scowl.streams import StreamRepo


def _sc(name="ny2030", **changes):
    return override(load_scenario(packaged_scenarios()[name]), changes)


@pytest.mark.parametrize("name, scale", [("ny2030", 0.05), ("ny2030", 1.0), ("small", 0.0004), ("ny2022", 0.05), ("ny2022", 0.3)])
def test_nameplate_shares_match_the_mix(name, scale):
    sc = _sc(name, **{"scenario.scale": scale})
    gens = build_generators(sc, StreamRepo(sc.seed))
    by_type = gens.by_type()
    total = sum(mw for _, mw in by_type.values())
    assert total == pytest.approx(41071 * scale, rel=1e-9)
    shares = mix_shares(sc.scenario.mix_year)
    for t in TYPE_NAMES:
        count, mw = by_type[t]
        assert mw / total == pytest.approx(shares[t], abs=1e-9), t
        assert (count > 0) == (shares[t] > 0), t


def test_2030_shares_are_the_facts():
    shares = mix_shares(2030)
    facts = {"hydroelectric": 0.3024, "nuclear": 0.2213, "natural gas-fired": 0.1187, "offshore wind": 0.1170,
             "utility-scale solar": 0.1053, "distributed solar": 0.0708, "land-based wind": 0.0645, "petroleum-fired": 0.0}
    for t, v in facts.items():
        assert shares[t] == pytest.approx(v, abs=5e-5), t


def test_counts_follow_unit_sizes_at_scale_one():
    sc = _sc(**{"scenario.scale": 1.0})
    plan = fleet_plan(sc)
    n_res, n_com = consumer_counts(sc)
    assert (n_res, n_com) == (8_531_063, 367_223)
    assert sum(c for c, _ in plan.values()) == round((n_res + n_com) / 20000)
    facts_2030 = {"hydroelectric": 89, "land-based wind": 46, "natural gas-fired": 50, "nuclear": 10, "utility-scale solar": 76}
    unit = dict(data.unit_sizes(), **{"distributed solar": 56.0})
    # the facts' counts are nameplate / unit size; ours are those scaled to consumers / 20,000
    ratio = sum(c for c, _ in plan.values()) / sum(mw / unit[t] for t, (c, mw) in plan.items() if c)
    for t, n in facts_2030.items():
        assert abs(plan[t][0] - n * ratio) <= max(2, 0.12 * n * ratio), (t, plan[t][0], n * ratio)


def test_generator_kinds_and_limits():
    sc = _sc()
    g = build_generators(sc, StreamRepo(sc.seed))
    kinds = {TYPE_NAMES[c]: int(k) for c, k in zip(g.type_code, g.kind)}
    assert kinds["nuclear"] == 0 and kinds["natural gas-fired"] == 2 and kinds["offshore wind"] == 1
    gas = g.kind == 2
    assert (g.min_mw[gas] == pytest.approx(0.3 * g.nameplate_mw[gas]))
    assert (g.ramp_mw[gas] == pytest.approx(0.03 * 5 * g.nameplate_mw[gas]))
    assert len(set(g.name)) == len(g) and len(set(g.gen_id.tolist())) == len(g)
