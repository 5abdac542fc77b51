"""A tracker's day without sockets: one region of whole-state shape through a day of rounds.

`scowl bench region`: a `Region` of ~2.28 M consumers (tracker-0's share of the whole state,
picked from 8.9 M global indices) and 111 generators (gas with ramp limits, fixed units,
solar and wind), registered in four populations' batches as a tracker does, then 288
five-minute rounds of `scowl.balance.tracker_round`, each with every generator's status and
the demand reports of the consumers whose demand moved more than 5 % since their last
report (an AR(1) noise per consumer as the population model draws; ~1 M reports a round:
what tracker-0 got at whole state). The region's demand follows tracker-0's measured day
(5.4 -> 8.6 GW) and its gas runs out in the evening as it did there, so ~1/8 of the rounds
starve consumers (up to ~5 %) and rotate who starves. No peers: no handovers.

Only `tracker_round` is timed (CPU time of this process per round); drawing the inputs is
not. Memory: peak RSS before the region is built (interpreter, numpy), after registration,
after round 0 and at the end; bytes per consumer are (peak - before) / consumers.
`--profile FILE` writes cProfile statistics of the timed rounds (round 0 apart: FILE.round0).
"""

from __future__ import annotations

import argparse
import cProfile
import resource
import time

import numpy as np

from scowl import wire
from scowl.balance import ConsumerBatch, GenUpdate, Region, RoundInput, tracker_round
from scowl.model import CONTINUOUS, FIXED, STOCHASTIC

