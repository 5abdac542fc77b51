"""The fleet: by installed capacity (the default) against the facts, and the seed notebook's
energy-share method reproduced exactly when asked for.

Tolerances: capacity by type within 5 % of the facts' installed summer capability (the types are
built to those figures, so this catches a wrong scale, a lost type or a bad apportionment); unit
counts are the Gold Book's at scale 1.0; the notebook fleet's figures are pinned to what main
built before the capacity method existed (e2cb348).
"""

from __future__ import annotations

import numpy as np
import pytest

from scowl.config import load_scenario, override, packaged_scenarios
from scowl.model import (
    TYPE_NAMES,
    build_generators,
    consumer_counts,
    data,
    fleet_plan,
    mix_shares,
)
from scowl.model.fleet import capacity_by_type, capacity_units
from scowl.model.types import UnknownType, registry, type_info
from scowl.streams import StreamRepo

#: Installed summer capability 2022, MW (shared/reference/ny-grid-facts.md Part 2 [PT20], Indian
#: Point 3 retired): dual fuel + gas only, oil, nuclear, hydro, pumped storage, wind.
FACTS_2022 = {"natural gas-fired": 19_230 + 4_725, "petroleum-fired": 2_416, "nuclear": 4_374 - 1_031,
              "hydroelectric": 4_247, "pumped storage": 1_407, "land-based wind": 1_739}


def _sc(name="ny2030", **changes):
    return override(load_scenario(packaged_scenarios()[name]), changes)


def _gens(sc):
    return build_generators(sc, StreamRepo(sc.seed))


def test_capacity_by_type_at_scale_one_2022_is_the_facts():
    sc = _sc("ny2022", **{"scenario.scale": 1.0})
    by = _gens(sc).by_type()
    for t, mw in FACTS_2022.items():
        assert abs(by[t][1] - mw) / mw < 0.05, (t, by[t][1], mw)
    in_state = sum(mw for t, (_, mw) in by.items() if t != "imports")
    assert abs(in_state - 37_400) / 37_400 < 0.02  # OUT22: about 37,400 MW in 2022
    assert by["nuclear"][1] < 3_400  # Indian Point 3 is gone
    assert by["offshore wind"] == (0, 0.0) and by["distributed solar"] == (0, 0.0)  # BTM PV is in the metered load


def test_unit_counts_and_sizes_follow_the_gold_book_at_scale_one():
    sc = _sc("ny2022", **{"scenario.scale": 1.0})
    g = _gens(sc)
    counts = {t: c for t, (c, _) in g.by_type().items()}
    assert counts["natural gas-fired"] + counts["petroleum-fired"] == 237  # GB24 thermal units
    assert counts["nuclear"] == 4 and counts["pumped storage"] == 5
    tech = np.array(g.technology)
    thermal = np.isin(g.type_code, [type_info("natural gas-fired").code, type_info("petroleum-fired").code])
    for name, units, median in (("combined cycle", 57, 155), ("steam turbine", 41, 190), ("combustion turbine", 76, 18)):
        sel = thermal & (tech == name)
        assert abs(sel.sum() - units) <= 1, name
        assert abs(np.median(g.nameplate_mw[sel]) - median) / median < 0.15, (name, np.median(g.nameplate_mw[sel]))
    nuc = g.nameplate_mw[g.type_code == type_info("nuclear").code]
    assert nuc.min() > 500 and nuc.max() < 1_400


def test_2030_is_2022_plus_the_stated_targets_and_retirements_remove_the_peakers():
    c22, c30 = capacity_by_type(2022), capacity_by_type(2030)
    assert c30["offshore wind"][0] == 4_500 and c30["distributed solar"][0] == 6_500
    assert c30["natural gas-fired"] == c22["natural gas-fired"] and c30["nuclear"] == c22["nuclear"]
    base = _sc(**{"scenario.scale": 1.0, "stress.retirements": False})
    gone = _sc(**{"scenario.scale": 1.0, "stress.retirements": True})
    u = capacity_units(gone)
    retired = sum(x.retired_mw for x in u.values())
    assert retired == pytest.approx((2_115 + 148) / 25_633 * (23_955 + 2_416), rel=1e-6)  # the peakers' share, GB24
    assert not {"combustion turbine", "internal combustion"} & set(_gens(gone).technology)
    assert _gens(base).nameplate_mw.sum() - _gens(gone).nameplate_mw.sum() == pytest.approx(retired)
    small = capacity_units(override(gone, {"scenario.scale": 0.05}))
    assert sum(x.retired_mw for x in small.values()) == pytest.approx(0.05 * retired, rel=1e-6)


