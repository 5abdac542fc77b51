"""`scowl`: whole runs and tools. Each subcommand lives in its own module under
scowl.commands and exposes `register(subparsers)`; the module's `run(args)` returns the
process exit code."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import scowl.commands


def _command_modules() -> list:
    """Every module in scowl.commands, in name order, so a new command needs no edit here."""
    names = sorted(m.name for m in pkgutil.iter_modules(scowl.commands.__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"scowl.commands.{n}") for n in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scowl",
        description="Scowl: emulate a peer-to-peer electricity grid of New York State on ZeroMQ actors "
        "and measure whether it survives a stressful day.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from scowl.errors import ScowlError

    try:
        return int(args.func(args) or 0)
    except ScowlError as exc:
        print(f"scowl {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"scowl {args.command}: interrupted", file=sys.stderr)
        return 130
