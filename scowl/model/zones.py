"""The eleven NYISO load zones (A-K) as geography (data/zones.csv).

Consumers: a consumer's zone is a pure function of its global index (a counter stream draw against
the zones' shares of the coincident peak), so no per-consumer byte is stored and every shard agrees.
Generators: a type's units are dealt to zones by data/type_zones.csv's weights (MW shares), the
largest unit first to the zone with the largest MW deficit, so each type's MW by zone tracks them.
Interfaces (data/zone_transfer_limits.csv): `interface_flows` says what must cross each cut when
each zone's load is served by the generation available in it and the rest comes from wherever
there is room; `over_limits` lists cuts above their limit: `scowl describe` reports these flows (an estimate from zonal totals). The trackers enforce the
limits on their own placements when `[trackers] transfer_limits = true` (scowl.balance.limits,
which counts the MW each placement moves from its generator's zone to its consumer's zone).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.model import data

__all__ = ["ZONES", "consumer_zones", "deal_zones", "interface_flows", "over_limits", "zone_shares"]

ZONES = "ABCDEFGHIJK"


def zone_shares() -> NDArray[np.float64]:
    """Each zone's share of the NYCA coincident peak (sums to 1)."""
    s = np.array([float(r["share_of_CP_pct"]) for r in data.zones()])
    shares: NDArray[np.float64] = s / s.sum()
    return shares


def consumer_zones(index: ArrayLike, seed: int) -> NDArray[np.uint8]:
    """Zone index (0 = A .. 10 = K) of consumers by global index, in proportion to the zones'
    share of the coincident peak; the same for any shard (counter stream "zone")."""
    from scowl.streams import StreamRepo

    u = StreamRepo(seed).counter("zone").uniform(np.asarray(index, dtype=np.uint32))
    return np.searchsorted(np.cumsum(zone_shares())[:-1], u, side="right").astype(np.uint8)


def deal_zones(type_names: Sequence[str], mw: ArrayLike) -> NDArray[np.uint8]:
    """Zone index of each generator given its type and MW, in row order: each type's units go,
    largest first (ties by row), to the zone with the largest MW deficit against its weight
    (data/type_zones.csv: the type's MW share by zone) x the type's total MW, so each type's
    MW by zone tracks its weights; a zone of weight 0 gets none. No random draw."""
    weights = data.type_zones()
    cap = np.asarray(mw, dtype=np.float64)
    if cap.shape != (len(type_names),):
        raise ValueError(f"deal_zones: expected one MW per generator ({len(type_names)}), found shape {cap.shape}")
    out = np.zeros(len(type_names), dtype=np.uint8)
    names = np.asarray(type_names, dtype=object)
    for t in dict.fromkeys(type_names):
        if t not in weights:
            from scowl.model.types import UnknownType

            raise UnknownType(f"data/type_zones.csv has no row for generator type {t!r}")
        w = np.asarray(weights[t], dtype=np.float64)
        rows = np.flatnonzero(names == t)
        rows = rows[np.argsort(-cap[rows], kind="stable")]
        deficit = w / w.sum() * cap[rows].sum()
        for i in rows.tolist():
            z = int(np.argmax(np.where(w > 0, deficit, -np.inf)))
            deficit[z] -= cap[i]
            out[i] = z
    return out


def interface_flows(load_mw_by_zone: ArrayLike, supply_mw_by_zone: ArrayLike) -> dict[str, float]:
    """MW that must cross each interface (from -> to) for the load of the `to` zones that their
    own supply cannot cover (0 when they cover it); a transport model, not a power flow."""
    load = np.asarray(load_mw_by_zone, dtype=np.float64)
    sup = np.asarray(supply_mw_by_zone, dtype=np.float64)
    out = {}
    for name, _src, dst, _limit in data.transfer_limits():
        sel = np.array([z in dst for z in ZONES])
        out[name] = float(max(0.0, load[sel].sum() - sup[sel].sum()))
    return out


def over_limits(flows: dict[str, float]) -> dict[str, tuple[float, float]]:
    """{interface: (flow, limit)} for the interfaces whose flow exceeds the limit."""
    limits = {name: lim for name, _s, _d, lim in data.transfer_limits()}
    return {k: (v, limits[k]) for k, v in flows.items() if v > limits[k]}
