"""The Emulab plan for the 4-host sample: its content, the script that runs it, the dry run of
deploy/emulab.sh, and its fault commands run for real on namespace hosts."""

from __future__ import annotations

import json
import select
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from scowl.deploy import NetnsCluster, load_deployment, load_network_schedule, parse_deployment, parse_network
from scowl.deploy.plan import SSH_OPTS, build_plan
from scowl.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EMULAB4 = REPO / "deploy/emulab-4.toml"
SCENARIO = REPO / "configs/small-partition.toml"
SCHEDULE = parse_network({"latency_ms": 10, "jitter_ms": 2, "partitions": [
    {"start_tick": 12, "end_tick": 24, "isolate": ["role:tracker"], "from": ["*"]}]})


@pytest.fixture
def plan():
    return build_plan(load_deployment(EMULAB4), SCHEDULE, scenario="configs/small-partition.toml", tick_seconds=5)


def test_every_host_has_every_phase(plan):
    assert plan.phases() == ["install", "faults-init", "latency", "start", "fault", "wait", "stop", "gather", "cleanup"]
    for h in ("h1", "h2", "h3", "h4"):
        phases = {s.phase for s in plan.for_host(h)}
        assert {"install", "faults-init", "start", "fault", "stop", "cleanup"} <= phases, (h, phases)
    assert [s.host for s in plan.steps if s.phase == "wait"] == ["h1"]  # the metronome's host
    local = plan.for_host(None)
    assert [s.phase for s in local].count("gather") == 4
    assert all("rsync" in s.command or "scp" in s.command or s.data or "scowl.security.deploy" in s.command for s in local)


def test_each_host_gets_the_public_keys_and_only_its_own_secret_ones(plan, tmp_path):
    from scowl.plan import RunPlan
    from scowl.security import Enrolment
    from scowl.security.deploy import host_key_dirs

    grid = RunPlan.from_json(next(s.data for s in plan.steps if s.data))
    assert grid.keys_dir == "scowl-run/keys"  # as the hosts see it, under the login's home
    keygen = [i for i, s in enumerate(plan.steps) if "scowl.security.deploy" in s.command]
    copies = [i for i, s in enumerate(plan.steps) if s.command.startswith("scp -pq ") and "/keys/" in s.command]
    assert len(keygen) == 1 and len(copies) == 4 and keygen[0] < min(copies)  # scp -p keeps the 0600 of secrets
    dirs = host_key_dirs(grid, tmp_path / "keys")
    everyone = {"bootstrap", "broker", "metronome", *grid.names()}
    for host, d in dirs.items():
        mine = {n for n in everyone if grid.hosts[n] == host}
        assert {p.name.removesuffix(".key_secret") for p in d.glob("*.key_secret")} == mine
        assert {p.stem for p in d.glob("*.key")} == everyone and set(Enrolment.load(d).names()) == everyone
        assert all((p.stat().st_mode & 0o777) == 0o600 for p in d.glob("*.key_secret"))
    assert not (tmp_path / "keys" / "all").exists()


def test_roles_start_in_order_with_the_node_command(plan):
    starts = [(s.host, s.command) for s in plan.steps if s.phase == "start" and "nohup setsid " in s.command]
    roles = [shlex.split(c.split("nohup setsid ", 1)[1])[2] for _, c in starts]
    assert roles == ["bootstrap", "broker", "metronome", "tracker", "generator", "generator", "storage", "consumer", "consumer"]
    waits = [i for i, s in enumerate(plan.steps) if s.phase == "start" and "grep -q '^READY '" in s.command]
    first_peer = next(i for i, s in enumerate(plan.steps) if s.phase == "start" and "--role tracker" in s.command)
    assert len(waits) == 3 and max(waits) < first_peer, "the fixed services must be READY before any peer starts"
    host, cmd = starts[3]
    assert host == "h2"
    assert "scowl-node --role tracker --deployment scowl-run/plan.json --name tracker-0,tracker-1 " \
           "> scowl-run/tracker.log" in cmd
    assert "SCOWL_BOOTSTRAP=tcp://10.1.1.1:5555" in cmd and "echo $! > scowl-run/tracker.pid" in cmd
    assert [(h, c.split("--name ")[1].split()[0]) for h, c in starts[4:]] == [
        ("h3", "fleet-0,fleet-1"), ("h4", "fleet-2,fleet-3"), ("h1", "storage-0"), ("h3", "population-0,population-1"),
        ("h4", "population-2,population-3")]


