"""What every command that takes a scenario shares: the positional CONFIG (a file or a packaged
scenario's name, resolved by scowl.config.resolve_scenario) and `--set KEY=VALUE` overrides
(dotted TOML keys, values in TOML syntax, validated like the file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scowl.config import (
    Scenario,
    load_scenario,
    override,
    parse_set,
    resolve_scenario,
    scenario_toml,
)
from scowl.errors import ConfigError

SET_HELP = ("override one scenario key, e.g. --set scenario.scale=0.01 --set trackers.count=4 "
            "(dotted TOML key; the value in TOML syntax; validated like the file; repeatable)")


def add_scenario_arguments(p: argparse.ArgumentParser, *, optional: bool = False, help: str | None = None,
                           default: str | None = None) -> None:
    """`default`: the packaged scenario an optional CONFIG falls back to (None: ny2030)."""
    text = help or "scenario: a TOML file, or a packaged scenario's name (small, small-partition, ny2030, newyork, ...)"
    if optional:
        p.add_argument("config", nargs="?", default=default, help=text + f" (default: {default or 'ny2030'})")
    else:
        p.add_argument("config", help=text)
    add_set_argument(p)


def add_set_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)


def scenario_of(args: argparse.Namespace) -> Scenario:
    """The scenario a command line names, with its --set overrides applied and validated."""
    return scenario_with_sets(args.config, getattr(args, "sets", None) or [])


def scenario_with_sets(config, sets: list[str], changes: dict | None = None) -> Scenario:
    """A scenario (a file or a packaged name) with a command's own `changes` (its --scale,
    --ticks ...) and then the `--set KEY=VALUE` overrides applied and validated; a bad --set
    value's error says it came from the command line."""
    sc = load_scenario(resolve_scenario(config))
    given = dict(parse_set(s) for s in sets)
    both = {**(changes or {}), **given}  # an explicit --set wins over a command's default
    if not both:
        return sc
    try:
        return override(sc, both)
    except ConfigError as exc:  # say that the bad value came from the command line
        if exc.key in given:
            raise ConfigError(f"--set {exc.key}=... (on {sc.source})", exc.key, exc.expected, exc.found) from None
        raise


def scenario_file(args: argparse.Namespace, out_dir, scenario: Scenario | None = None) -> str:
    """A scenario file to hand to a runner (which re-reads it in every actor): the file as named
    when there are no overrides, else OUT_DIR/scenario.toml written with the overrides applied."""
    sets = getattr(args, "sets", None) or []
    if not sets:
        return str(resolve_scenario(args.config))
    return write_scenario(scenario or scenario_of(args), out_dir)


def write_scenario(scenario: Scenario, out_dir) -> str:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "scenario.toml"
    path.write_text(scenario_toml(scenario))
    return str(path)


def scenario_stem(args: argparse.Namespace) -> str:
    """A short name for default output directories."""
    return Path(str(resolve_scenario(args.config))).stem
