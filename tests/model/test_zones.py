"""The eleven NYISO zones as geography: consumers in proportion to the zones' share of the
coincident peak (the same zone whatever the sharding), generators where their type stands,
interface flows from zonal load and supply."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.config import load_scenario, override, packaged_scenarios
from scowl.model import build_generators, data
from scowl.model.types import registry, type_info
from scowl.model.zones import ZONES, consumer_zones, interface_flows, over_limits, zone_shares
from scowl.streams import StreamRepo


def test_consumers_follow_the_zones_share_of_the_peak_under_any_sharding():
    idx = np.arange(200_000, dtype=np.uint32)
    z = consumer_zones(idx, 42)
    share = np.bincount(z, minlength=11) / len(z)
    np.testing.assert_allclose(share, zone_shares(), atol=0.004)
    assert share[ZONES.index("J")] == pytest.approx(0.327, abs=0.005)  # New York City
    np.testing.assert_array_equal(consumer_zones(idx[1000:2000], 42), z[1000:2000])


def test_generators_stand_where_their_type_does():
    sc = override(load_scenario(packaged_scenarios()["ny2030"]), {"scenario.scale": 1.0})
    g = build_generators(sc, StreamRepo(sc.seed))
    off = g.type_code == type_info("offshore wind").code
    assert {ZONES[z] for z in g.zone[off]} <= {"J", "K"}
    gas = g.type_code == type_info("natural gas-fired").code
    downstate = np.isin(g.zone[gas], [ZONES.index(z) for z in "GHIJK"])
    assert 0.6 < g.nameplate_mw[gas][downstate].sum() / g.nameplate_mw[gas].sum() < 0.9  # PT20: about two thirds downstate


def test_interface_flows_and_limits():
    load = np.zeros(11)
    sup = np.zeros(11)
    load[ZONES.index("K")] = 5_000.0
    sup[ZONES.index("K")] = 3_000.0
    sup[ZONES.index("J")] = 3_000.0  # New York City has 3 GW to spare: nothing need cross Central East
    flows = interface_flows(load, sup)
    assert flows["I to Long Island"] == 2_000.0 and flows["Central East"] == 0.0 and flows["Dunwoodie-South"] == 0.0
    assert over_limits(flows) == {"I to Long Island": (2_000.0, 1_293.0), "J to Long Island": (2_000.0, 320.0)}


@pytest.mark.parametrize("name", ["ny2022", "ny2030"])
def test_each_types_mw_by_zone_tracks_its_weights(name):
    """data/type_zones.csv's weights are MW shares: at scale 1.0 each type's MW by zone is
    within one of its largest unit of the weight (the bound of dealing the largest first to the
    largest MW deficit), and within 2 points of the type's MW where it has 10 units or more
    (gas, hydro, wind, petroleum, other renewables, distributed solar). Dealing by unit count put
    hydro D at 34.7 % against 21.4 % and gas B at 5.6 % against 0.5 %."""
    sc = override(load_scenario(packaged_scenarios()[name]), {"scenario.scale": 1.0})
    g = build_generators(sc, StreamRepo(sc.seed))
    weights = data.type_zones()
    for code in np.unique(g.type_code):
        m = g.type_code == code
        t = registry()[int(code)].name
        mw = np.bincount(g.zone[m], weights=g.nameplate_mw[m], minlength=11)
        w = np.asarray(weights[t], dtype=np.float64)
        want = w / w.sum() * mw.sum()
        assert np.abs(mw - want).max() <= g.nameplate_mw[m].max() + 1e-6, t
        assert mw[w == 0].sum() == 0, t
        if m.sum() >= 10:
            assert np.abs(mw - want).max() / mw.sum() <= 0.02, (t, (mw / mw.sum()).round(3), (want / mw.sum()).round(3))
