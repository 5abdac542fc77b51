"""A tracker whose region cannot reserve its up-front arrays (its room for every consumer of the
run: scowl.balance.Region.up_front_bytes) fails with a sentence naming what it tried to reserve
and why it could not (ulimit -v), not numpy's word about the last array that did not fit
(review5 F2). A real process under a real address-space cap: its current size + 32 MiB, where
the region of ny2030 at scale 0.5 (4.5 M consumers) needs ~95 MiB."""

from __future__ import annotations

import json
import subprocess
import sys

from scowl import balance, wire
from scowl.api import load_scenario
from scowl.plan import make_plan
from scowl.sweep import scenario_toml

BUILD_UNDER_A_CAP = """
import json, resource, sys
from scowl.config import load_scenario
from scowl.plan import make_plan
from scowl.roles import build_actors
plan = make_plan(sys.argv[1], transport="inproc")
scenario = plan.scenario()
size = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize:")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (size + (32 << 20), resource.RLIM_INFINITY))
try:
    build_actors("tracker", plan, scenario, {"tracker-0"})
    print(json.dumps({"built": True}))
except Exception as exc:
    print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
"""


def test_a_tracker_that_cannot_reserve_its_region_says_what_and_why(tmp_path):
    cfg = tmp_path / "ny2030.toml"
    cfg.write_text(scenario_toml(load_scenario("ny2030").replace(scenario__scale=0.5)))
    n_global = make_plan(str(cfg), transport="inproc").n_global
    need = balance.Region.up_front_bytes(n_global, wire.CONSUMER_ID_DTYPE)
    assert need > 64 << 20  # the cap below leaves 32 MiB: the region cannot fit
    done = subprocess.run([sys.executable, "-c", BUILD_UNDER_A_CAP, str(cfg)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got.get("type") == "ActorError", got
    message = got["message"]
    assert message.startswith("tracker-0 cannot reserve its region's up-front arrays"), message
    assert f"{n_global:,} consumers x {need // n_global} B = {need / 2**20:,.0f} MiB of address space" in message, message
    assert "(ulimit -v)" in message and "MemoryError" in message, message
