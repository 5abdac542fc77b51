"""Tracker rebalance rate (Hz) on the prototype's workload and at 20,000 consumers per generator.

Two workloads, each a loop of rounds: apply the round's updates, then `rebalance`. Only
that is timed (time.perf_counter per round); drawing the random updates is not.

  proto  325 generators and a small consumer population; every generator reports a new
         output each round, consumers unchanged (the gRPC prototype managed 0.3-0.7 Hz).
  scale  325 generators and 6,500,000 consumers; each round ~1 % of consumers report a new
         demand and a few generators a new output.

Rates: mean = rounds / timed seconds; p5 = the 5th percentile of per-round rates (1 / the
95th percentile round time). "Moved per second" counts consumers whose generator changed.
numpy runs these kernels on one thread, so the figures are one core's.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from scowl.balance import Trees, check_invariants, rebalance


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--generators", type=int, default=325, help="generators in the region (default 325)")
    parser.add_argument("--proto-consumers", type=int, default=6_500, help="consumers in the proto workload (default 6,500)")
    parser.add_argument("--proto-rounds", type=int, default=3_000, help="timed rounds of the proto workload (default 3,000)")
    parser.add_argument("--consumers", type=int, default=6_500_000, help="consumers in the scale workload (default 6,500,000)")
    parser.add_argument("--rounds", type=int, default=60, help="timed rounds of the scale workload (default 60)")
    parser.add_argument("--change", type=float, default=0.01, help="fraction of consumers reporting per round (default 0.01)")
    parser.add_argument("--gen-changes", type=int, default=5, help="generators reporting per scale round (default 5)")
    parser.add_argument("--threshold", type=float, default=0.10, help="safety threshold (default 0.10)")
    parser.add_argument("--margin", type=float, default=0.15, help="capacity above demand at the threshold (default 0.15)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the workload's random stream (default 42)")
    parser.add_argument("--verify", action="store_true", help="check the invariants (O(N)) after the last round")


def _region(rng: np.random.Generator, g: int, n: int, thr: float, margin: float) -> tuple[Trees, np.ndarray, np.ndarray]:
    """Households of ~1.3 kW (lognormal) and generators of lognormal size whose ceilings
    total (1 + margin) x demand. Returns the trees (all placed), base demand and nominal output."""
    demand = (rng.lognormal(0.0, 0.5, n) * 0.0013 / np.exp(0.125)).astype(np.float32)
    size = rng.lognormal(0.0, 1.0, g)
    nominal = size / size.sum() * float(demand.sum()) * (1.0 + margin) / (1.0 - thr)
    trees = Trees(nominal, demand)
    return trees, demand, nominal


def _rates(seconds: list[float], moved: int) -> dict:
    t = np.asarray(seconds)
    return {
        "rounds": int(t.size),
        "hz_mean": float(t.size / t.sum()),
        "hz_p5": float(1.0 / np.percentile(t, 95)),
        "round_ms_median": float(np.median(t) * 1e3),
        "moved_per_s": float(moved / t.sum()),
        "moved_per_round": float(moved / t.size),
    }


def _proto(args, rng: np.random.Generator) -> dict:
    trees, _, nominal = _region(rng, args.generators, args.proto_consumers, args.threshold, args.margin)
    rebalance(trees, args.threshold)
    gens = np.arange(args.generators)
    seconds, moved, starved = [], 0, 0
    for _ in range(args.proto_rounds):
        output = nominal * rng.uniform(0.85, 1.05, gens.size)  # every generator reports
        t0 = time.perf_counter()
        trees.apply_generator_updates(gens, output)
        result = rebalance(trees, args.threshold)
        seconds.append(time.perf_counter() - t0)
        moved += result.moved.size
        starved = result.starved_count
    if args.verify:
        check_invariants(trees, args.threshold)
    return {**_rates(seconds, moved), "consumers": trees.n, "generators": trees.G, "starved_at_end": starved}


def _scale(args, rng: np.random.Generator) -> dict:
    trees, base, nominal = _region(rng, args.generators, args.consumers, args.threshold, args.margin)
    t0 = time.perf_counter()
    rebalance(trees, args.threshold)
    initial = time.perf_counter() - t0
    k = max(1, int(args.change * args.consumers))
    seconds, moved, starved = [], 0, 0
    for _ in range(args.rounds):
        idx = rng.integers(0, args.consumers, k)
        new_demand = (base[idx] * rng.lognormal(0.0, 0.2, k)).astype(np.float32)
        gen_idx = rng.integers(0, args.generators, args.gen_changes)
        gen_out = nominal[gen_idx] * rng.uniform(0.8, 1.1, gen_idx.size)
        t0 = time.perf_counter()
        trees.apply_consumer_updates(idx, new_demand)
        trees.apply_generator_updates(gen_idx, gen_out)
        result = rebalance(trees, args.threshold)
        seconds.append(time.perf_counter() - t0)
        moved += result.moved.size
        starved = result.starved_count
    if args.verify:
        check_invariants(trees, args.threshold)
    return {
        **_rates(seconds, moved),
        "consumers": trees.n,
        "generators": trees.G,
        "updates_per_round": k,
        "initial_placement_s": initial,
        "starved_at_end": starved,
    }


def measure(args: argparse.Namespace) -> dict:
    proto = _proto(args, np.random.default_rng([args.seed, 1]))
    scale = _scale(args, np.random.default_rng([args.seed, 2]))
    figures = {f"proto_{k}": v for k, v in proto.items()}
    figures.update({f"scale_{k}": v for k, v in scale.items()})
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    figures["verified"] = bool(args.verify)
    return figures


def render(figures: dict) -> str:
    rows = [("workload", "gens", "consumers", "Hz mean", "Hz p5", "ms median", "moved/s", "moved/round")]
    for name, label in (("proto", "prototype (outputs only)"), ("scale", "20,000 : 1 (1 % demand)")):
        f = {k[len(name) + 1 :]: v for k, v in figures.items() if k.startswith(name + "_")}
        rows.append(
            (
                label,
                f"{f['generators']:,}",
                f"{f['consumers']:,}",
                f"{f['hz_mean']:,.1f}",
                f"{f['hz_p5']:,.1f}",
                f"{f['round_ms_median']:.3f}",
                f"{f['moved_per_s']:,.0f}",
                f"{f['moved_per_round']:,.1f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        f"scale: {figures['scale_updates_per_round']:,} demand reports per round; initial placement of all "
        f"consumers {figures['scale_initial_placement_s']:.2f} s; starved at end: proto "
        f"{figures['proto_starved_at_end']:,}, scale {figures['scale_starved_at_end']:,}"
    )
    lines.append(f"peak RSS {figures['peak_rss_mb']:,.0f} MB; invariants checked: {'yes' if figures['verified'] else 'no'}")
    return "\n".join(lines)
