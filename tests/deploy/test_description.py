"""Deployment descriptions and the network schedule: validation errors name the file and key;
selectors turn into host pairs; the schedule runner opens and heals partitions on ticks."""

from __future__ import annotations

from pathlib import Path

import pytest

from scowl.deploy import RecordingFaults, ScheduleRunner, load_deployment, parse_network
from scowl.deploy.faults import FaultError
from scowl.deploy.schedule import load_network_schedule, resolve
from scowl.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
GOOD = """
[deployment]
name = "t"
[[hosts]]
name = "h1"
address = "10.200.0.1"
roles = { bootstrap = 1, metronome = 1, tracker = 1 }
trackers = ["tracker-0"]
[[hosts]]
name = "h2"
address = "10.200.0.2"
roles = { generator = 2, consumer = 5 }
generators = ["gen-0", "gen-1"]
consumers = ["con-*"]
regions = [0]
[[hosts]]
name = "h3"
address = "10.200.0.3"
generators = ["gen-2"]
regions = [1]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "dep.toml"
    p.write_text(text)
    return p


def test_samples_load():
    d = load_deployment(REPO / "deploy/hosts-3.toml")
    assert d.host_names() == ["h1", "h2", "h3"] and d.target == "netns"
    assert d.bootstrap_endpoint() == "tcp://10.200.0.1:5555"
    e = load_deployment(REPO / "deploy/emulab-4.toml")
    assert e.target == "emulab" and all(h.ssh for h in e.hosts) and len(e.hosts) == 4


def test_counts_follow_peer_lists(tmp_path):
    d = load_deployment(write(tmp_path, GOOD))
    assert d.host("h3").roles == {"generator": 1}
    assert [(h.name, r, n) for h, r, n in d.processes()] == [
        ("h1", "bootstrap", 1), ("h1", "tracker", 1), ("h1", "metronome", 1),
        ("h2", "generator", 2), ("h2", "consumer", 5), ("h3", "generator", 1)]


@pytest.mark.parametrize("old, new, key, words", [
    ('address = "10.200.0.2"', 'address = "10.9.0.2"', "hosts[1] (h2).address", "inside 10.200.0.0/24"),
    ('address = "10.200.0.2"', 'address = "10.200.0.1"', "hosts[1].address", "not already used by host 'h1'"),
    ('address = "10.200.0.2"', 'address = "nodeA"', "hosts[1] (h2).address", "IPv4"),
    ('name = "h2"', 'name = "H 2"', "hosts[1].name", "short name"),
    ('generator = 2, consumer = 5', 'generator = 3, consumer = 5', "hosts[1] (h2).generators", "3 names"),
    ('generator = 2, consumer = 5', 'generator = 2, consumer = -1', "hosts[1] (h2).roles.consumer", "count >= 0"),
    ("tracker = 1 }", "tracker = 1, janitor = 1 }", "hosts[0] (h1).roles.janitor", "a role among"),
    ("metronome = 1, ", "", "hosts[*].roles.metronome", "exactly one metronome"),
    ('name = "t"', 'name = "t"\ntarget = "cloud"', "deployment.target", "one of"),
    ('name = "t"', 'name = "t"\ncommand = "scowl-node {rol}"', "deployment.command", "placeholders"),
    ('name = "t"', 'name = "t"\ncolour = 1', "deployment.colour", "only keys"),
    ('regions = [0]', 'regions = ["east"]', "hosts[1] (h2).regions", "region numbers"),
    ('generators = ["gen-2"]', 'generators = ["gen-1"]', "hosts[2] (h3).generators", "unique across hosts"),
])
def test_validation_errors_name_file_and_key(tmp_path, old, new, key, words):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_deployment(path)
    assert err.value.path == str(path) and err.value.key == key, str(err.value)
    assert words in str(err.value)


def test_emulab_needs_ssh_and_missing_file(tmp_path):
    path = write(tmp_path, GOOD.replace('name = "t"', 'name = "t"\ntarget = "emulab"'))
    with pytest.raises(ConfigError, match=r"hosts\[0\] \(h1\)\.ssh"):
        load_deployment(path)
    with pytest.raises(ConfigError, match="no such file"):
        load_deployment(tmp_path / "absent.toml")
    (tmp_path / "bad.toml").write_text("[deployment\n")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_deployment(tmp_path / "bad.toml")


def test_schedule_errors_and_selectors(tmp_path):
    d = load_deployment(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match=r"network.partitions\[0\].end_tick"):
        parse_network({"partitions": [{"start_tick": 5, "end_tick": 5, "isolate": ["*"]}]})
    with pytest.raises(ConfigError, match=r"network.partitions\[0\].isolate"):
        parse_network({"partitions": [{"start_tick": 1, "end_tick": 5, "isolate": ["rack:4"]}]})
    with pytest.raises(ConfigError, match="network.latency_ms"):
        parse_network({"latency_ms": -1})
    sched = parse_network({"partitions": [
        {"start_tick": 1, "end_tick": 3, "isolate": ["host:h3"]},                       # from defaults to "*"
        {"start_tick": 2, "end_tick": 4, "isolate": ["role:tracker"], "from": ["region:0"]},
        {"start_tick": 0, "end_tick": 1, "isolate": ["peer:con-17"], "from": ["peer:gen-2"]},
        {"start_tick": 0, "end_tick": 1, "isolate": ["role:tracker"], "from": ["*"]}]})
    hp = resolve(sched, d)
    pairs = [sorted("-".join(sorted(p)) for p in h.pairs) for h in hp]
    assert pairs == [["h1-h3", "h2-h3"], ["h1-h2"], ["h2-h3"], ["h1-h2", "h1-h3"]]
    assert hp[3].coarse == ("h1",) and hp[0].coarse == ("h3",)
    with pytest.raises(ConfigError, match="'region:7' to match a host"):
        resolve(parse_network({"partitions": [{"start_tick": 0, "end_tick": 1, "isolate": ["region:7"]}]}), d)


def test_schedule_runner_applies_on_ticks(tmp_path):
    d = load_deployment(write(tmp_path, GOOD))
    faults = RecordingFaults(d)
    runner = ScheduleRunner(faults, parse_network({"latency_ms": 5, "jitter_ms": 1, "partitions": [
        {"start_tick": 2, "end_tick": 4, "isolate": ["host:h3"], "from": ["host:h1"]},
        {"start_tick": 3, "end_tick": 5, "isolate": ["host:h2"], "from": ["host:h1"]}]}))
    assert runner.advance(0) == [] and runner.change_ticks() == [2, 3, 4, 5]
    assert faults.applied == [("latency", "h1", "h2", 5.0, 1.0), ("latency", "h1", "h3", 5.0, 1.0)]  # tracker links
    seen = {t: (runner.advance(t), sorted("-".join(sorted(p)) for p in faults.cut_pairs())) for t in range(1, 7)}
    assert seen == {1: ([], []), 2: (["partition-0 on"], ["h1-h3"]), 3: (["partition-1 on"], ["h1-h2", "h1-h3"]),
                    4: (["partition-0 off"], ["h1-h2"]), 5: (["partition-1 off"], []), 6: ([], [])}
    runner.stop()
    assert faults._latency == {} and faults.cut_pairs() == frozenset()
    with pytest.raises(FaultError, match="unknown host 'h9'"):
        faults.partition(["h9"], ["h1"])
    with pytest.raises(FaultError, match="no partition named 'nope'"):
        faults.heal("nope")


def test_reads_the_projects_scenarios():
    sched = load_network_schedule(REPO / "configs/small-partition.toml")
    assert sched.partitions and sched.partitions[0].isolate == ("role:tracker",)
    try:
        from scowl.config import load_scenario
    except ImportError:  # pragma: no cover - the scenario loader is another module's
        return
    from scowl.deploy.schedule import from_config

    assert from_config(load_scenario(REPO / "configs/small-partition.toml").network) == sched



def test_the_metronomes_ports_pass_every_fault():
    from scowl.deploy import rules

    script = rules.nft_bridge_script([("10.200.0.1", "10.200.0.3")], [("10.200.0.1", 5557), ("10.200.0.1", 5558)])
    lines = [line.strip() for line in script.splitlines()]
    assert "ip daddr 10.200.0.1 tcp dport 5558 accept" in lines
    assert lines.index("ip saddr 10.200.0.1 tcp sport 5557 accept") < lines.index("ip saddr 10.200.0.1 ip daddr 10.200.0.3 drop")
    argv = rules.nfqueue_rule("-A", "10.200.0.1", (5557, 5558)).argv
    assert " ".join(argv) == ("iptables -t mangle -A PREROUTING -s 10.200.0.1 -p tcp -m multiport ! --sports 5557,5558 "
                              f"-m multiport ! --dports 5557,5558 -j NFQUEUE --queue-num {rules.DELAY_QUEUE} --queue-bypass")
    cut = rules.iptables_cut_set(["10.1.1.2"], (5557, 5558))
    assert [c.shell() for c in cut] == ["iptables -F SCOWL-CUT",
                                        "iptables -A SCOWL-CUT -p tcp -m multiport --ports 5557,5558 -j RETURN",
                                        "iptables -A SCOWL-CUT -s 10.1.1.2 -j DROP"]
    assert [c.shell() for c in rules.iptables_cut_set([], (5557, 5558))] == ["iptables -F SCOWL-CUT"]


def test_check_shows_where_the_grid_actors_run_or_why_it_cannot(capsys):
    from scowl.cli import main

    assert main(["deploy", "check", str(REPO / "deploy/hosts-3.toml"), "--scenario", str(REPO / "deploy/hosts-3-partition.toml")]) == 0
    out = capsys.readouterr().out
    assert "  h1       bootstrap, broker, metronome, storage-0, tracker-0, tracker-1\n  h2       fleet-0, population-0\n" in out
    assert main(["deploy", "check", str(REPO / "deploy/hosts-3.toml"), "--scenario", str(REPO / "configs/ny2030.toml")]) == 1
    assert "key 'hosts[*].roles.tracker': expected 4 trackers in all" in capsys.readouterr().out
