"""`scowl partition-sweep CONFIG [--sizes K ...] --out DIR`: the day once per partition size
(peers per island, see scowl.sweep.partition), to find the smallest partition that gets
through the day without a blackout."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from scowl.commands._scenario import add_scenario_arguments, scenario_file, scenario_of
from scowl.commands._types import non_negative_int, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("partition-sweep", help="run the day per partition size and find the smallest without a blackout",
                       description="Plan the config's grid with one generator per fleet actor and P consumer populations, "
                       "cut its peers into islands of K peers that cannot reach the trackers or each other during the "
                       "config's partition window, and run the day for each K. Writes DIR/partition_sweep.json, .csv, "
                       ".png, and each day's run directory under DIR/runs/.")
    add_scenario_arguments(p, help="scenario with a [[network.partitions]] window: a TOML file or a packaged name (e.g. small-partition)")
    p.add_argument("--sizes", type=positive_int, nargs="+", metavar="K",
                   help="peers per partition (default: every K that cuts the peers into equal islands)")
    p.add_argument("--populations", type=positive_int, help="consumer populations (default: one per generator)")
    p.add_argument("--window", type=non_negative_int, nargs=2, metavar=("START", "END"),
                   help="partition ticks [START, END) (default: the config's partitions)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (partition_sweep.json's) instead of the table; per-run lines go to stderr")
    p.set_defaults(func=run)


def command_line(args: argparse.Namespace, sizes: list[int], populations: int) -> str:
    """The command that reproduces this sweep (sizes and populations spelled out)."""
    parts = ["scowl", "partition-sweep", args.config, *[a for s in getattr(args, "sets", []) for a in ("--set", s)],
             "--sizes", *map(str, sizes), "--populations", str(populations)]
    if args.window:
        parts += ["--window", *map(str, args.window)]
    return shlex.join([*parts, "--out", args.out])


def run(args: argparse.Namespace) -> int:
    from scowl.sweep.partition import run_sweep, sweep_result, sweep_table, write_sweep

    scenario = scenario_of(args)
    config = scenario_file(args, args.out, scenario)
    to = sys.stderr if args.json else sys.stdout
    quiet = bool(getattr(args, "quiet", False))
    points, facts = run_sweep(config, args.sizes, args.out, populations=args.populations, window=args.window,
                              echo=lambda line: None if quiet else print(line, file=to, flush=True))
    command = command_line(args, [p.peers_per_partition for p in points], facts["populations"])
    result = sweep_result(config, scenario.seed, command, points)
    paths = write_sweep(args.out, result)
    if args.json:
        print(json.dumps({**result, "written": [str(p) for p in paths]}, default=str))
        return 0
    print()
    print(sweep_table(result))
    print(f"\nwritten: {', '.join(str(p) for p in paths)}")
    return 0