def test_a_host_layout_starts_one_scowl_node_per_host_with_all_its_actors(tmp_path):
    desc = tmp_path / "emulab-4-hosts.toml"
    desc.write_text(EMULAB4.read_text().replace('bootstrap_port = 5555', 'bootstrap_port = 5555\nlayout = "host"', 1))
    plan = build_plan(load_deployment(desc), SCHEDULE, scenario="configs/small-partition.toml", tick_seconds=5)
    starts = [(s.host, shlex.split(s.command.split("nohup setsid ", 1)[1])) for s in plan.steps
              if s.phase == "start" and "nohup setsid " in s.command]
    assert [h for h, _ in starts] == ["h1", "h2", "h3", "h4"]  # the services' host first
    for _, argv in starts:
        assert argv[:4] == ["scowl-node", "--deployment", "scowl-run/plan.json", "--name"] and "--role" not in argv
    assert [argv[4] for _, argv in starts] == ["bootstrap,broker,metronome,storage-0", "tracker-0,tracker-1",
                                               "fleet-0,fleet-1,population-0,population-1",
                                               "fleet-2,fleet-3,population-2,population-3"]
    waits = [s for s in plan.steps if s.phase == "start" and "grep -q '^READY '" in s.command]
    assert [s.host for s in waits] == ["h1"] and "bootstrap+broker+metronome+storage.log" in waits[0].command
    assert "scowl-run/bootstrap+broker+metronome+storage.pid" in next(s.command for s in plan.steps if s.phase == "wait")


def test_a_layout_the_description_does_not_know_is_refused(tmp_path):
    desc = tmp_path / "bad.toml"
    desc.write_text(EMULAB4.read_text().replace('bootstrap_port = 5555', 'bootstrap_port = 5555\nlayout = "core"', 1))
    with pytest.raises(ConfigError, match="deployment.layout"):
        load_deployment(desc)


def test_the_run_plan_goes_to_every_host_with_fixed_addresses(plan):
    written = [s for s in plan.steps if s.data]
    assert len(written) == 1 and written[0].host is None and written[0].phase == "install"
    run_plan = json.loads(written[0].data)
    assert (run_plan["bootstrap"], run_plan["broker"], run_plan["metronome"], run_plan["metronome_pub"]) == (
        "tcp://10.1.1.1:5555", "tcp://10.1.1.1:5556", "tcp://10.1.1.1:5557", "tcp://10.1.1.1:5558")
    assert run_plan["host_ips"]["h2"] == "10.1.1.2" and run_plan["hosts"]["tracker-1"] == "h2"
    assert run_plan["scenario_path"] == "scowl-run/scenario.toml" and run_plan["out_dir"] == "scowl-run"
    assert run_plan["transport"] == "tcp" and run_plan["transport_faults"] is False and run_plan["fault_gate"] == ""
    copies = [s.command for s in plan.steps if s.phase == "install" and s.command.endswith(":scowl-run/plan.json")]
    assert len(copies) == 4
    assert plan.actors == {"h1": ["bootstrap", "broker", "metronome", "storage-0"], "h2": ["tracker-0", "tracker-1"],
                           "h3": ["fleet-0", "fleet-1", "population-0", "population-1"],
                           "h4": ["fleet-2", "fleet-3", "population-2", "population-3"]}
    assert "<<'SCOWL_EOF'\n{" in plan.render_sh()


def test_storage_actors_must_match_the_scenarios_ev_hubs(tmp_path):
    without = EMULAB4.read_text().replace("broker = 1, storage = 1 }", "broker = 1 }")
    path = tmp_path / "no-storage.toml"
    path.write_text(without)
    with pytest.raises(ConfigError, match=r"no-storage.toml.*hosts\[\*\]\.roles\.storage.*1 storage actor.*4 EV hubs"):
        build_plan(load_deployment(path), SCHEDULE, scenario=str(SCENARIO))
    unknown = EMULAB4.read_text().replace("broker = 1, storage = 1 }", "broker = 1, storage = 1, battery = 1 }")
    path.write_text(unknown)
    with pytest.raises(ConfigError, match=r"no-storage.toml.*hosts\[0\] \(h1\)\.roles\.battery.*expected a role among"):
        build_plan(load_deployment(path), SCHEDULE, scenario=str(SCENARIO))


