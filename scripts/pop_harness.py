"""One consumer population driven through a day in-process, without sockets: the actor's own
per-tick code (demand step and reports, following the trackers' Assign, draws, the books) on
synthetic Assigns and empty Verdicts. Prints CPU per tick by phase, peak RSS and bytes per
consumer, and a digest of everything the population sent and reported (a refactor keeps it).

    .venv/bin/python scripts/pop_harness.py DAY.toml [--population 0] [--ticks 288] [--profile OUT]

DAY.toml is a scenario (e.g. a run dir's day.toml at scale 1.0); the plan is made as `scowl
run --processes` makes it (4 populations at the whole state)."""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import resource
import sys
import time
from types import SimpleNamespace

import numpy as np


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--population", type=int, default=0)
    ap.add_argument("--populations", type=int, default=None)
    ap.add_argument("--ticks", type=int, default=None)
    ap.add_argument("--moved", type=float, default=0.015, help="share of consumers a tracker moves per tick")
    ap.add_argument("--starved", type=float, default=0.001, help="share of consumers starved per tick (they stay starved until moved again)")
    ap.add_argument("--encode", action="store_true", help="encode every sent message into a frame, as the transport does")
    ap.add_argument("--profile", default="")
    args = ap.parse_args()

    from scowl import wire
    from scowl.actors.consumer import Population
    from scowl.plan import make_plan

    rss0 = rss_mb()
    plan = make_plan(args.config, populations=args.populations)
    scenario = __import__("scowl.config", fromlist=["load_scenario"]).load_scenario(args.config)
    shard = plan.populations[args.population]
    t0 = time.process_time()
    pop = Population(shard.name, plan, scenario, None, shard)
    build_s = time.process_time() - t0
    if hasattr(pop, "space"):
        pop.space.hi = np.uint64(7)
    else:
        pop.hi = np.uint64(7)
    n = pop.n
    k = len(plan.trackers)
    digest = hashlib.sha256()
    sent = {"frames": 0, "bytes": 0, "encode_s": 0.0, "digest_s": 0.0}

    def send(peer, msg):
        c = time.process_time()
        if args.encode:
            frame = wire.encode_frame(msg, pop.name, peer, 1, getattr(msg, "tick", 0))
            sent["bytes"] += len(frame)
            del frame
        c1 = time.process_time()
        sent["frames"] += 1
        for name, _ in type(msg).COLUMNS:
            digest.update(getattr(msg, name))
        sent["encode_s"] += c1 - c
        sent["digest_s"] += time.process_time() - c1

    done: list[dict] = []
    pop.send = send
    pop.arm = lambda *a, **kw: None
    pop.heard = lambda *a: None
    pop.done = lambda tick, figures: done.append(figures)
    from scowl.balance.sharding import first_trackers

    c0 = time.process_time()
    if hasattr(pop, "first_buckets"):
        bucket = pop.first_buckets(np.array([n // k] * (k - 1) + [n - (k - 1) * (n // k)]))
    else:  # main before the setup's arrays moved into first_buckets: what setup() did
        bucket = first_trackers(np.array([n // k] * (k - 1) + [n - (k - 1) * (n // k)]),
                                np.r_[pop.pop.kind, np.full(pop.n - pop.n_consumers, 255, dtype=np.uint8)], None)
        pop.global_at(np.arange(pop.n))
    setup_s = time.process_time() - c0
    rss_setup = rss_mb()
    if hasattr(pop, "_first_demand"):
        pop._first_demand()
    for b in range(k):
        pos = np.flatnonzero(bucket == b)
        for a in range(0, pos.size, 100_000):
            wire.ConsumersRegister.pack(ids=pop.ids_at(pos[a:a + 100_000]), demand_mw=pop.reported[pos[a:a + 100_000]])
    pop.mgr[:] = (np.arange(n) * 7919 % 1009 % k).astype(np.uint8)  # (a tracker's handovers mix them)
    del bucket, pos
    rss_at = {}
    rng = np.random.default_rng(1)
    gens_of = [np.arange(1000 + 200 * t, 1000 + 200 * t + 110, dtype=np.int32) for t in range(k)]
    ticks = args.ticks or scenario.ticks
    phases = dict.fromkeys(("step", "ahead", "follow", "finish"), 0.0)
    assign_build = 0.0
    prof = cProfile.Profile() if args.profile else None
    rss_ready = rss_mb()
    for tick in range(ticks):
        pop.tick_now = tick
        c0 = time.process_time()
        if prof:
            prof.enable()
        if hasattr(pop, "_step"):  # (main before tick 0's demand went with the registrations)
            pop._step(tick)
        else:
            if pop.model.tick < tick:
                pop._demand(tick)
            pop._report(tick)
        c1 = step_end = time.process_time()
        if hasattr(pop.model, "advance") and tick + 1 < ticks:  # what the actor does while its trackers round
            pop.model.advance(tick + 1)
        if prof:
            prof.disable()
        c1a = time.process_time()
        phases["ahead"] += c1a - c1
        c1 = c1a
        if tick in (0, 1):
            rss_at[f"{tick} demand+reports"] = rss_mb()
        # the trackers' Assigns (not timed: the tracker's work): tick 0 places everyone, then a few move
        sel_all = np.arange(n) if tick == 0 else np.sort(rng.choice(n, int(n * (args.moved + args.starved)), replace=False))
        for t, tracker in enumerate(plan.trackers):
            sel = sel_all[pop.mgr[sel_all] == t]
            g = gens_of[t][rng.integers(0, len(gens_of[t]), sel.size)]
            if tick:
                g[rng.random(sel.size) < args.starved / (args.moved + args.starved)] = wire.STARVED_ID
            pop.assigns.add(tick, tracker, (tracker, wire.Assign.pack_ids(ids=pop.ids_at(sel), tick=tick, gen_ids=g)))
        if tick in (0, 1):
            rss_at[f"{tick} reports"] = rss_mb()
        c2 = time.process_time()
        assign_build += c2 - c1
        if prof:
            prof.enable()
        if tick in (0, 1):
            rss_at[f"{tick} assigns"] = rss_mb()
        pop._follow(tick)
        c3 = time.process_time()
        for f in sorted(pop.verdicts.expected_at(tick)):
            pop.verdicts.add(tick, f, SimpleNamespace(choked=[], capacity_low=[], unchoked=[]))
        pop._maybe_finish(tick)
        if prof:
            prof.disable()
        c4 = time.process_time()
        if tick in (0, 1, ticks - 1):
            rss_at[tick] = rss_mb()
        phases["step"] += step_end - c0 - sent["digest_s"]
        sent["digest_s"] = 0.0
        phases["follow"] += c3 - c2 - sent["digest_s"]
        sent["digest_s"] = 0.0
        phases["finish"] += c4 - c3
    for f in done:
        digest.update(repr(sorted(f.items())).encode())
    total = sum(phases.values())
    rss = rss_mb()
    print(f"population {shard.name}: {n:,} consumers+blocks, {ticks} ticks, build {build_s:.2f} s CPU")
    print(f"CPU per tick: {1e3 * total / ticks:.1f} ms, {1e3 * (total - phases['ahead']) / ticks:.1f} ms of it after the tick comes  (" + ", ".join(f"{p} {1e3 * v / ticks:.1f}" for p, v in phases.items())
          + f"); of which encoding frames {1e3 * sent['encode_s'] / ticks:.1f}; synthetic assigns {1e3 * assign_build / ticks:.1f} ms"
          " and the harness's digest not counted")
    print(f"reports per tick (after tick 0): {np.mean([f['reports'] for f in done[1:]]) / n:.3f} of consumers; frames {sent['frames']}"
          + (f", {sent['bytes'] / ticks / 1e6:.1f} MB encoded per tick" if args.encode else ""))
    print(f"peak RSS {rss:.0f} MB (interpreter+imports {rss0:.0f}, before tick 0 {rss_ready:.0f}): "
          f"{(rss - rss0) * 2**20 / n:.1f} B per consumer above the imports, {rss * 2**20 / n:.1f} B all-in")
    print(f"setup's arrays {setup_s:.2f} s CPU; peak RSS after setup {rss_setup:.0f} MB, "
          + ", ".join(f"after tick {t} {v:.0f}" for t, v in rss_at.items()))
    print(f"digest {digest.hexdigest()[:16]}")
    if prof:
        prof.dump_stats(args.profile)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
