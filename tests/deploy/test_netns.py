"""Real namespace hosts (root): reachability over tcp with pyzmq, a partition that cuts exactly
the chosen pairs and heals, latency from the NFQUEUE delayer seen in the application's round
trip, and a teardown that leaves nothing behind: on exit, on exception, on SIGTERM/SIGINT, and
through `cleanup` after a SIGKILL."""

from __future__ import annotations

import importlib.util
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from scowl.deploy import NetnsCluster, ScheduleRunner, cleanup, load_deployment, parse_network, unavailable_reason
from scowl.deploy.netns import list_namespaces

REPO = Path(__file__).resolve().parents[2]
HOSTS3 = REPO / "deploy/hosts-3.toml"
PROBE = str(Path(__file__).with_name("zmq_probe.py"))
REASON = unavailable_reason()

pytestmark = [pytest.mark.netns, pytest.mark.skipif(REASON is not None, reason=f"netns tests skipped: {REASON}")]


@pytest.fixture
def cluster(leak_check):
    leaks = leak_check()
    c = NetnsCluster(load_deployment(HOSTS3)).up()
    try:
        yield c
    finally:
        c.down()
        leaks.check(c.run_id)


# -- a probe process on a host -------------------------------------------------------------
class Probe:
    def __init__(self, cluster: NetnsCluster, host: str, *args: str) -> None:
        self.host = host
        self.p = cluster.spawn(host, [sys.executable, PROBE, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def line(self, timeout: float = 15.0) -> str:
        if not select.select([self.p.stdout], [], [], timeout)[0]:
            raise AssertionError(f"probe on {self.host}: no answer within {timeout} s")
        return self.p.stdout.readline().decode().strip()

    def ask(self, text: str, timeout: float = 15.0) -> dict:
        self.p.stdin.write(f"{text}\n".encode())
        self.p.stdin.flush()
        return json.loads(self.line(timeout))


def server(cluster: NetnsCluster, host: str) -> str:
    probe = Probe(cluster, host, "serve", cluster.deployment.host(host).address)
    ready = probe.line()
    assert ready.startswith("READY "), ready
    return f"tcp://{cluster.deployment.host(host).address}:{ready.split()[1]}"


def client(cluster: NetnsCluster, host: str, **endpoints: str) -> Probe:
    probe = Probe(cluster, host, "client")
    for name, ep in endpoints.items():
        assert probe.ask(f"connect {name} {ep}") == {"ok": True}
    return probe


# -- the tests -----------------------------------------------------------------------------
def test_three_hosts_reach_each_other(cluster):
    assert cluster.timings["up_s"] < 5
    eps = {h: server(cluster, h) for h in ("h1", "h2", "h3")}
    for h in ("h1", "h2", "h3"):
        c = client(cluster, h, **{o: ep for o, ep in eps.items() if o != h})
        for other in eps:
            if other != h:
                r = c.ask(f"ping {other} 5 2000")
                assert r["ok"] == 5, f"{h} -> {other}: {r}"


def test_partition_cuts_h3_from_h1_only_and_heals(cluster):
    ep1, ep3 = server(cluster, "h1"), server(cluster, "h3")
    c2 = client(cluster, "h2", h1=ep1, h3=ep3)
    c3 = client(cluster, "h3", h1=ep1)
    assert c2.ask("ping h1 3 2000")["ok"] == 3 and c3.ask("ping h1 3 2000")["ok"] == 3
    runner = ScheduleRunner(cluster.faults, parse_network({"partitions": [
        {"start_tick": 1, "end_tick": 2, "isolate": ["host:h3"], "from": ["role:tracker"]}]}))
    assert runner.advance(0) == []
    assert runner.advance(1) == ["partition-0 on"]
    during = c3.ask("ping h1 3 300")
    assert during["ok"] == 0, f"h3 -> h1 got through the partition: {during}"
    assert c2.ask("ping h1 3 2000")["ok"] == 3, "h2 <-> h1 must keep working"
    assert c2.ask("ping h3 3 2000")["ok"] == 3, "h2 <-> h3 must keep working"
    assert runner.advance(2) == ["partition-0 off"]
    healed = c3.ask("until_ok h1 10000", timeout=20)
    assert healed["recovered_s"] is not None, "h3 -> h1 did not recover within 10 s of healing"
    print(f"\nh3 -> h1 recovered {healed['recovered_s']:.2f} s after healing a ~1 s partition")
    assert cluster.exec("switch", ["nft", "list", "tables"]).stdout.strip() == ""


def test_delayer_latency_shows_in_application_rtt(cluster):
    if importlib.util.find_spec("netfilterqueue") is None or shutil.which("iptables") is None:
        pytest.skip("latency needs iptables and the netfilterqueue package (bash deploy/ci-prereqs.sh)")
    ep1 = server(cluster, "h1")
    c2, c3 = client(cluster, "h2", h1=ep1), client(cluster, "h3", h1=ep1)
    base = statistics.median(c3.ask("ping h1 10 2000")["rtts_ms"])
    cluster.faults.set_latency("h1", "h3", 50)  # +50 ms each way
    slow = c3.ask("ping h1 10 3000")
    fast = c2.ask("ping h1 10 2000")
    assert slow["ok"] == 10 and fast["ok"] == 10
    slow_p50, fast_p50 = statistics.median(slow["rtts_ms"]), statistics.median(fast["rtts_ms"])
    print(f"\nRTT h3<->h1 p50: {base:.2f} ms without, {slow_p50:.1f} ms with +50 ms each way "
          f"({cluster.faults.backend}); h2<->h1 p50 {fast_p50:.2f} ms")
    assert slow_p50 > 60 and min(slow["rtts_ms"]) > 60, slow
    assert slow_p50 < 1000, slow
    assert fast_p50 < 30, fast
    cluster.faults.set_latency("h1", "h3", 0)
    assert statistics.median(c3.ask("ping h1 10 2000")["rtts_ms"]) < 30
    for h in ("h1", "h3"):
        assert "NFQUEUE" not in cluster.exec(h, ["iptables", "-t", "mangle", "-S"]).stdout


def test_cli_run_gathers_logs_and_applies_the_schedule(tmp_path, leak_check):
    from scowl.cli import main

    leaks = leak_check()
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(textwrap.dedent("""
        [network]
        latency_ms = 0.0
        [[network.partitions]]
        start_tick = 1
        end_tick = 2
        isolate = ["host:h3"]
        from = ["*"]
    """))
    # the metronome ends a run: it outlives the other roles by a wide margin
    template = ("{python} -c \"import os, time; print('{role}', {count}, '{host}', os.environ['SCOWL_RUN_DIR'], "
                "flush=True); time.sleep(2.0 if '{role}' == 'metronome' else 0.2)\"")
    run_dir = tmp_path / "run"
    rc = main(["deploy", "netns", "run", str(HOSTS3), "--scenario", str(scenario), "--command", template,
               "--run-dir", str(run_dir), "--tick-seconds", "0.2", "--duration", "20"])
    assert rc == 0
    info = json.loads((run_dir / "run.json").read_text())
    assert set(info["exit_codes"]) == {"h1/bootstrap", "h1/broker", "h1/tracker", "h1/storage", "h1/metronome",
                                       "h2/generator", "h2/consumer", "h3/generator", "h3/consumer"}
    assert (run_dir / "h2" / "consumer.log").read_text().split() == ["consumer", "1", "h2", str(run_dir / "h2")]
    assert all(code == 0 for code in info["exit_codes"].values()), info["exit_codes"]
    assert [e["action"] for e in info["fault_events"]][:2] == ["partition", "heal"]
    assert info["commands"]["h1/tracker"][0] == sys.executable
    leaks.check(info["run_id"])


def test_cli_run_with_set_hands_every_role_the_overridden_scenario(tmp_path, leak_check):
    from scowl.cli import main
    from scowl.config import load_scenario

    leaks = leak_check()
    # each role prints the scenario file it was given; the metronome ends the run
    template = ("{python} -c \"import time; print('{scenario}', flush=True); "
                "time.sleep(2.0 if '{role}' == 'metronome' else 0.2)\"")
    run_dir = tmp_path / "run"
    assert main(["deploy", "netns", "run", str(HOSTS3), "--scenario", "small-partition", "--set",
                 'network.partitions=[{start_tick = 2, end_tick = 4, isolate = ["host:h2"]}]',
                 "--set", "network.latency_ms=0", "--command", template, "--run-dir", str(run_dir),
                 "--tick-seconds", "0.2", "--duration", "20"]) == 0
    written = run_dir / "scenario.toml"
    assert load_scenario(written).network.partitions[0].isolate == ("host:h2",)
    assert (run_dir / "h2" / "consumer.log").read_text().split() == [str(written)]
    info = json.loads((run_dir / "run.json").read_text())
    # the overridden schedule: h2 cut off (the file isolates the trackers' h1) and no latency (the file's 1 ms)
    events = [(e["action"], e.get("a")) for e in info["fault_events"]]
    assert events[:2] == [("partition", ["h2"]), ("heal", None)] and ("latency", "h1") not in events, events
    leaks.check(info["run_id"])


OWNER = """
import sys, time
from scowl.deploy import NetnsCluster, load_deployment
c = NetnsCluster(load_deployment(sys.argv[1])).up()
c.spawn("h2", ["sleep", sys.argv[2]])
c.faults.set_latency("h1", "h3", 20)
c.faults.partition(["h2"], ["h3"])
print("READY", c.run_id, flush=True)
for _ in range(600):
    time.sleep(0.1)
"""


def start_owner(marker: str) -> tuple[subprocess.Popen, str]:
    # the owner sets latency too (its delayer must go with the rest): without netfilterqueue it
    # cannot come up, so skip as the latency tests do rather than fail for a missing package
    if importlib.util.find_spec("netfilterqueue") is None or shutil.which("iptables") is None:
        pytest.skip("the owner's latency needs iptables and the netfilterqueue package (bash deploy/ci-prereqs.sh)")
    p = subprocess.Popen([sys.executable, "-c", OWNER, str(HOSTS3), marker], stdout=subprocess.PIPE, cwd=REPO)
    ready = select.select([p.stdout], [], [], 20)[0]
    line = p.stdout.readline().decode().split() if ready else []
    if line[:1] != ["READY"]:  # a failed owner is stopped here, not left running into the next tests
        p.kill()
        p.wait(10)
        p.stdout.close()
        cleanup()  # and whatever it had brought up
    assert ready, "owner did not come up"
    assert line[:1] == ["READY"], line
    return p, line[1]


def marker_processes(marker: str) -> list:
    return [p for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [])[-1:] == [marker]]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_teardown_on_signal(sig, leak_check):
    leaks = leak_check()
    marker = f"{61 + sig}.{os.getpid()}"
    p, run_id = start_owner(marker)
    assert [ns for ns in list_namespaces() if ns.startswith(f"sc{run_id}")] and marker_processes(marker)
    p.send_signal(sig)
    p.wait(15)
    p.stdout.close()
    assert marker_processes(marker) == []
    leaks.check(run_id)


def test_teardown_on_exception(leak_check):
    leaks = leak_check()
    with pytest.raises(RuntimeError, match="boom"):
        with NetnsCluster(load_deployment(HOSTS3)) as c:
            c.spawn("h1", ["sleep", "30"])
            c.faults.partition(["h1"], ["h2"])
            raise RuntimeError("boom")
    leaks.check(c.run_id)


def test_cleanup_removes_a_killed_runs_leftovers(leak_check):
    leaks = leak_check()
    marker = f"77.{os.getpid()}"
    p, run_id = start_owner(marker)
    p.kill()  # no handler runs: namespaces, delayers, rules and the sleeper stay
    p.wait(10)
    p.stdout.close()
    assert len([ns for ns in list_namespaces() if ns.startswith(f"sc{run_id}")]) == 4
    assert marker_processes(marker)
    removed = cleanup()
    assert sorted(removed.get(run_id, [])) == sorted(f"sc{run_id}{s}" for s in ("_sw", "-h1", "-h2", "-h3"))
    assert marker_processes(marker) == []
    leaks.check(run_id)
