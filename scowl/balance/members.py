"""Generators that leave a running grid (their fleet sent `leave`): retired, never removed, so
every index into the trees stays valid.

A retired generator's output is 0 from then on, so the next `rebalance` sheds every consumer
on it (a ceiling of 0) and places each where there is room, or keeps it starved for the
handover to a peer tracker: nobody is lost. Pure: mutates only the `Trees` it is given."""

from __future__ import annotations

import numpy as np

from scowl.balance.region import Region
from scowl.balance.trees import Trees


def retire_generators(trees: Trees, gens) -> np.ndarray:
    """Set these generators' output to 0 for good; returns the consumers that were on them,
    the ones the next round must rehome."""
    gens = np.unique(np.asarray(gens, dtype=np.int64))
    if gens.size == 0:
        return np.zeros(0, dtype=np.int64)
    if gens.min() < 0 or gens.max() >= trees.G:
        raise ValueError(f"retire_generators: generator index outside [0, {trees.G})")
    on_them = trees._members(gens)
    on_them = on_them[np.isin(trees.assignment[on_them], gens)]
    trees.apply_generator_updates(gens, np.zeros(gens.size))
    return on_them


def retire_fleet(region: Region, gen_ids) -> tuple[int, int]:
    """A fleet left: its generators (by id; unknown ids ignored) get no output, no limits and
    no setpoint from now on, and retire in the trees. Returns (generators retired, consumers
    that were on them)."""
    rows = np.array(sorted(region.gen_index[int(g)] for g in gen_ids if int(g) in region.gen_index), dtype=np.int64)
    for arr in (region.available, region.charge_cap, region.setpoint, region.pmin, region.pmax):
        arr[rows] = 0.0
    return int(rows.size), int(retire_generators(region.trees, rows).size)
