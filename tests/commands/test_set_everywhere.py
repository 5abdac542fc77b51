"""`--set KEY=VALUE` on every command that takes a scenario beyond run/describe/sweep (those are in
test_cli_conventions.py): `deploy check`, `deploy plan`, `deploy netns run` and the benches with
--config (netns run on real hosts: tests/deploy/test_netns.py). The override shows in what the command prints or writes, and a bad value is refused
with exit status 2, naming the key, before anything is written or any host comes up."""

from __future__ import annotations

import json
from pathlib import Path

from scowl.cli import build_parser, main
from scowl.config import load_scenario

REPO = Path(__file__).resolve().parents[2]
HOSTS3 = str(REPO / "deploy/hosts-3.toml")
EMULAB4 = str(REPO / "deploy/emulab-4.toml")
CUT_H2 = 'network.partitions=[{start_tick = 2, end_tick = 4, isolate = ["host:h2"]}]'


def test_check_shows_the_overridden_schedule_and_grid(capsys):
    assert main(["deploy", "check", HOSTS3, "--scenario", "small-partition"]) == 0
    plain = capsys.readouterr().out
    assert "latency 1 ms" in plain and "ticks [12, 24)" in plain
    assert main(["deploy", "check", HOSTS3, "--scenario", "small-partition", "--set", "network.latency_ms=25",
                 "--set", CUT_H2]) == 0
    out = capsys.readouterr().out
    assert "--set network.latency_ms=25" in out and "latency 25 ms" in out  # says what was overridden
    assert "partition-0 ticks [2, 4): cuts h1<->h2, h2<->h3" in out and "[12, 24)" not in out
    assert "  h2       fleet-0, population-0" in out
    # the scenario's tracker count must match the deployment's: an override that breaks it is reported
    assert main(["deploy", "check", HOSTS3, "--scenario", "small-partition", "--set", "trackers.count=3"]) == 1
    out = capsys.readouterr().out
    assert "expected 3 trackers in all" in out and "--set trackers.count=3" in out


def test_check_refuses_a_bad_set_before_printing_anything(capsys):
    assert main(["deploy", "check", HOSTS3, "--scenario", "small", "--set", "network.latency_ms=-1"]) == 2
    got = capsys.readouterr()
    assert got.out == "" and "network.latency_ms" in got.err and "-1" in got.err
    assert main(["deploy", "check", HOSTS3, "--set", "network.latency_ms=5"]) == 2  # --set without a scenario
    assert "--scenario" in capsys.readouterr().err


def test_plan_copies_the_overridden_scenario_and_applies_its_schedule(tmp_path, capsys):
    run_dir = tmp_path / "gathered"
    assert main(["deploy", "plan", EMULAB4, "--scenario", "small-partition", "--run-dir", str(run_dir),
                 "--set", "network.latency_ms=25", "--set", "scenario.ticks=30", "--format", "json"]) == 0
    steps = json.loads(capsys.readouterr().out)
    written = run_dir / "scenario.toml"
    kept = load_scenario(written)
    assert kept.network.latency_ms == 25 and kept.ticks == 30 and kept.scenario.name == "small-partition"
    copies = [s["command"] for s in steps if s["command"].startswith("scp -q") and "scenario.toml" in s["command"]]
    assert len(copies) == 4 and all(c.startswith(f"scp -q {written} ") for c in copies)  # one per host
    latency = [s["command"] for s in steps if s["phase"] == "latency"]
    assert latency and all("netem delay 25ms" in c for c in latency)
    # without --set: the packaged file itself, its own 1 ms, nothing written
    assert main(["deploy", "plan", EMULAB4, "--scenario", "small-partition", "--run-dir", str(tmp_path / "plain"),
                 "--format", "json"]) == 0
    steps = json.loads(capsys.readouterr().out)
    assert all("netem delay 1ms" in s["command"] for s in steps if s["phase"] == "latency")
    assert any(s["command"].startswith("scp -q") and s["command"].split()[2].endswith("configs/small-partition.toml")
               for s in steps)
    assert not (tmp_path / "plain").exists()


def test_plan_and_netns_run_refuse_a_bad_set_before_writing(tmp_path, capsys):
    assert main(["deploy", "plan", EMULAB4, "--scenario", "small-partition", "--run-dir", str(tmp_path / "p"),
                 "--set", "scenario.scale=5.0"]) == 2
    assert "scenario.scale" in capsys.readouterr().err and not (tmp_path / "p").exists()
    assert main(["deploy", "netns", "run", HOSTS3, "--scenario", "small", "--run-dir", str(tmp_path / "n"),
                 "--set", "trackers.count=0"]) == 2
    assert "trackers.count" in capsys.readouterr().err and not (tmp_path / "n").exists()


def test_benches_with_a_scenario_take_set_over_their_own_options(capsys):
    from scowl.bench.day import day_scenario
    from scowl.bench.model import model_scenario

    args = build_parser().parse_args(["bench", "day", "--config", "small", "--scale", "0.0004",
                                      "--set", "trackers.count=3", "--set", "scenario.ticks=5"])
    sc = day_scenario(args)
    assert (sc.scenario.name, sc.trackers.count, sc.ticks, sc.scenario.scale) == ("small", 3, 5, 0.0004)
    args = build_parser().parse_args(["bench", "model", "--config", "small", "--set", "scenario.scale=0.0008"])
    assert model_scenario(args).scenario.scale == 0.0008  # an explicit --set wins over --scale's default
    assert main(["bench", "model", "--config", "small", "--set", "trackers.cont=2"]) == 2
    assert "trackers.cont" in capsys.readouterr().err
    # end to end, with --json: the figures are of the overridden scenario (no figure is asserted, only what ran)
    assert main(["bench", "model", "--config", "small", "--set", "scenario.scale=0.0008", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["scenario"] == "small" and got["scale"] == 0.0008 and got["consumers"] > 5_000  # small has 3,559 at 0.0004


def test_every_command_that_takes_a_scenario_takes_set():
    """The audit as a test: any subcommand with a scenario argument (CONFIG, --scenario, --config)
    also has --set, so a new command cannot forget it."""
    parser = build_parser()
    missing = []

    def walk(p, path):
        subs = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        for s in subs:
            for name, child in s.choices.items():
                walk(child, [*path, name])
        if not subs:
            dests = {a.dest for a in p._actions}
            if dests & {"config", "scenario"} and "sets" not in dests:
                missing.append(" ".join(path))

    walk(parser, ["scowl"])
    assert missing == []