def test_faults_follow_the_schedule(plan):
    faults = [(s.host, s.tick, s.command) for s in plan.steps if s.phase == "fault"]
    clock = "iptables -A SCOWL-CUT -p tcp -m multiport --ports 5557,5558 -j RETURN"  # the metronome is never cut
    assert faults == [
        ("h1", 12, f"iptables -F SCOWL-CUT && {clock} && iptables -A SCOWL-CUT -s 10.1.1.2 -j DROP"),
        ("h2", 12, f"iptables -F SCOWL-CUT && {clock} && iptables -A SCOWL-CUT -s 10.1.1.1 -j DROP && "
                   "iptables -A SCOWL-CUT -s 10.1.1.3 -j DROP && iptables -A SCOWL-CUT -s 10.1.1.4 -j DROP"),
        ("h3", 12, f"iptables -F SCOWL-CUT && {clock} && iptables -A SCOWL-CUT -s 10.1.1.2 -j DROP"),
        ("h4", 12, f"iptables -F SCOWL-CUT && {clock} && iptables -A SCOWL-CUT -s 10.1.1.2 -j DROP"),
        ("h1", 24, "iptables -F SCOWL-CUT"), ("h2", 24, "iptables -F SCOWL-CUT"),
        ("h3", 24, "iptables -F SCOWL-CUT"), ("h4", 24, "iptables -F SCOWL-CUT")]
    assert all(s.sudo for s in plan.steps if s.phase in ("faults-init", "latency", "fault", "cleanup"))
    lat = {s.host: s.command for s in plan.steps if s.phase == "latency"}
    assert set(lat) == {"h1", "h2", "h3", "h4"}  # tracker links: h2 <-> everyone
    assert lat["h2"].count("netem delay 10ms 2ms") == 3 and lat["h1"].count("netem delay 10ms 2ms") == 1
    assert "match ip dst 10.1.1.2/32" in lat["h4"] and "dev eth1" in lat["h4"]  # h4 names its interface
    assert lat["h3"].startswith("SCOWL_IF=$(ip -o -4 addr show to 10.1.1.3 ")  # h3 finds it by address
    cleanup = {s.host: s.command for s in plan.steps if s.phase == "cleanup"}
    assert all("iptables -X SCOWL-CUT" in c and "qdisc del dev" in c for c in cleanup.values())


def test_script_quotes_survive_ssh_and_sudo(plan):
    script = plan.render_sh()
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    remote = {}
    for line in script.splitlines():
        words = shlex.split(line.strip()) if line.strip().startswith("ssh ") else []
        if words:
            assert words[1:1 + len(SSH_OPTS)] == list(SSH_OPTS)
            remote.setdefault(words[1 + len(SSH_OPTS)], []).append(words[-1])
    for step in (s for s in plan.steps if s.host):
        host = plan.deployment.host(step.host).ssh
        sent = [shlex.split(r)[-1] if r.startswith("sudo sh -c ") else r for r in remote[host]]
        assert step.command in sent, step
    assert "trap stop_and_clean EXIT" in script and script.index("sleep $(awk") > script.index("T0=")
    assert "t0 + 60 - now" in script and "t0 + 120 - now" in script  # ticks 12 and 24 at 5 s a tick


def test_plan_refuses_a_netns_description():
    with pytest.raises(ConfigError, match="deployment.target"):
        build_plan(load_deployment(REPO / "deploy/hosts-3.toml"), SCHEDULE, scenario="s.toml")


