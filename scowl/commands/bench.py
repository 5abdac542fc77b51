"""`scowl bench NAME [--json]`: run one benchmark and print its figures."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil

import scowl.bench
from scowl.commands._scenario import add_set_argument, scenario_with_sets


def _benchmarks() -> dict:
    names = sorted(m.name for m in pkgutil.iter_modules(scowl.bench.__path__) if not m.name.startswith("_"))
    return {n: importlib.import_module(f"scowl.bench.{n}") for n in names}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print its figures (never asserted in tests)")
    bsub = p.add_subparsers(dest="bench", metavar="NAME", required=True)
    for name, module in _benchmarks().items():
        bp = bsub.add_parser(name, help=(module.__doc__ or name).strip().splitlines()[0])
        bp.add_argument("--json", action="store_true", help="print one JSON object of the figures instead of a table")
        module.add_arguments(bp)
        if any(a.dest == "config" for a in bp._actions):  # a bench of a scenario takes overrides like `scowl run`
            add_set_argument(bp)
        bp.set_defaults(func=_run, module=module)


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "sets", None):  # a bad --set is refused, naming the key, before the bench starts
        from scowl.config import default_scenario_path

        scenario_with_sets(args.config or default_scenario_path(), args.sets)
    figures = args.module.measure(args)
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    else:
        print(args.module.render(figures))
    return 0
