"""`scowl run [CONFIG] [--set KEY=VALUE ...] [--out DIR] [--json]`: run a scenario's day and print its summary."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from scowl.commands._scenario import add_scenario_arguments, scenario_of
from scowl.commands._types import positive_int

#: from this many consumers up `scowl run` starts its actors in scowl-node processes, one per usable
#: core (--layout auto), unless --transport names inproc: one process uses one core of the machine
PROCESSES_FROM = 1_000_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a scenario's day (every role on this machine) and write its results",
                       description="Run a scenario's day with every role on this machine (with no CONFIG: all of New York "
                       "State): all actors in this process over inproc, or in scowl-node processes over ipc/tcp "
                       "(--processes, grouped by --layout: one process per usable core by default; the default mode from "
                       f"{PROCESSES_FROM:,} consumers up). Writes DIR/state.parquet (per tick and actor), DIR/trace-*.log, "
                       "DIR/finals.json and DIR/summary.json, and prints the summary.")
    add_scenario_arguments(p, optional=True, default="newyork",
                           help="scenario: a TOML file, or a packaged scenario's name (newyork: all of New York State, "
                           "8.9 M consumers; ny2030: the same day at 5 %%; small, small-partition, ny2030-partition, ...)")
    p.add_argument("--out", help="run directory (default: runs/<scenario>-<timestamp>)")
    p.add_argument("--processes", action="store_true",
                   help="actors in scowl-node OS processes (real sockets between them), grouped by --layout; the default "
                   f"from {PROCESSES_FROM:,} consumers up on a machine with more than one usable core (--transport inproc: "
                   "one process)")
    p.add_argument("--layout", metavar="SPEC",
                   help="with --processes, which actors share a process: auto (default: one process per usable core, "
                   "actors dealt by expected CPU), N (N processes), actor (one per actor), role (one per role), or "
                   "groups 'a,b;c,d' of actor names or patterns (scowl.run.layout)")
    p.add_argument("--transport", choices=["inproc", "ipc", "tcp"], help="default: inproc, or ipc with --processes")
    p.add_argument("--populations", type=positive_int, help="consumer population actors (default: one per 2M consumers, at most one per tracker)")
    p.add_argument("--seeds", type=positive_int, metavar="N",
                   help="run the day with N seeds (the scenario's seed, +1, ...) into OUT/seed-<s>/ and report every figure "
                   "as its mean and 95 %% t-interval (OUT/seeds.json)")
    p.add_argument("--force", action="store_true", help="replace an existing run directory --out whole (refused otherwise)")
    p.add_argument("--json", action="store_true",
                   help="print summary.json's object on stdout instead of the table; progress on stderr as JSON lines "
                   '({"event": "tick", "done": D, "total": T, "elapsed_s": S})')
    p.add_argument("--insecure", action="store_true",
                   help="no CURVE keys on ipc/tcp links (benchmarks only: any local process could act as any peer); "
                   "the summary says so")
    p.set_defaults(func=run)


def wants_processes(args: argparse.Namespace, scenario) -> bool:
    """--processes, or (no --transport given either) a scenario large enough that one process on
    one core would leave the machine's other cores idle."""
    if args.processes or args.transport is not None:
        return bool(args.processes)
    from scowl.run.layout import usable_cores

    return consumers_of(scenario) >= PROCESSES_FROM and usable_cores() > 1


def consumers_of(scenario) -> int:
    """Homes and commercial buildings at the scenario's scale."""
    from scowl.model.data import consumers_at

    return sum(consumers_at(scenario.scenario.scale))


def run(args: argparse.Namespace) -> int:
    from scowl.progress import ENV
    from scowl.report.text import summary_table
    from scowl.run import RunFailed, RunInterrupted, run_scenario

    scenario = scenario_of(args)  # a bad file, name or --set fails here, before anything is written
    if not args.processes and wants_processes(args, scenario):
        args.processes = True
        print(f"scowl run: {consumers_of(scenario):,} consumers: actors in scowl-node processes, "
              f"one per usable core (--layout {args.layout or 'auto'}); --transport inproc runs them all in this process",
              file=sys.stderr)
    out = args.out or f"runs/{scenario.scenario.name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    if args.seeds:
        return run_seeds(args, scenario, out)
    if args.json:
        os.environ[ENV] = "json"  # this process and its scowl-node children
    try:  # the run stores the scenario (with its --set overrides) as OUT/scenario.toml itself
        summary = run_scenario(scenario, out, processes=args.processes, transport=args.transport,
                               populations=args.populations, show_progress=not args.quiet, force=args.force,
                               insecure=args.insecure, layout=args.layout)
    except (RunFailed, RunInterrupted) as exc:
        print(f"scowl run: {'interrupted' if isinstance(exc, RunInterrupted) else 'error'}: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps({**summary, "run_dir": str(out)}))
        return 0
    print(summary_table(summary))
    print(f"\nresults in {out}/ (summary.json, state.parquet, finals.json, trace-*.log)", file=sys.stdout)
    return 0


def run_seeds(args: argparse.Namespace, scenario, out: str) -> int:
    """`--seeds N`: the day once per seed, then every figure as mean and 95 % interval."""
    from scowl.api import Runs
    from scowl.api import run as run_api
    from scowl.progress import ENV
    from scowl.stats import intervals_table, write_seeds

    if args.json:
        os.environ[ENV] = "json"
    runs = run_api(scenario, out, seeds=args.seeds, processes=args.processes, transport=args.transport,
                   populations=args.populations, progress=not args.quiet, layout=args.layout, insecure=args.insecure)
    assert isinstance(runs, Runs)  # seeds=N gives the N runs
    result = write_seeds(out, runs)
    runs.plot_day().savefig(Path(out) / "day.png")  # every quantity's mean with its 95 % band
    result["plots"] = [str(Path(out) / "day.png")]
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Scowl runs: {scenario.scenario.name}, seeds {', '.join(str(r.summary['seed']) for r in runs)}\n")
    print(intervals_table(runs.intervals(), len(runs)))
    print(f"\nresults in {out}/ (seeds.json, day.png: the mean day with 95 % bands; one run directory per seed: seed-*/)")
    return 0
