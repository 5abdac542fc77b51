"""Consumers as numpy arrays, splittable into shards with identical per-consumer values.

Consumers have a global index: residential homes first [0, n_res), then commercial buildings
[n_res, n_res + n_com). Every per-consumer value is drawn from a counter-based stream with the
consumer's global index (scowl.streams.CounterStream), so a consumer's values do not depend on
which shard holds it, nor on how the population was split (contiguous ranges or any index set).

Per consumer (bytes): ids 16 (128-bit id as (n, 2) uint64, zero until the bootstrap service issues
ids: calloc'd, so no memory until written), kind 1 (uint8; a range's homes stay unwritten zeros: no memory), base_kw 4 (float32: its demand at the
peak hour); the global index is stored (4, uint32) only for a population picked by index, not for
a range of consumers.
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
    """A set of consumers (the whole state, or one shard of it): the consumers [start, start +
    len) when `picked` is None (a range: no per-consumer index stored), else those whose global
    indices `picked` gives (uint32)."""

    kind: np.ndarray
    base_kw: np.ndarray
    ids: np.ndarray
    n_total: int
    start: int = 0
    picked: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.kind)

    @property
    def index(self) -> np.ndarray:
        """Every consumer's global index (uint32; of a range, made on each call: per-block work
        takes `index_at`)."""
        return self.picked if self.picked is not None else np.arange(self.start, self.start + len(self), dtype=np.uint32)

    def index_at(self, a: int, b: int) -> np.ndarray:
        """Global indices (uint32) of the consumers at positions a..b."""
        return self.picked[a:b] if self.picked is not None else np.arange(self.start + a, self.start + min(b, len(self)), dtype=np.uint32)

    @property
    def nbytes(self) -> int:
        return self.kind.nbytes + self.base_kw.nbytes + self.ids.nbytes + (self.picked.nbytes if self.picked is not None else 0)

    def counts(self) -> dict[str, int]:
        return {name: int(np.count_nonzero(self.kind == k)) for k, name in enumerate(KIND_NAMES)}

    def take(self, sel: slice | NDArray[np.integer[Any]] | NDArray[np.bool_]) -> Population:
        """The consumers at positions `sel` (a slice, index array or boolean mask) of this one."""
        if self.picked is None and isinstance(sel, slice) and sel.step in (None, 1):
            a = sel.indices(len(self))[0]
            return Population(self.kind[sel], self.base_kw[sel], self.ids[sel], self.n_total, self.start + a)
        return Population(self.kind[sel], self.base_kw[sel], self.ids[sel], self.n_total, picked=self.index[sel])


def build_population(scenario: Scenario, repo: StreamRepo | None = None, *, start: int = 0, stop: int | None = None, indices: ArrayLike | None = None) -> Population:
    """Consumers [start, stop) of the scenario (or the global `indices` given), deterministic
    for the seed and identical whichever way the population is split."""
    repo = repo or StreamRepo(scenario.seed)
    n_res, n_com = consumer_counts(scenario)
    n = n_res + n_com
    picked = None
    if indices is None:
        stop = n if stop is None else stop
        if not 0 <= start <= stop <= n:
            raise ValueError(f"consumer range [{start}, {stop}) is outside [0, {n})")
        m = stop - start
    else:
        picked = np.asarray(indices, dtype=np.uint32)
        if len(picked) and int(picked.max()) >= n:
            raise ValueError(f"consumer index {int(picked.max())} is outside [0, {n})")
        start, m = 0, len(picked)
    # (kind and ids calloc'd: a page never written takes no memory. Homes come first in the global
    # order, so a range's homes are left as zeros: a class byte of resident memory saved per home)
    pop = Population(np.zeros(m, dtype=np.uint8), np.empty(m, dtype=np.float32), np.zeros((m, 2), dtype=np.uint64), n, start, picked)
    d = scenario.demand
    mean = np.array(mean_peak_kw(), dtype=np.float32)
    sigma = np.array([d.residential_spread, d.commercial_spread], dtype=np.float32)
    stream = repo.counter("base_kw")
    kind, base = pop.kind, pop.base_kw
    for a in range(0, m, BLOCK):  # in blocks: the draws' temporaries stay a few MB
        b = min(m, a + BLOCK)
        index = pop.index_at(a, b)
        if picked is not None or index[-1] >= n_res:  # (a range's block of homes only: zeros already)
            np.greater_equal(index, n_res, out=kind[a:b], casting="unsafe")
        z = stream.normal(index)
        s = sigma[kind[a:b]]
        # lognormal with mean 1: exp(s z - s^2 / 2)
        z *= s
        z -= s * s / np.float32(2)
        np.exp(z, out=base[a:b])
        base[a:b] *= mean[kind[a:b]]
    return pop


def split(population: Population, shards: int) -> list[Population]:
    """`shards` contiguous, near-equal parts of a population."""
    bounds = np.linspace(0, len(population), shards + 1).round().astype(int)
    return [population.take(slice(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
