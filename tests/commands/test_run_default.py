"""`scowl run` with no CONFIG runs all of New York (configs/newyork.toml), and from 1 M consumers
up it starts its actors in scowl-node processes, one per usable core, unless told otherwise."""

from __future__ import annotations

import argparse

import pytest

from scowl.commands import run as run_cmd
from scowl.commands._scenario import scenario_of
from scowl.config import override


def _args(argv: list[str]) -> argparse.Namespace:
    top = argparse.ArgumentParser()
    run_cmd.register(top.add_subparsers())
    return top.parse_args(["run", *argv])


def test_no_config_means_all_of_new_york():
    sc = scenario_of(_args([]))
    assert sc.scenario.name == "newyork" and sc.scenario.scale == 1.0


@pytest.mark.parametrize("argv, scale, cores, expected", [
    ([], 1.0, 2, True),                           # the whole state on 2 cores: processes
    ([], 1.0, 1, False),                          # one core: one process is as fast and lighter
    (["--transport", "inproc"], 1.0, 2, False),   # asked for one process
    (["--transport", "tcp"], 1.0, 2, False),      # a transport alone keeps today's meaning (in-process over it)
    (["--processes"], 0.001, 1, True),            # asked for processes
    ([], 0.05, 2, False),                         # ny2030's 445 k consumers: under the threshold
])
def test_the_process_mode_follows_size_cores_and_flags(monkeypatch, argv, scale, cores, expected):
    monkeypatch.setattr(run_cmd.os, "sched_getaffinity", lambda pid: set(range(cores)))
    args = _args(argv)
    sc = override(scenario_of(args), {"scenario.scale": scale})
    assert run_cmd.wants_processes(args, sc) is expected
