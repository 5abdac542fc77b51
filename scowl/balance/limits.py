"""Zone transfer limits as placement policy (`[zones] transfer_limits = true`): pure functions.

A consumer in zone b served by a generator in zone a is a flow a -> b (a transport model, not a
power flow: the consumer's demand, MW). An interface (data/zone_transfer_limits.csv) is a cut:
its flow is the MW served across it from its `from` zones to its `to` zones, less what flows
back (`interface_flows`). After a round's placement a tracker refuses the placements that put
an interface over its limit (`refuse_over_limits`: the largest crossing consumers first, ties by
index), tries those consumers again on generators that do not cross a full interface
(`enforce`), and keeps the rest starved, counted as refused by the limit.

Each tracker sees only its own placements, so each holds a share of every limit
(`limit_shares`), and the shares of one limit sum to 1 over the trackers: the sum of their
flows, which the state log records per tick, never exceeds the limit. By hash any tracker may
hold any zone's generators: 1 / trackers each. By zone (`[trackers] assign = "zone"`) a tracker
holds only its zones' generators, so only the trackers owning a zone on a cut's `from` side can
put flow across it forwards: they split that limit evenly, the others hold 0 of it (their net
flow across it is never positive). Static shares: a tracker cannot use a peer's unused share.
Generators and consumers without a zone (EV hubs: NO_ZONE) never cross an interface.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.balance.place import plan_placement
from scowl.balance.round import RebalanceResult
from scowl.balance.trees import STARVED, Trees
from scowl.model import data

__all__ = ["NO_ZONE", "Interfaces", "ZoneLimits", "enforce", "interface_flows", "interfaces", "limit_shares", "refuse_over_limits",
           "zone_flows", "zone_owners"]

NO_ZONE = 255
N_ZONES = 11
_EPS = 1e-9


@dataclass(frozen=True)
class Interfaces:
    """The cuts between zones: names, `cross[i, a, b]` (a flow a -> b crosses cut i forwards),
    and each cut's limit, MW (this tracker's share)."""

    names: tuple[str, ...]
    cross: np.ndarray
    limit_mw: np.ndarray

    def slug(self, i: int) -> str:
        return self.names[i].lower().replace(" ", "_").replace("-", "_")


def interfaces(share: float | ArrayLike = 1.0, table: Iterable[tuple[str, str, str, float | str]] | None = None) -> Interfaces:
    """The interfaces of data/zone_transfer_limits.csv (or `table`: rows of (name, from zones,
    to zones, limit MW)), each limit x `share` (one number, or one per interface: `limit_shares`)."""
    rows = data.transfer_limits() if table is None else tuple(table)
    shares = np.asarray(share, dtype=np.float64)
    if shares.ndim == 0 and not 0.0 < float(shares) <= 1.0:
        raise ValueError(f"interfaces share: expected 0 < share <= 1, found {float(shares)}")
    if shares.ndim > 0 and (shares.shape != (len(rows),) or not ((shares >= 0.0) & (shares <= 1.0)).all()):
        raise ValueError(f"interfaces share: expected one share in [0, 1] per interface ({len(rows)}), found {shares.tolist()}")
    zones = "ABCDEFGHIJK"
    cross = np.zeros((len(rows), N_ZONES, N_ZONES), dtype=bool)
    for i, (name, src, dst, _lim) in enumerate(rows):
        bad = sorted(set(src + dst) - set(zones))
        if bad or set(src) & set(dst):
            raise ValueError(f"interface {name!r}: expected disjoint sets of zones A-K, found from {src!r} to {dst!r}")
        cross[i][np.ix_([zones.index(z) for z in src], [zones.index(z) for z in dst])] = True
    return Interfaces(tuple(r[0] for r in rows), cross, np.array([float(r[3]) for r in rows]) * shares)


def zone_owners(n_trackers: int) -> NDArray[np.int64]:
    """Under `[trackers] assign = "zone"`: the tracker (bucket, the index in the plan's trackers)
    of each zone A..K, as the broker locates generators (scowl.balance.sharding.zone_buckets)."""
    from scowl.balance.sharding import zone_buckets
    from scowl.model.zones import zone_shares

    return zone_buckets(np.arange(N_ZONES), n_trackers, zone_shares())


def limit_shares(cross: np.ndarray, zone_owner: ArrayLike | None, me: int, n_trackers: int) -> NDArray[np.float64]:
    """Tracker `me`'s share of each interface's limit (`cross` as Interfaces.cross). By hash
    (`zone_owner` None): 1 / n_trackers of each. By zone (`zone_owner`: the tracker of each zone,
    `zone_owners`): the trackers owning a zone on the interface's `from` side split it evenly,
    the others hold 0 (they hold no generator that can send flow across it). Each interface's
    shares sum to 1 over the trackers."""
    if not 0 <= me < n_trackers:
        raise ValueError(f"limit_shares: expected 0 <= me < {n_trackers}, found {me}")
    c = np.asarray(cross, dtype=bool)
    if zone_owner is None:
        return np.full(c.shape[0], 1.0 / n_trackers)
    owner = np.asarray(zone_owner, dtype=np.int64)
    out = np.zeros(c.shape[0])
    for i in range(c.shape[0]):
        senders = np.unique(owner[c[i].any(axis=1)])
        if me in senders:
            out[i] = 1.0 / senders.size
    return out


def zone_flows(gen_zone: ArrayLike, assignment: ArrayLike, cons_zone: ArrayLike, demand_mw: ArrayLike) -> NDArray[np.float64]:
    """MW served from zone a to zone b (11 x 11) by the placements `assignment` (generator row
    per consumer, < 0 unplaced) given each generator's and consumer's zone."""
    a = np.asarray(assignment)
    gz = np.asarray(gen_zone, dtype=np.int64)
    placed = np.flatnonzero(a >= 0)
    src = gz[a[placed]] if gz.size else np.zeros(0, dtype=np.int64)
    dst = np.asarray(cons_zone, dtype=np.int64)[placed]
    ok = (src < N_ZONES) & (dst < N_ZONES)
    w = np.asarray(demand_mw, dtype=np.float64)[placed][ok]
    flows: np.ndarray = np.bincount(src[ok] * N_ZONES + dst[ok], weights=w, minlength=N_ZONES * N_ZONES).reshape(N_ZONES, N_ZONES)
    return flows


def interface_flows(flows: np.ndarray, ifs: Interfaces) -> NDArray[np.float64]:
    """Net MW across each interface, forwards (from -> to) less backwards."""
    fwd = (flows[None, :, :] * ifs.cross).sum(axis=(1, 2))
    back = (flows.T[None, :, :] * ifs.cross).sum(axis=(1, 2))
    net: NDArray[np.float64] = fwd - back
    return net


def refuse_over_limits(gen_zone: ArrayLike, assignment: ArrayLike, cons_zone: ArrayLike, demand_mw: ArrayLike, ifs: Interfaces) -> NDArray[np.int64]:
    """Consumers (indices, sorted) whose placements to take back so that no interface's net
    flow exceeds its limit: for each interface over its limit, in file order, the largest
    consumers crossing it forwards (ties by index) until it is within."""
    a = np.asarray(assignment)
    d = np.asarray(demand_mw, dtype=np.float64)
    gz = np.asarray(gen_zone, dtype=np.int64)
    cz = np.asarray(cons_zone, dtype=np.int64)
    a = a.copy()
    refused = []
    for i in range(len(ifs.names)):
        excess = float(interface_flows(zone_flows(gz, a, cz, d), ifs)[i] - ifs.limit_mw[i])
        if excess <= _EPS:
            continue
        placed = np.flatnonzero(a >= 0)
        src, dst = gz[a[placed]], cz[placed]
        ok = (src < N_ZONES) & (dst < N_ZONES)
        cand = placed[ok][ifs.cross[i, src[ok], dst[ok]]]
        cand = cand[np.lexsort((cand, -d[cand]))]
        k = int(np.searchsorted(np.cumsum(d[cand]), excess - _EPS, side="left")) + 1
        refused.append(cand[:k])
        a[cand[:k]] = STARVED
    return np.unique(np.concatenate(refused)) if refused else np.zeros(0, dtype=np.int64)


def enforce(trees: Trees, gen_zone: ArrayLike, cons_zone: ArrayLike, ifs: Interfaces, safety_threshold: float) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Take back the placements over the limits, then place those consumers again where they
    cross no interface at its limit (generators of their own zone first: the plan is made per
    consumer zone over the generators that zone may still draw from). Mutates `trees`.
    Returns (consumers touched, their generator before, refused and still starved, their MW)."""
    gz = np.asarray(gen_zone, dtype=np.int64)
    cz = np.asarray(cons_zone, dtype=np.int64)
    refused = refuse_over_limits(gz, trees.assignment, cz, trees.demand, ifs)
    if not refused.size:
        return refused, np.zeros(0, dtype=np.int32), 0, 0.0
    start = trees.assignment.copy()
    trees.reassign(refused, np.full(refused.size, STARVED, dtype=np.int32))
    flow = interface_flows(zone_flows(gz, trees.assignment, cz, trees.demand), ifs)
    full = flow >= ifs.limit_mw - _EPS
    cap = trees.cap(safety_threshold)
    for z in np.unique(cz[refused]).tolist():
        if z >= N_ZONES:
            continue
        near = (gz >= N_ZONES) | ~ifs.cross[full][:, np.minimum(gz, N_ZONES - 1), z].any(axis=0)
        for allowed in (np.flatnonzero(near & (gz == z)), np.flatnonzero(near & (gz != z))):  # its own zone first
            mine = refused[(cz[refused] == z) & (trees.assignment[refused] == STARVED)]
            if not allowed.size or not mine.size:
                continue
            gen, _ = plan_placement(trees.demand[mine].astype(np.float64), trees.load[allowed], cap[allowed])
            ok = gen >= 0
            trees.reassign(mine[ok], allowed[gen[ok]].astype(np.int32))
    again = refuse_over_limits(gz, trees.assignment, cz, trees.demand, ifs)  # re-placements may fill another cut
    if again.size:
        trees.reassign(again, np.full(again.size, STARVED, dtype=np.int32))
    touched = np.union1d(refused, again)
    left = touched[trees.assignment[touched] == STARVED]
    return touched, start[touched], int(left.size), float(trees.demand[left].astype(np.float64).sum())


class ZoneLimits:
    """A tracker's zone bookkeeping for the limits: the zone of every consumer (by global
    index) and of every generator (by id, NO_ZONE for those registered without one), and the
    figures of its last round for the state log."""

    def __init__(self, consumer_zone: np.ndarray, share: float | ArrayLike, table: Iterable[tuple[str, str, str, float | str]] | None = None) -> None:
        self.consumer_zone = np.asarray(consumer_zone, dtype=np.uint8)
        self.ifs = interfaces(share, table)
        self.zone_by_id: dict[int, int] = {}
        self.figures: dict[str, float] = {}

    def add_generators(self, gen_ids: ArrayLike, zones: ArrayLike) -> None:
        ids, z = np.asarray(gen_ids).tolist(), np.asarray(zones).tolist()
        if len(z) not in (0, len(ids)):
            raise ValueError(f"zones: expected one per generator ({len(ids)}) or none, found {len(z)}")
        self.zone_by_id.update(zip(ids, z or [NO_ZONE] * len(ids)))

    def apply(self, trees: Trees, gen_ids: np.ndarray, cons_lo: np.ndarray, safety_threshold: float) -> RebalanceResult:
        """Enforce the limits over a region's trees (consumer global indices `cons_lo` by
        Trees index); returns what changed as a round's result and sets `figures`."""
        gz = np.fromiter((self.zone_by_id.get(int(g), NO_ZONE) for g in gen_ids), dtype=np.int64, count=len(gen_ids))
        lo = np.asarray(cons_lo, dtype=np.int64)
        cz = np.where((lo >= 0) & (lo < self.consumer_zone.size), self.consumer_zone[np.clip(lo, 0, max(self.consumer_zone.size - 1, 0))],
                      NO_ZONE) if lo.size else np.zeros(0, dtype=np.int64)
        touched, start, refused, refused_mw = enforce(trees, gz, cz, self.ifs, safety_threshold)
        flow = interface_flows(zone_flows(gz, trees.assignment, cz, trees.demand), self.ifs)
        self.figures = {"limit_refused": refused, "limit_refused_mw": refused_mw,
                        **{f"flow_{self.ifs.slug(i)}_mw": float(flow[i]) for i in range(len(self.ifs.names))}}
        end = trees.assignment[touched]
        moved = start != end
        idx, frm, to = touched[moved], start[moved], end[moved]
        starved = trees.assignment == STARVED
        return RebalanceResult(moved=idx, moved_from=frm, moved_to=to, newly_starved=idx[(frm >= 0) & (to == STARVED)],
                               restored=idx[(frm == STARVED) & (to >= 0)], shed=0, overloaded=0, starved_count=trees.n_unplaced,
                               starved_mw=float(trees.demand[starved].astype(np.float64).sum()), passes=0, load=trees.load.copy())
