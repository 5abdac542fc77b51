"""An open grid across hosts, over real processes and tcp: as in a deployment, the bootstrap's
host and the other peers' host each have their own copy of the key directory, made before the
run. The bootstrap enrols the joiner (examples/reference_generator.py) in its own copy only;
the broker, metronome, trackers and populations, reading the other copy, still accept it (they
ask the bootstrap: `whois` -> `enrolled`) and the day counts it, with nothing rejected."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

from scowl.plan import make_plan
from scowl.run import start_node, stop_nodes
from scowl.run.processes import process_names
from scowl.security import enrol_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "reference_generator.py"



def test_peers_on_another_host_than_the_bootstrap_accept_a_joiner_their_keys_lack(tmp_path, long_small):
    run_dir = tmp_path / "run"
    plan = make_plan(str(long_small), transport="tcp", out_dir=str(run_dir))
    enrol_plan(plan)
    plan.save(run_dir / "plan.json")  # host a (the bootstrap's): RUN/keys, where the joiner gets enrolled
    host_b = run_dir / "host-b"
    shutil.copytree(plan.keys_dir, host_b / "keys")  # host b's copy, as `scowl deploy` installs it before the run
    dataclasses.replace(plan, keys_dir=str(host_b / "keys")).save(host_b / "plan.json")
    peer = subprocess.Popen([sys.executable, str(EXAMPLE), "--join", str(run_dir / "join.json"), "--name", "windco",
                             "--wait-for-tick", "20", "--leave-after", "30"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    procs = {}
    try:
        for name in process_names(plan):
            plan_path = run_dir / "plan.json" if name == "bootstrap" else host_b / "plan.json"
            procs[name] = start_node(plan, plan_path, name)
        try:
            out, err = peer.communicate(timeout=90)
        except subprocess.TimeoutExpired:  # without `whois` it waits forever for a handshake host b refuses
            peer.kill()
            out, err = peer.communicate()
            raise AssertionError(f"the joiner did not finish within 90 s: {out[-1500:]} {err[-1500:]}") from None
        assert procs["metronome"].wait(timeout=60) == 0
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.communicate()
        stop_nodes(procs.values())
    assert peer.returncode == 0, out + err
    assert json.loads((Path(plan.keys_dir) / "enrolment.json").read_text())["windco"]["joined"] is True
    assert "windco" not in json.loads((host_b / "keys" / "enrolment.json").read_text())  # host b's file never had it
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["security"]["mode"] == "curve" and summary["security"]["rejected"] == 0, summary["security"]
    joined = summary["membership"]["joined"]["windco"]
    assert joined["generators"] == 3 and joined["generated_mwh"] > 0
    assert summary["membership"]["left"]["windco"]["tick"] == joined["tick"] + 31
