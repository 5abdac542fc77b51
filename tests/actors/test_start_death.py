"""A peer whose process dies after the run started but before tick 0 ends the run at once,
named (actors/starting.py), instead of the metronome waiting its start deadline (300 s) for a
peer that will never say ready (review5 F5: a tracker out of memory took its populations down
before the day). Real `scowl-node` processes over ipc; population-0's process is killed by
SIGKILL right after its registrations, before it says Ready."""

from __future__ import annotations

import json
import sys

import pytest

from scowl.api import load_scenario
from scowl.run import RunFailed, processes, run_scenario
from scowl.sweep import scenario_toml

# population-0's scowl-node, its setup followed by its process's death (as an OOM kill does)
DIES_AFTER_SETUP = """
import os, signal, sys
from scowl.actors.consumer import Population
setup = Population.setup
async def setup_then_die(self):
    await setup(self)
    os.kill(os.getpid(), signal.SIGKILL)
Population.setup = setup_then_die
from scowl.node_cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.timeout(120)  # without the fix the run waits the start deadline (300 s): stopped here
def test_a_peer_dead_before_tick_0_ends_the_run_naming_it(tmp_path, monkeypatch):
    cfg = tmp_path / "small.toml"
    cfg.write_text(scenario_toml(load_scenario("small").replace(scenario__ticks=4, response__death_grace_s=1.0)))
    command = processes.node_command

    def node_command(plan, plan_path, name):
        argv = command(plan, plan_path, name)
        if name != "population-0":
            return argv
        at = argv.index("scowl.node_cli")
        return [sys.executable, "-P", "-c", DIES_AFTER_SETUP, *argv[at + 1:]]

    monkeypatch.setattr(processes, "node_command", node_command)
    out = tmp_path / "run"
    with pytest.raises(RunFailed) as failed:
        run_scenario(str(cfg), str(out), processes=True, layout="actor", show_progress=False)
    message = str(failed.value)
    assert "population-0 (consumer) died before the day started" in message, message
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"] is True and summary["interrupted"]["ticks_completed"] == 0
    assert "population-0 (consumer) died before the day started" in summary["interrupted"]["interrupted"]