def test_emulab_dry_run_prints_the_per_host_plan():
    out = subprocess.run(["bash", str(REPO / "deploy/emulab.sh"), "--dry-run"], capture_output=True, text=True,
                         timeout=60, env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for h, ssh in (("h1", "node1"), ("h2", "node2"), ("h3", "node3"), ("h4", "node4")):
        assert f"== {h}: ssh {ssh}.scowl4.scowl.emulab.net" in text
    assert "scowl-node --role tracker" in text and "[fault tick 12" in text and "[cleanup, sudo]" in text
    assert "   actors: fleet-2, fleet-3, population-2, population-3" in text  # h4's grid actors
    per_host = text.split("\n== ")[2:]  # after the local block
    assert [block.split(":", 1)[0] for block in per_host] == ["h1", "h2", "h3", "h4"]
    for block in per_host:  # every host: its whole life, from install to cleanup
        phases = [line.split("]")[0].strip(" [").split(" tick")[0].split(",")[0] for line in block.splitlines()[2:]]
        assert {"install", "faults-init", "latency", "start", "fault", "stop", "cleanup"} <= set(phases), block[:80]
    h3 = per_host[2]
    assert "--role generator --deployment scowl-run/plan.json --name fleet-0,fleet-1" in h3
    assert "--role consumer --deployment scowl-run/plan.json --name population-0,population-1" in h3
    assert json.loads(subprocess.run([Path(sys.executable).parent / "scowl", "deploy", "plan", str(EMULAB4),
                                      "--scenario", str(SCENARIO), "--format", "json"],
                                     capture_output=True, text=True, timeout=60).stdout)[0]["phase"] == "install"


# -- the plan's fault commands, for real, on namespace hosts ---------------------------------
def local_emulab(name: str, *roles: str) -> str:
    """An Emulab description whose hosts are namespace hosts (10.200.0.i, ssh localhost, eth0)."""
    text = f'[deployment]\nname = "{name}"\ntarget = "emulab"\n'
    for i, r in enumerate(roles, start=1):
        text += f'[[hosts]]\nname = "h{i}"\naddress = "10.200.0.{i}"\nssh = "localhost"\niface = "eth0"\nroles = {{ {r} }}\n'
    return text


LOCAL4 = local_emulab("local-4", "bootstrap = 1, metronome = 1, broker = 1, storage = 1", "tracker = 2",
                      "generator = 1, consumer = 2", "generator = 1, consumer = 2")


@pytest.mark.netns
def test_plan_fault_commands_work_on_namespace_hosts(tmp_path):
    from scowl.deploy import unavailable_reason

    if unavailable_reason():
        pytest.skip(f"netns tests skipped: {unavailable_reason()}")
    if shutil.which("iptables") is None:
        pytest.skip("the plan's partitions need iptables (bash deploy/ci-prereqs.sh)")
    probe = str(REPO / "tests/deploy/zmq_probe.py")
    d = parse_deployment(tomllib.loads(LOCAL4), str(tmp_path / "local-4.toml"))
    sched = load_network_schedule(SCENARIO)
    plan = build_plan(d, parse_network({"partitions": [{"start_tick": sched.partitions[0].start_tick,
                                                        "end_tick": sched.partitions[0].end_tick,
                                                        "isolate": list(sched.partitions[0].isolate)}]}),
                      scenario=str(SCENARIO))
    before = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout

    def run_phase(c: NetnsCluster, phase: str, tick: int | None = None) -> None:
        for s in plan.steps:
            if s.phase == phase and s.tick == tick:
                for cmd in s.cmds:
                    res = c.exec(s.host, list(cmd.argv), check=False)
                    assert res.returncode == 0 or cmd.may_fail, (s.host, cmd.shell(), res.stderr)

    def ping(probe_proc, n=2, timeout_ms=300):
        probe_proc.stdin.write(f"ping h1 {n} {timeout_ms}\n".encode())
        probe_proc.stdin.flush()
        assert select.select([probe_proc.stdout], [], [], 15)[0]
        return json.loads(probe_proc.stdout.readline())["ok"]

    with NetnsCluster(d) as c:
        srv = c.spawn("h1", [sys.executable, probe, "serve", "10.200.0.1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert select.select([srv.stdout], [], [], 15)[0]
        ep = f"tcp://10.200.0.1:{srv.stdout.readline().split()[1].decode()}"
        clients = {}
        for h in ("h2", "h3"):
            clients[h] = c.spawn(h, [sys.executable, probe, "client"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            clients[h].stdin.write(f"connect h1 {ep}\n".encode())
            clients[h].stdin.flush()
            assert select.select([clients[h].stdout], [], [], 15)[0] and clients[h].stdout.readline()
        run_phase(c, "faults-init")
        assert ping(clients["h2"], 2, 2000) == 2
        run_phase(c, "fault", 12)  # trackers (h2) cut from everyone, on the hosts themselves
        assert ping(clients["h2"]) == 0, "the tracker host reached h1 through the plan's partition"
        assert ping(clients["h3"], 2, 2000) == 2, "h3 <-> h1 must not be cut"
        run_phase(c, "fault", 24)
        clients["h2"].stdin.write(b"until_ok h1 10000\n")
        clients["h2"].stdin.flush()
        assert select.select([clients["h2"].stdout], [], [], 20)[0]
        assert json.loads(clients["h2"].stdout.readline())["recovered_s"] is not None
        run_phase(c, "cleanup")
        for h in ("h1", "h2", "h3", "h4"):
            assert "SCOWL-CUT" not in c.exec(h, ["iptables", "-S"]).stdout
    assert subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout == before
    assert not [ns for ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                if ns.startswith(f"sc{c.run_id}")]


# -- the plan's own start, wait, stop and cleanup steps, for real, on namespace hosts ----------
LOCAL3 = local_emulab("local-3", "bootstrap = 1, metronome = 1, broker = 1, tracker = 2, storage = 1", "generator = 1, consumer = 1",
                      "generator = 1, consumer = 1")


@pytest.mark.netns
def test_the_plans_steps_run_the_day_on_namespace_hosts(tmp_path, leak_check):
    """Each namespace host plays an Emulab node with a home of its own (what install would have
    left there: the project, the scenario, the description and the run plan); the plan's steps
    run there as written, and the metronome's host ends up with the day's results."""
    from scowl.deploy import unavailable_reason

    if unavailable_reason():
        pytest.skip(f"netns tests skipped: {unavailable_reason()}")
    if shutil.which("iptables") is None:
        pytest.skip("the plan's faults-init needs iptables (bash deploy/ci-prereqs.sh)")
    scenario = REPO / "deploy/hosts-3-partition.toml"
    d = parse_deployment(tomllib.loads(LOCAL3), str(tmp_path / "local-3.toml"))
    (tmp_path / "local-3.toml").write_text(LOCAL3)
    plan = build_plan(d, parse_network({}), scenario=str(scenario), run_dir=str(tmp_path / "gathered"))
    (run_plan,) = [s.data for s in plan.steps if s.data]
    homes = {h.name: tmp_path / f"home-{h.name}" for h in d.hosts}
    from scowl.plan import RunPlan
    from scowl.security.deploy import host_key_dirs

    grid = RunPlan.from_json(run_plan)
    key_dirs = host_key_dirs(grid, tmp_path / "keys") if grid.keys_dir else {}
    for name, home in homes.items():  # what the install phase leaves on each host
        (home / "scowl-run").mkdir(parents=True)
        (home / "scowl").symlink_to(REPO)
        (home / "scowl-run/scenario.toml").write_text(scenario.read_text())
        (home / "scowl-run/deployment.toml").write_text(LOCAL3)
        (home / "scowl-run/plan.json").write_text(run_plan)
        if name in key_dirs:  # the install's keygen + scp -p: the public keys and this host's own secret ones
            shutil.copytree(key_dirs[name], home / "scowl-run/keys")
    leaks = leak_check()
    with NetnsCluster(d) as c:
        for phase in ("faults-init", "start", "wait", "stop", "cleanup"):
            for s in (s for s in plan.steps if s.phase == phase and s.host):
                login = f"cd {homes[s.host]} && {s.command}"  # ssh starts in the login's home
                res = c.exec(s.host, ["env", f"HOME={homes[s.host]}", "bash", "-c", login], check=False, timeout=120)
                assert res.returncode == 0, (s.host, s.phase, s.command[:200], res.stderr[-2000:])
        for h in ("h1", "h2", "h3"):
            assert "SCOWL-CUT" not in c.exec(h, ["iptables", "-S"]).stdout
    leaks.check(c.run_id)
    summary = json.loads((homes["h1"] / "scowl-run/summary.json").read_text())
    assert summary["ticks"] == 20 and summary["transport"] == "tcp" and summary["peers"]["consumer_populations"] == 2
    # with each host holding only its own actors' secret keys, every link ran CURVE and nothing was refused
    assert key_dirs and summary["security"]["mode"] == "curve" and summary["security"]["rejected"] == 0
    for h, actors in (("h2", ("fleet-0", "population-0")), ("h3", ("fleet-1", "population-1"))):
        logs = (homes[h] / "scowl-run/generator.log").read_text() + (homes[h] / "scowl-run/consumer.log").read_text()
        for actor in actors:
            assert f"READY {actor} tcp://{d.host(h).address}:" in logs
