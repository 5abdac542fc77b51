"""Hash sharding: generator ids (MurmurHash3, 32-bit, seed 42) fall into equal buckets over
the signed 32-bit space; each tracker owns one bucket. Pure functions, no sockets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mmh3
import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from scowl.config import Scenario

HASH_SEED = 42
HASH_LOW = -(2**31)
HASH_SPAN = 2**32


def generator_id(address: str, nonce: str) -> int:
    """The 32-bit signed id of a generator: MurmurHash3 over its address plus a server nonce,
    so a generator cannot choose its own tracker (as in the seed notebook)."""
    return mmh3.hash(address + nonce, HASH_SEED, signed=True)


def bucket_bounds(n_buckets: int) -> list[tuple[int, int]]:
    """Equal ranges [low, high) covering [-2^31, 2^31) exactly."""
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be >= 1, got {n_buckets}")
    edges = [HASH_LOW + (HASH_SPAN * k) // n_buckets for k in range(n_buckets + 1)]
    return list(zip(edges[:-1], edges[1:]))


def bucket_of(gen_ids: ArrayLike, n_buckets: int) -> NDArray[np.int64]:
    """Bucket of each id: floor((id + 2^31) * n / 2^32), exact in integers."""
    ids = np.asarray(gen_ids, dtype=np.int64)
    return (((ids - HASH_LOW) * n_buckets) >> 32).astype(np.int64)


def split_by_weight(count: int, weights: ArrayLike) -> list[int]:
    """Split `count` items into runs proportional to `weights` (largest remainder, ties by
    position), summing exactly to `count`."""
    w = np.asarray(weights, dtype=np.float64)
    if count == 0 or w.sum() <= 0:
        out = [0] * len(w)
        if count and len(w):
            out[0] = count
        return out
    exact = count * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    rest = count - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")[:rest]
    base[order] += 1
    runs: list[int] = base.tolist()
    return runs


def zone_buckets(zones: ArrayLike, n_buckets: int, zone_shares: ArrayLike) -> NDArray[np.int64]:
    """Bucket of each generator by its NYISO load zone (0 = A .. 10 = K), for
    `[trackers] assign = "zone"`: the zones, in order A..K, are cut into `n_buckets` contiguous
    groups of about equal load (a zone goes to the bucket its load's midpoint falls in), so each
    tracker manages a region of the state. With more buckets than zones some stay empty."""
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be >= 1, got {n_buckets}")
    share = np.asarray(zone_shares, dtype=np.float64)
    share = share / share.sum()
    mid = np.cumsum(share) - share / 2
    of_zone = np.minimum((mid * n_buckets).astype(np.int64), n_buckets - 1)
    z = np.asarray(zones, dtype=np.int64)
    if len(z) and (z.min() < 0 or z.max() >= len(share)):
        raise ValueError(f"zone index outside [0, {len(share)}): {int(z.min())}..{int(z.max())}")
    buckets: NDArray[np.int64] = of_zone[z]
    return buckets


def first_trackers(counts: ArrayLike, classes: ArrayLike, zone_bucket: ArrayLike | None = None) -> NDArray[np.int64]:
    """The tracker (bucket index) of each of a population's consumers before tick 0.

    By hash (the default): every customer class (`classes`: a code per consumer, e.g. home,
    commercial building, fixed-load block) is split across the trackers in the proportions of
    the broker's `counts`, in contiguous runs within the class; so each tracker starts the day
    with the same mix of homes, businesses and fixed loads and a demand in proportion to its
    weight, instead of one tracker holding every commercial building and fixed load (whose
    excess then waits two ticks for handovers: a cold start). By zone (`zone_bucket` given, one
    bucket per consumer): each consumer goes to the tracker of its own zone."""
    per_tracker = np.asarray(counts, dtype=np.int64)
    cls = np.asarray(classes)
    if zone_bucket is not None:
        zb: NDArray[np.int64] = np.asarray(zone_bucket, dtype=np.int64)
        if zb.shape != cls.shape or (zb.size and (zb.min() < 0 or zb.max() >= per_tracker.size)):
            raise ValueError(f"zone_bucket: expected {cls.size} bucket indices in [0, {per_tracker.size})")
        return zb
    if int(per_tracker.sum()) != cls.size or (per_tracker < 0).any():
        raise ValueError(f"counts: expected non-negative counts summing to {cls.size}, found {per_tracker.tolist()}")
    out = np.empty(cls.size, dtype=np.int64)
    for c in np.unique(cls):
        pos = np.flatnonzero(cls == c)
        out[pos] = np.repeat(np.arange(per_tracker.size), split_by_weight(pos.size, per_tracker))
    return out


def consumer_zone_buckets(global_index: ArrayLike, scenario: Scenario, n_buckets: int) -> NDArray[np.int64] | None:
    """Under `[trackers] assign = "zone"`: the bucket of each consumer's zone (the zones cut
    into buckets as the generators' are, scowl.model.zones.consumer_zones for the zone). None
    when trackers are assigned by hash."""
    if scenario.trackers.assign != "zone":
        return None
    from scowl.model.zones import consumer_zones, zone_shares

    return zone_buckets(consumer_zones(global_index, scenario.seed), n_buckets, zone_shares())
