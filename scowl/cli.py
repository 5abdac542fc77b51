"""`scowl`: whole runs and tools. Each subcommand lives in its own module under
scowl.commands and exposes `register(subparsers)`; the module's `run(args)` returns the
process exit code.

Conventions every command follows:
    exit status 0  done
                1  the run (or the command's work) failed
                2  a usage or configuration error (bad arguments, a bad scenario key, a missing file)
    -v / -vv       log scowl's INFO / DEBUG lines to stderr (and tracebacks of failures)
    -q             no progress output; only warnings and errors on stderr
    --version      scowl's version
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys

import scowl.commands

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _command_modules() -> list:
    """Every module in scowl.commands, in name order, so a new command needs no edit here."""
    names = sorted(m.name for m in pkgutil.iter_modules(scowl.commands.__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"scowl.commands.{n}") for n in names]


def _add_verbosity(p: argparse.ArgumentParser, top: bool) -> None:
    """-v/-q before or after the command; the command's own copy leaves an unset flag alone."""
    default = 0 if top else argparse.SUPPRESS
    p.add_argument("-v", "--verbose", action="count", default=default, help="more log output on stderr (-vv: debug)")
    try:
        p.add_argument("-q", "--quiet", action="store_true", default=False if top else argparse.SUPPRESS,
                       help="no progress output; only warnings and errors")
    except argparse.ArgumentError:  # the command defines its own --quiet
        pass


def build_parser() -> argparse.ArgumentParser:
    from scowl import __version__

    parser = argparse.ArgumentParser(
        prog="scowl",
        description="Scowl: emulate a peer-to-peer electricity grid of New York State on ZeroMQ actors "
        "and measure whether it survives a stressful day.",
        epilog="exit status: 0 done, 1 the run failed, 2 a usage or configuration error",
    )
    parser.add_argument("--version", action="version", version=f"scowl {__version__}")
    _add_verbosity(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(sub)
    for p in sub.choices.values():
        _add_verbosity(p, top=False)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.ERROR if quiet else logging.WARNING
    handler.setLevel(level)
    root = logging.getLogger("scowl")
    root.addHandler(handler)
    if verbose:
        root.setLevel(level)
    return handler


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, a usage error 2
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from scowl.errors import ConfigError, ScowlError, UsageError

    verbose, quiet = int(getattr(args, "verbose", 0) or 0), bool(getattr(args, "quiet", False))
    handler = _setup_logging(verbose, quiet)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `scowl ... | head`: the reader left; not a failure of the run
        try:  # what is still buffered would fail again at exit: point stdout at /dev/null (Python's advice)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    except (ConfigError, UsageError) as exc:
        print(f"scowl {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ScowlError, OSError) as exc:  # the run (or the command's work) failed: 1
        if verbose:
            logging.getLogger("scowl").exception("scowl %s failed", args.command)
        print(f"scowl {args.command}: failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"scowl {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        logging.getLogger("scowl").removeHandler(handler)
