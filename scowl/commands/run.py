"""`scowl run [CONFIG] [--out DIR]`: run a scenario's day and print its summary."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from scowl.commands._types import positive_int
from scowl.config import default_scenario_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a scenario's day (every role on this machine) and write its results",
                       description="Run a scenario's day with every role on this machine: all actors in this "
                       "process over inproc (default), or one scowl-node process per actor over ipc/tcp "
                       "(--processes). Writes DIR/state.parquet (per tick and actor), DIR/trace-*.log, "
                       "DIR/finals.json and DIR/summary.json, and prints the summary.")
    p.add_argument("config", nargs="?", help="scenario TOML (default: the packaged configs/ny2030.toml)")
    p.add_argument("--out", help="run directory (default: runs/<scenario>-<timestamp>)")
    p.add_argument("--processes", action="store_true", help="one OS process per actor (real sockets between processes)")
    p.add_argument("--transport", choices=["inproc", "ipc", "tcp"], help="default: inproc, or ipc with --processes")
    p.add_argument("--populations", type=positive_int, help="consumer population actors (default: one per 2M consumers, at most one per tracker)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scowl.report_text import summary_table
    from scowl.run import run_scenario

    config = args.config or str(default_scenario_path())
    out = args.out or f"runs/{Path(config).stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    summary = run_scenario(config, out, processes=args.processes, transport=args.transport,
                           populations=args.populations, show_progress=not args.quiet)
    print(summary_table(summary))
    print(f"\nresults in {out}/ (summary.json, state.parquet, finals.json, trace-*.log)")
    return 0
