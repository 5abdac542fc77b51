"""Peers that start late or restart mid-run, over real processes and tcp: they join without
manual steps, and a late start changes nothing in the lockstep day."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from summaries import strip_wall  # tests/fixtures/summaries.py

from scowl.analysis.results import SUPPLY_ROLES, load_run
from scowl.config import load_scenario, override
from scowl.plan import make_plan
from scowl.run import process_names, start_node, stop_nodes
from scowl.sweep import scenario_toml

LATE = "fleet-0"


def _plan(config: str, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    plan = make_plan(config, transport="tcp", out_dir=str(out.resolve()))
    plan.save(out / "plan.json")
    return plan


def test_a_generator_fleet_started_late_joins_and_the_day_is_unchanged(small_run, tmp_path):
    _, first = small_run
    out = tmp_path / "late"
    plan = _plan("configs/small.toml", out)
    procs = {}
    try:
        for name in process_names(plan):
            if name != LATE:
                procs[name] = start_node(plan, out / "plan.json", name)
        # every other peer is up and waits for the fleet (the broker's directory is not
        # complete without it); the fleet comes seconds later
        time.sleep(3)  # the lateness under test, not a wait for readiness
        assert all(p.poll() is None for p in procs.values()), {n: p.poll() for n, p in procs.items()}
        assert not (out / "summary.json").exists()
        procs[LATE] = start_node(plan, out / "plan.json", LATE)
        assert procs["metronome"].wait(120) == 0
        for name in plan.names():  # the metronome stops the peers (bootstrap and broker serve on)
            assert procs[name].wait(30) == 0, f"{name} exited with {procs[name].returncode}"
    finally:
        stop_nodes(procs.values())
    late = json.loads((out / "summary.json").read_text())
    assert late["ticks"] == first["ticks"]
    assert strip_wall(late) == strip_wall(first)


RESTART_TICKS = 20


class Progress:
    """The metronome's progress lines (stderr, one per 10 % of the ticks), read as they come."""

    def __init__(self, proc) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def close(self) -> None:
        """Once the metronome's process is gone: the rest of its lines, then the pipe closed."""
        self._thread.join(10)
        self.proc.stderr.close()

    def wait_for_tick(self, tick: int, timeout: float = 60) -> int:
        """Block until the metronome reported at least `tick` ticks done; returns how many."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [int(m.group(1)) for line in list(self.lines) if (m := re.search(r"\] (\d+)/\d+ ticks", line))]
            if done and done[-1] >= tick:
                return done[-1]
            if self.proc.poll() is not None:
                raise AssertionError(f"the metronome exited ({self.proc.returncode}) before tick {tick}: {''.join(self.lines)[-2000:]}")
            time.sleep(0.05)  # polling the progress lines, not dodging a race
        raise AssertionError(f"tick {tick} not reached within {timeout} s: {''.join(self.lines)[-2000:]}")


def _ids(trace: Path, peer: str) -> list[str]:
    """The ids each life of the peer got from the bootstrap (from its trace log)."""
    return re.findall(rf"{peer}: (?:generator|consumer) ids (.+)", trace.read_text())


# what shows that the peer does its part again: a fleet's own copy of its trees is whole and
# it delivers; a population's consumers are on generators and served
DOING_ITS_PART = {"fleet-0": ("tree_members", "delivered_mw"), "population-0": ("assigned", "served_mw")}


@pytest.mark.parametrize("peer", sorted(DOING_ITS_PART))
def test_a_peer_killed_mid_run_and_restarted_rejoins(tmp_path, peer):
    out = tmp_path / "restart"
    out.mkdir()
    config = out / "small-restart.toml"
    config.write_text(scenario_toml(override(load_scenario("configs/small.toml"), {"scenario.ticks": RESTART_TICKS,
                                                                                    # back long before it is declared dead
                                                                                    "response.death_grace_s": 600.0})))
    plan = _plan(str(config), out)
    procs = {}
    started = []
    progress = None
    try:
        for name in process_names(plan):
            procs[name] = start_node(plan, out / "plan.json", name, stderr=subprocess.PIPE if name == "metronome" else None)
            started.append(procs[name])
        progress = Progress(procs["metronome"])
        killed_after = progress.wait_for_tick(6)
        procs[peer].send_signal(signal.SIGKILL)
        assert procs[peer].wait(10) == -signal.SIGKILL
        # the run goes on without it: the metronome stops waiting for a peer whose connection
        # closed, the others' deadlines count it unreachable
        gone_until = progress.wait_for_tick(killed_after + 2)
        procs[peer] = start_node(plan, out / "plan.json", peer)  # the same command, nothing else
        started.append(procs[peer])
        assert procs["metronome"].wait(120) == 0, "".join(progress.lines)[-3000:]
        for name in plan.names():
            assert procs[name].wait(30) == 0, f"{name} exited with {procs[name].returncode}"
    finally:
        stop_nodes(started)
        if progress is not None:
            progress.close()
    for proc in started:  # nothing left behind: every node's process group is gone
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ticks"] == RESTART_TICKS
    state, _, _ = load_run(out)
    # the same ids in both lives
    lives = _ids(out / f"trace-{peer}.log", peer)
    assert len(lives) == 2 and lives[0] == lives[1], lives
    rows = state[state["actor"] == peer]
    assert "absent" in state, "the metronome should have recorded the ticks the fleet was gone"
    fleet_ticks = sorted(rows[rows["absent"] != 1]["tick"])  # the ticks it reported
    assert sorted(rows["tick"]) == list(range(RESTART_TICKS)), "one state row per tick and actor, reported or absent"
    gone = sorted(set(range(RESTART_TICKS)) - set(fleet_ticks))
    assert gone and min(gone) >= killed_after - 1 and max(gone) >= gone_until - 1, (gone, killed_after, gone_until)
    back = [t for t in fleet_ticks if t > max(gone)]
    assert back and back == list(range(max(gone) + 1, RESTART_TICKS)), fleet_ticks
    # after it rejoined the books close again: the generators' trees hold exactly the
    # consumers the populations say are on a generator, and what is served is what is delivered
    supply = state[state["role"].isin(SUPPLY_ROLES)].groupby("tick")[["tree_members", "delivered_mw"]].sum()
    pops = state[state["role"] == "consumer"].groupby("tick")[["assigned", "served_mw"]].sum()
    mine = rows.set_index("tick")
    for figure in DOING_ITS_PART[peer]:
        assert (mine.loc[back, figure] > 0).all(), (figure, mine.loc[back, figure])
    assert (supply.loc[back, "tree_members"] == pops.loc[back, "assigned"]).all()
    np.testing.assert_allclose(pops.loc[back, "served_mw"], supply.loc[back, "delivered_mw"], rtol=1e-9)