@pytest.mark.parametrize("name, scale", [("ny2030", 0.05), ("ny2030", 1.0), ("small", 0.0004), ("ny2022", 0.05)])
def test_capacity_fleet_totals_are_exact_and_every_type_with_capacity_has_units(name, scale):
    sc = _sc(name, **{"scenario.scale": scale, "generation.fleet_method": "capacity"})
    by = _gens(sc).by_type()
    plan = fleet_plan(sc)
    caps = capacity_by_type(sc.scenario.mix_year)
    for t in TYPE_NAMES:
        assert by[t] == (plan[t][0], pytest.approx(plan[t][1]))
        mw = caps[t][0] * scale
        if not sc.stress.retirements:
            assert by[t][1] == pytest.approx(mw, rel=1e-9), t
        assert (by[t][0] > 0) == (mw > 0), t


# The notebook fleet as main built it at e2cb348 (ny2030, scale 1.0): 445 units, 41,071 MW.
NOTEBOOK_2030 = {"natural gas-fired": (54, 4876), "nuclear": (11, 9088), "hydroelectric": (96, 12420),
                 "land-based wind": (51, 2649), "utility-scale solar": (84, 4325), "offshore wind": (92, 4805),
                 "distributed solar": (57, 2908)}


def test_notebook_method_reproduces_the_seed_fleet_exactly():
    sc = _sc(**{"scenario.scale": 1.0, "generation.fleet_method": "notebook", "generation.nuclear_factor": 0.97})
    g = _gens(sc)
    assert len(g) == 445 and g.nameplate_mw.sum() == pytest.approx(41_071, rel=1e-12)
    assert float((g.nameplate_mw * np.arange(len(g))).sum()) == pytest.approx(6_501_321.687914058, rel=1e-12)
    assert list(g.name[:2]) == ["natural-gas-000", "natural-gas-001"] and g.gen_id[:2].tolist() == [1950844458, 1601864044]
    by = g.by_type()
    for t, (count, mw) in NOTEBOOK_2030.items():
        assert by[t][0] == count and round(by[t][1]) == mw, t
    assert by["pumped storage"][0] == by["imports"][0] == by["other renewables"][0] == 0
    shares = mix_shares(2030)
    for t in TYPE_NAMES:
        assert by[t][1] / 41_071 == pytest.approx(shares[t], abs=1e-9), t
    nuc = g.type_code == type_info("nuclear").code
    np.testing.assert_allclose(g.min_mw[nuc], 0.97 * g.nameplate_mw[nuc])
    n_res, n_com = consumer_counts(sc)
    assert len(g) == round((n_res + n_com) / 20000)


def test_registry_is_one_row_per_type_and_unknown_types_are_errors():
    names = [t.name for t in registry()]
    assert names == list(TYPE_NAMES) and len(set(names)) == len(names)
    assert names[:8] == ["natural gas-fired", "nuclear", "hydroelectric", "land-based wind", "utility-scale solar",
                         "petroleum-fired", "offshore wind", "distributed solar"]  # the wire's type codes stay put
    for t in names:  # every type has its rows in every per-type table
        assert t in capacity_by_type(2022) and t in data.type_zones()
    with pytest.raises(UnknownType, match="unknown generator type 'coal'"):
        type_info("coal", "somewhere")


def test_generator_kinds_and_limits():
    sc = _sc()
    g = _gens(sc)
    kinds = {TYPE_NAMES[c]: int(k) for c, k in zip(g.type_code, g.kind)}
    assert kinds["nuclear"] == 0 and kinds["natural gas-fired"] == 2 and kinds["offshore wind"] == 1
    assert kinds["pumped storage"] == 2 and kinds["imports"] == 2 and kinds["other renewables"] == 0
    gas = g.type_code == type_info("natural gas-fired").code
    assert (g.min_mw[gas] == pytest.approx(0.3 * g.nameplate_mw[gas]))
    assert (g.ramp_mw[gas] == pytest.approx(0.03 * 5 * g.nameplate_mw[gas]))
    ps = g.type_code == type_info("pumped storage").code
    assert np.all(g.min_mw[ps] == 0) and np.all(g.ramp_mw[ps] == g.nameplate_mw[ps])
    nuc = g.type_code == type_info("nuclear").code
    np.testing.assert_allclose(g.min_mw[nuc], 0.98 * g.nameplate_mw[nuc])  # July's observed factor
    assert len(set(g.name)) == len(g) and len(set(g.gen_id.tolist())) == len(g)
    assert g.zone.max() <= 10 and set(np.unique(g.zone[nuc]).tolist()) <= {1, 2}  # nuclear in B and C