# tracker-0's demand at whole state (load + starved, GW) every 24 ticks from tick 0, and at tick 288
_DEMAND_GW = (6.14, 5.58, 5.39, 5.78, 6.74, 7.56, 8.20, 8.54, 8.60, 8.00, 7.40, 7.00, 6.10)
_POPULATIONS = 4
_PHI = float(np.exp(-5.0 / 60.0))  # a 5-minute tick's AR(1) coefficient at 60 minutes' correlation
_REPORT = 0.05  # [trackers] report_threshold: a consumer reports when its demand moved more than this


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--consumers", type=int, default=2_276_640, help="consumers in the region (default 2,276,640: tracker-0's)")
    parser.add_argument("--global-consumers", type=int, default=8_898_286, help="consumers in the state (default 8,898,286)")
    parser.add_argument("--generators", type=int, default=111, help="generators in the region (default 111)")
    parser.add_argument("--ticks", type=int, default=288, help="rounds (default 288: a day of 5-minute ticks)")
    parser.add_argument("--threshold", type=float, default=0.10, help="safety threshold (default 0.10)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the workload's random stream (default 42)")
    parser.add_argument("--profile", default=None, metavar="FILE", help="write cProfile statistics of the rounds to FILE")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _curve(tick: int | np.ndarray, ticks_per_day: int = 288) -> np.ndarray:
    """The region's demand, GW, at `tick` (tracker-0's day, interpolated)."""
    pts = np.linspace(0, ticks_per_day, len(_DEMAND_GW))
    return np.interp(np.asarray(tick) % ticks_per_day, pts, _DEMAND_GW)


class _Workload:
    """The region's consumers and generators and what they report each round."""

    def __init__(self, args: argparse.Namespace) -> None:
        rng = np.random.default_rng([args.seed, 7])
        self.rng = rng
        n, g = args.consumers, args.generators
        self.lo = np.sort(rng.choice(args.global_consumers, n, replace=False)).astype(np.uint64)
        self.pop = (self.lo * _POPULATIONS // np.uint64(args.global_consumers)).astype(np.int64)
        base = rng.lognormal(0.0, 0.5, n).astype(np.float32)
        self.base = (base / float(base.sum(dtype=np.float64)) * 1000.0).astype(np.float32)  # MW at 1 GW of region demand
        self.noise = rng.standard_normal(n, dtype=np.float32) * np.float32(0.15)
        self.reported = self.step(0)
        # generators: ~45 % gas (with ramp limits), fixed units, solar and wind
        n_gas, n_fixed = int(0.45 * g), int(0.1 * g)
        n_solar = (g - n_gas - n_fixed) * 2 // 3
        self.kind = np.r_[np.full(n_gas, CONTINUOUS), np.full(n_fixed, FIXED), np.full(g - n_gas - n_fixed, STOCHASTIC)].astype(np.uint8)
        size = rng.lognormal(0.0, 0.5, g)
        share = lambda m, total: size[m] / size[m].sum() * total  # noqa: E731
        gas, fixed = self.kind == CONTINUOUS, self.kind == FIXED
        solar = np.zeros(g, dtype=bool)
        solar[n_gas + n_fixed : n_gas + n_fixed + n_solar] = True
        wind = (self.kind == STOCHASTIC) & ~solar
        self.pmax = np.zeros(g)
        self.pmax[gas] = share(gas, 5874.0)
        self.pmax[fixed] = share(fixed, 1300.0)
        self.pmax[solar] = share(solar, 3600.0)
        self.pmax[wind] = share(wind, 700.0)
        self.pmin = np.where(gas, 0.3 * self.pmax, 0.0)
        self.ramp = np.where(gas, 0.15 * self.pmax, 0.0)  # 3 %/minute over 5 minutes
        self.solar, self.wind, self.gas = solar, wind, gas
        self.gen_ids = np.arange(1000, 1000 + g, dtype=np.int32)
        self.setpoint = np.where(gas, 0.5 * self.pmax, 0.0)
        self.cloud = np.full(int(solar.sum()), 0.9)  # solar's share of clear sky and wind's of nameplate: random walks
        self.breeze = np.full(int(wind.sum()), 0.4)

    def ids(self, sel: np.ndarray | slice) -> np.ndarray:
        ids = np.zeros(self.lo[sel].size, dtype=wire.CONSUMER_ID_DTYPE)
        ids["hi"] = self.pop[sel]
        ids["lo"] = self.lo[sel]
        return ids

    def step(self, tick: int) -> np.ndarray:
        """Every consumer's demand at `tick`, MW: the region's curve x an AR(1) noise in log
        (sigma 0.15, correlation 60 minutes), as the population model draws it."""
        if tick > 0:
            self.noise *= np.float32(_PHI)
            self.noise += self.rng.standard_normal(self.noise.size, dtype=np.float32) * np.float32(0.15 * np.sqrt(1 - _PHI**2))
        return self.base * np.float32(_curve(tick)) * np.exp(self.noise)

    def reports(self, tick: int) -> list[ConsumerBatch]:
        """What the populations report: consumers whose demand moved more than 5 % from their
        last report (at tick 0, every consumer), in one batch per population (ascending global index)."""
        d = self.step(tick)
        sel = np.flatnonzero((np.abs(d - self.reported) > np.float32(_REPORT) * self.reported) | (tick == 0))
        self.reported[sel] = d[sel]
        d = d[sel]
        bounds = np.searchsorted(self.pop[sel], np.arange(_POPULATIONS + 1))
        return [ConsumerBatch(self.ids(sel[a:b]), d[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]

    def status(self, tick: int) -> GenUpdate:
        hour = (tick % 288) / 12.0
        sun = max(0.0, np.sin(np.pi * (hour - 6.0) / 13.5))  # 6:00 to 19:30
        self.cloud = np.clip(self.cloud + self.rng.normal(0.0, 0.03, self.cloud.size), 0.5, 1.0)
        self.breeze = np.clip(self.breeze + self.rng.normal(0.0, 0.02, self.breeze.size), 0.1, 0.7)
        out = self.pmax.copy()
        out[self.solar] *= sun * self.cloud
        out[self.wind] *= self.breeze
        return GenUpdate(self.gen_ids, out, self.setpoint.copy(), np.zeros(out.size))


def measure(args: argparse.Namespace) -> dict:
    rss_start = _rss_mb()
    w = _Workload(args)
    rss_workload = _rss_mb()
    region = Region(args.global_consumers, args.threshold, wire.CONSUMER_ID_DTYPE)
    region.add_generators(w.gen_ids, w.kind, w.pmin, w.pmax, w.ramp)
    t0 = time.process_time()
    region.reserve(w.lo.size)
    bounds = np.searchsorted(w.pop, np.arange(_POPULATIONS + 1))
    for a, b in zip(bounds[:-1], bounds[1:]):  # one registration batch per population, in order
        region.add_consumers(w.ids(slice(a, b)), w.reported[a:b])
    register_s = time.process_time() - t0
    rss_registered = _rss_mb()
    state_registered = region.state_bytes()
    prof = cProfile.Profile() if args.profile else None
    seconds, moved, reports, starved_rounds, starved_max, rss_round0 = [], 0, 0, 0, 0, 0.0
    for tick in range(args.ticks):
        inp = RoundInput(tick=tick, statuses=[w.status(tick)], reports=w.reports(tick))
        if prof is not None and tick == 1:
            prof.enable()
        t0 = time.process_time()
        out = tracker_round(region, inp)
        seconds.append(time.process_time() - t0)
        w.setpoint[w.gas] = out.setpoint_mw[: int(w.gas.sum())]  # the fleets follow (gas rows come first)
        moved += int(out.result.moved.size)
        reports += sum(len(r.ids) for r in inp.reports)
        starved_rounds += out.result.starved_count > 0
        starved_max = max(starved_max, int(out.result.starved_count))
        if tick == 0:
            rss_round0 = _rss_mb()
    if prof is not None:
        prof.disable()
        prof.dump_stats(args.profile)
    s = np.asarray(seconds[1:]) if len(seconds) > 1 else np.zeros(1)
    n = w.lo.size
    return {
        "consumers": n, "generators": int(w.kind.size), "ticks": args.ticks, "reports_per_round": reports / max(args.ticks, 1),
        "register_cpu_s": register_s, "round0_cpu_s": seconds[0] if seconds else 0.0,
        "round_cpu_ms_mean": float(s.mean() * 1e3), "round_cpu_ms_median": float(np.median(s) * 1e3),
        "round_cpu_ms_p95": float(np.percentile(s, 95) * 1e3), "round_cpu_ms_max": float(s.max() * 1e3),
        "rounds_cpu_s": float(np.sum(seconds)), "moved": moved, "starved_rounds": int(starved_rounds), "starved_max": starved_max,
        "rss_start_mb": rss_start, "rss_workload_mb": rss_workload, "rss_registered_mb": rss_registered,
        "rss_round0_mb": rss_round0, "rss_peak_mb": _rss_mb(),
        # the region's own bytes: peak over the workload's inputs (the harness's, not a tracker's)
        "region_bytes_per_consumer": (_rss_mb() - rss_workload) * 2**20 / n,
        "registered_bytes_per_consumer": (rss_registered - rss_workload) * 2**20 / n,
        # the arrays the region keeps between rounds (Region.state_bytes), exactly: after registration and at the end
        "state_bytes_per_consumer_registered": state_registered / n, "state_bytes_per_consumer": region.state_bytes() / n,
    }


def render(f: dict) -> str:
    return "\n".join([
        f"region: {f['consumers']:,} consumers, {f['generators']} generators, {f['ticks']} rounds, "
        f"{f['reports_per_round']:,.0f} demand reports a round",
        f"registration {f['register_cpu_s']:.2f} s CPU; round 0 {f['round0_cpu_s']:.2f} s CPU",
        f"rounds 1..: CPU ms mean {f['round_cpu_ms_mean']:.1f}, median {f['round_cpu_ms_median']:.1f}, "
        f"p95 {f['round_cpu_ms_p95']:.1f}, max {f['round_cpu_ms_max']:.1f}; all rounds {f['rounds_cpu_s']:.1f} s CPU",
        f"moved {f['moved']:,} in all; {f['starved_rounds']} rounds with starved consumers (max {f['starved_max']:,})",
        f"peak RSS MB: start {f['rss_start_mb']:.0f}, inputs drawn {f['rss_workload_mb']:.0f}, registered "
        f"{f['rss_registered_mb']:.0f}, after round 0 {f['rss_round0_mb']:.0f}, end {f['rss_peak_mb']:.0f}",
        f"region B/consumer over the inputs: registered {f['registered_bytes_per_consumer']:.0f}, peak {f['region_bytes_per_consumer']:.0f}; "
        f"its arrays between rounds {f['state_bytes_per_consumer']:.1f} (after registration {f['state_bytes_per_consumer_registered']:.1f})",
    ])
