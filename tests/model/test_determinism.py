"""Same seed -> identical arrays; different seed -> different ones; shards agree with the whole."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.config import load_scenario, override, packaged_scenarios
from scowl.model import build_evs, build_grid, build_population, split
from scowl.streams import StreamRepo


def _small(seed=7, **changes):
    return override(load_scenario(packaged_scenarios()["small"]), {"scenario.seed": seed, **changes})


def _fingerprint(grid):
    dm = grid.demand()
    steps = np.stack([dm.step(t).copy() for t in range(5)])
    return {
        "nameplate": grid.generators.nameplate_mw, "gen_id": grid.generators.gen_id,
        "base_kw": grid.consumers.base_kw, "kind": grid.consumers.kind,
        "ev_owner": grid.storage.owner, "ev_stored": grid.storage.stored_kwh, "ev_depart": grid.storage.depart_min,
        "supply": grid.supply().profile, "demand": steps,
    }


def test_same_seed_gives_identical_arrays():
    a, b = _fingerprint(build_grid(_small())), _fingerprint(build_grid(_small()))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_different_seed_gives_different_arrays():
    a, b = _fingerprint(build_grid(_small(seed=7))), _fingerprint(build_grid(_small(seed=8)))
    for k in ("base_kw", "ev_owner", "supply", "demand"):
        assert not np.array_equal(a[k], b[k]), k
    np.testing.assert_array_equal(a["gen_id"], b["gen_id"])  # ids hash the names, not the seed
    assert not np.array_equal(a["nameplate"], b["nameplate"])  # small's notebook fleet draws unit sizes
    cap = {"generation.fleet_method": "capacity"}  # the capacity fleet draws nothing
    np.testing.assert_array_equal(build_grid(_small(seed=7, **cap)).generators.nameplate_mw, build_grid(_small(seed=8, **cap)).generators.nameplate_mw)


def test_streams_are_recorded():
    grid = build_grid(_small(**{"generation.fleet_method": "notebook"}))
    grid.supply()
    names = [name for name, _ in grid.streams.log()]
    assert "population/base_kw" in names and "weather/wind" in names and "fleet/unit_size" in names
    assert all(isinstance(key, int) and 0 <= key < 2**64 for _, key in grid.streams.log())


@pytest.mark.parametrize("shards", [2, 3, 7])
def test_shards_have_the_same_per_consumer_values(shards):
    sc = _small(**{"scenario.scale": 0.002})
    whole = build_population(sc)
    dm_whole = build_grid(sc).demand(whole)
    ref = np.stack([dm_whole.step(t).copy() for t in range(4)])
    parts = split(whole, shards)
    assert sum(len(p) for p in parts) == len(whole)
    got = []
    for p in parts:
        # each shard rebuilt on its own from its range, as another actor would
        lo, hi = int(p.index[0]), int(p.index[-1]) + 1
        mine = build_population(sc, StreamRepo(sc.seed), start=lo, stop=hi)
        np.testing.assert_array_equal(mine.base_kw, p.base_kw)
        np.testing.assert_array_equal(mine.kind, p.kind)
        dm = build_grid(sc, start=lo, stop=hi).demand(mine)
        got.append(np.stack([dm.step(t).copy() for t in range(4)]))
    np.testing.assert_array_equal(np.concatenate(got, axis=1), ref)


def test_any_index_set_is_a_valid_shard():
    sc = _small(**{"scenario.scale": 0.002})
    whole = build_population(sc)
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(whole), 500, replace=False))
    mine = build_population(sc, indices=pick)
    np.testing.assert_array_equal(mine.base_kw, whole.base_kw[pick])
    evs_whole, evs_mine = build_evs(sc, whole), build_evs(sc, mine)
    keep = np.isin(evs_whole.owner, pick)
    np.testing.assert_array_equal(evs_mine.owner, evs_whole.owner[keep])
    np.testing.assert_array_equal(evs_mine.stored_kwh, evs_whole.stored_kwh[keep])


def test_demand_of_a_shuffled_index_set_is_each_consumers_own():
    """A shard whose homes and commercial buildings do not come in runs (classes by each
    consumer's kind) steps the same per-consumer demand as the whole (classes by runs)."""
    sc = _small(**{"scenario.scale": 0.002})
    whole = build_population(sc)
    pick = np.random.default_rng(1).permutation(len(whole))[: len(whole) // 2]
    mine = build_population(sc, indices=pick)
    assert np.any(np.diff(mine.kind.astype(np.int8)) < 0)  # not homes-then-commercial
    dm_whole, dm_mine = build_grid(sc).demand(whole), build_grid(sc).demand(mine)
    for t in range(4):
        np.testing.assert_array_equal(dm_mine.step(t), dm_whole.step(t)[pick])
