"""Generators that leave a running grid (their fleet sent `leave`): retired, never removed, so
every index into the trees stays valid.

A retired generator's output is 0 from then on, so the next `rebalance` sheds every consumer
on it (a ceiling of 0) and places each where there is room, or keeps it starved for the
handover to a peer tracker: nobody is lost. Pure: mutates only the `Trees` it is given."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.balance.region import Region
from scowl.balance.trees import Trees, unique_ints


def retire_generators(trees: Trees, gens: ArrayLike) -> NDArray[np.int64]:
    """Set these generators' output to 0 for good; returns the consumers that were on them,
    the ones the next round must rehome."""
    idx = unique_ints(np.asarray(gens, dtype=np.int64))
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if idx.min() < 0 or idx.max() >= trees.G:
        raise ValueError(f"retire_generators: generator index outside [0, {trees.G})")
    on_them: NDArray[np.int64] = trees.members(idx)
    on_them = on_them[np.isin(trees.assignment[on_them], idx)]
    trees.apply_generator_updates(idx, np.zeros(idx.size))
    return on_them


def retire_fleet(region: Region, gen_ids: Iterable[int]) -> tuple[int, int]:
    """A fleet left: its generators (by id; unknown ids ignored) get no output, no limits and
    no setpoint from now on, and retire in the trees. Returns (generators retired, consumers
    that were on them)."""
    rows = np.array(sorted(region.gen_index[int(g)] for g in gen_ids if int(g) in region.gen_index), dtype=np.int64)
    for arr in (region.available, region.charge_cap, region.setpoint, region.pmin, region.pmax):
        arr[rows] = 0.0
    return int(rows.size), int(retire_generators(region.trees, rows).size)
