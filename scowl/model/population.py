"""Consumers as numpy arrays, splittable into shards with identical per-consumer values.

Consumers have a global index: residential homes first [0, n_res), then commercial buildings
[n_res, n_res + n_com). Every per-consumer value is drawn from a counter-based stream with the
consumer's global index (scowl.streams.CounterStream), so a consumer's values do not depend on
which shard holds it, nor on how the population was split (contiguous ranges or any index set).

Per consumer (bytes): ids 16 (128-bit id as (n, 2) uint64, zero until the bootstrap service issues
ids), index 4 (uint32), kind 1 (uint8), base_kw 4 (float32: its demand at the peak hour).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.model import data
from scowl.model.mix import consumer_counts
from scowl.streams import StreamRepo

if TYPE_CHECKING:
    from scowl.config import Scenario

__all__ = ["COMMERCIAL", "KIND_NAMES", "RESIDENTIAL", "Population", "build_population", "mean_peak_kw", "split"]

RESIDENTIAL, COMMERCIAL = np.uint8(0), np.uint8(1)
#: per-consumer work goes in blocks of this many (its temporaries are ~30 bytes a consumer)
BLOCK = 1 << 18
KIND_NAMES = ("residential", "commercial")


def mean_peak_kw() -> tuple[float, float]:
    """Average demand at the summer peak (kW) of a home and of a commercial building:
    the type's share of the peak (MW) / its count (facts: 1.31 kW and 44.77 kW)."""
    c = data.consumers()
    home, building = (1000.0 * c[k]["summer_peak_mw"] / c[k]["count"] for k in KIND_NAMES)
    return home, building


@dataclass(frozen=True)
class Population:
    """A set of consumers (the whole state, or one shard of it)."""

    index: np.ndarray
    kind: np.ndarray
    base_kw: np.ndarray
    ids: np.ndarray
    n_total: int

    def __len__(self) -> int:
        return len(self.index)

    @property
    def nbytes(self) -> int:
        return self.index.nbytes + self.kind.nbytes + self.base_kw.nbytes + self.ids.nbytes

    def counts(self) -> dict[str, int]:
        return {name: int(np.count_nonzero(self.kind == k)) for k, name in enumerate(KIND_NAMES)}

    def take(self, sel: slice | NDArray[np.integer[Any]] | NDArray[np.bool_]) -> Population:
        """The consumers at positions `sel` (a slice, index array or boolean mask) of this one."""
        return Population(self.index[sel], self.kind[sel], self.base_kw[sel], self.ids[sel], self.n_total)


def build_population(scenario: Scenario, repo: StreamRepo | None = None, *, start: int = 0, stop: int | None = None, indices: ArrayLike | None = None) -> Population:
    """Consumers [start, stop) of the scenario (or the global `indices` given), deterministic
    for the seed and identical whichever way the population is split."""
    repo = repo or StreamRepo(scenario.seed)
    n_res, n_com = consumer_counts(scenario)
    n = n_res + n_com
    if indices is None:
        stop = n if stop is None else stop
        if not 0 <= start <= stop <= n:
            raise ValueError(f"consumer range [{start}, {stop}) is outside [0, {n})")
        index = np.arange(start, stop, dtype=np.uint32)
    else:
        index = np.asarray(indices, dtype=np.uint32)
        if len(index) and int(index.max()) >= n:
            raise ValueError(f"consumer index {int(index.max())} is outside [0, {n})")
    kind = (index >= n_res).astype(np.uint8)
    d = scenario.demand
    mean = np.array(mean_peak_kw(), dtype=np.float32)
    sigma = np.array([d.residential_spread, d.commercial_spread], dtype=np.float32)
    stream = repo.counter("base_kw")
    base = np.empty(len(index), dtype=np.float32)
    for a in range(0, len(index), BLOCK):  # in blocks: the draws' temporaries stay a few MB
        b = min(len(index), a + BLOCK)
        z = stream.normal(index[a:b])
        s = sigma[kind[a:b]]
        # lognormal with mean 1: exp(s z - s^2 / 2)
        z *= s
        z -= s * s / np.float32(2)
        np.exp(z, out=base[a:b])
        base[a:b] *= mean[kind[a:b]]
    ids = np.zeros((len(index), 2), dtype=np.uint64)  # calloc'd: no memory until the ids are written
    return Population(index, kind, base, ids, n)


def split(population: Population, shards: int) -> list[Population]:
    """`shards` contiguous, near-equal parts of a population."""
    bounds = np.linspace(0, len(population), shards + 1).round().astype(int)
    return [population.take(slice(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
