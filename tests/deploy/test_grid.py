"""The grid's day on three namespace hosts (trackers, broker and the control roles on h1; a
generator fleet and a consumer population on each of h2 and h3), every role its own scowl-node
process, faults in the kernel: a partition of h3 warns and defers only on h3's side and the
trees re-converge after healing; tracker latency shows in the peers' measured round trips and,
under real-time pacing, in more starvation or blackouts. Nothing is left behind."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
from pathlib import Path

import pytest

from scowl.analysis.results import load_run
from scowl.deploy import load_deployment, unavailable_reason
from scowl.deploy.grid_run import run_grid
from scowl.deploy.host_figures import host_figures, reconvergence

REPO = Path(__file__).resolve().parents[2]
HOSTS3 = REPO / "deploy/hosts-3.toml"
PARTITION = REPO / "deploy/hosts-3-partition.toml"
REASON = unavailable_reason()
RECONVERGE_S = 5.0  # measured: 1.7-1.9 s, a zmq reconnect (heartbeat gave up on the cut link; reconnect <= 1 s + connect timeout 1 s)
RECONVERGE_TICKS = 10  # measured: 0-6; ticks go by fast while only peers already missed are awaited, so wall time binds
# 0 ticks is a clean heal, not a fault: the cut links reconnect on ZeroMQ's reconnect timer (<= 1 s), and
# when an attempt lands just after the rules go, within the heal tick's own wait for its peers, every
# view is whole at that tick (seen in CI and locally, 2026-12-02: tick 12 calm; other runs 1, 5, 7 ticks)

pytestmark = [pytest.mark.netns, pytest.mark.skipif(REASON is not None, reason=f"netns tests skipped: {REASON}")]


@pytest.fixture(scope="module")
def partition_run(tmp_path_factory, leak_check):
    leaks = leak_check()
    out = tmp_path_factory.mktemp("grid") / "h3-cut"
    result = run_grid(load_deployment(HOSTS3), scenario=PARTITION, run_dir=out, timeout_s=120)
    leaks.check(result.run_id)  # after the run: no namespace, rule or process of it remains
    return result


@pytest.fixture(scope="module")
def healthy_run(tmp_path_factory, leak_check):
    """The same day on the same hosts without the partition (what h2 sees when nothing is cut),
    run through the command line: `scowl deploy netns grid ... --no-faults`."""
    from scowl.cli import main

    leaks = leak_check()
    out = tmp_path_factory.mktemp("grid") / "healthy"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rc = main(["deploy", "netns", "grid", "--deployment", str(HOSTS3), str(PARTITION), "--out", str(out), "--no-faults"])
    assert rc == 0
    leaks.check(json.loads((out / "run.json").read_text())["run_id"])
    return out, printed.getvalue()


def test_the_command_prints_the_summary_and_the_hosts(healthy_run):
    out, text = healthy_run
    summary = json.loads((out / "summary.json").read_text())
    assert text.startswith("Scowl run: hosts-3-partition (seed 7, lockstep, tcp), 20 ticks")
    assert f"consumers ever starved     {summary['starvation']['consumers_starved']}" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  h")}
    assert set(lines) == {"h1", "h2", "h3"} and "capacity_low    0" in lines["h3"]
    assert "fault before tick" not in text and f"results in {out}/" in text
    # CURVE on every link between the namespace hosts: every sender authenticated, nothing refused
    assert summary["security"]["mode"] == "curve" and summary["security"]["rejected"] == 0
    assert "security: CURVE keys on every link, senders authenticated" in text


def test_the_day_ran_on_the_hosts_of_the_description(partition_run):
    info = json.loads((partition_run.run_dir / "run.json").read_text())
    assert info["hosts"]["h1"]["actors"] == ["bootstrap", "broker", "metronome", "storage-0", "tracker-0", "tracker-1"]
    assert info["hosts"]["h2"]["actors"] == ["fleet-0", "population-0"]
    assert info["hosts"]["h3"]["actors"] == ["fleet-1", "population-1"]
    assert all(code in (0, None) for code in info["exit_codes"].values()), info["exit_codes"]
    assert {k for k, c in info["exit_codes"].items() if c == 0} >= {"h1/metronome", "h1/tracker", "h1/storage", "h2/generator",
                                                                    "h2/consumer", "h3/generator", "h3/consumer"}
    for host, actors in (("h2", ["fleet-0", "population-0"]), ("h3", ["fleet-1", "population-1"])):
        for actor in actors:  # each actor bound its own host's address
            assert f"READY {actor} tcp://10.200.0.{host[1]}:" in (partition_run.run_dir / host / (
                "generator.log" if actor.startswith("fleet") else "consumer.log")).read_text()
    assert partition_run.summary["ticks"] == 20
    assert [(e["action"], e["tick"]) for e in partition_run.fault_events] == [("partition", 6), ("heal", 12)]


def test_a_partition_of_h3_warns_and_defers_only_on_h3(partition_run, healthy_run):
    hosts = host_figures(partition_run.run_dir)
    h2, h3 = hosts["h2"], hosts["h3"]
    base = host_figures(healthy_run[0])["h2"]
    print(f"\nh2: {h2}\nh3: {h3}\nh2 without the partition: {base}")
    assert base["capacity_low_sent"] == base["deferred_mwh"] == base["self_optimizing_consumer_ticks"] == 0
    assert h3["capacity_low_sent"] > 0 and h3["deferred_mwh"] > 0 and h3["dr_events"] > 0
    assert h3["sog_generator_ticks"] > 0 and h3["self_optimizing_consumer_ticks"] > 0
    assert h2["capacity_low_sent"] == 0 and h2["sog_generator_ticks"] == 0, "h2 kept its trackers: no SOG"
    assert h2["deferred_mwh"] == 0 and h2["dr_events"] == 0 and h2["self_optimizing_consumer_ticks"] == 0, "h2 kept its trackers: none self-optimizing"
    # h2's consumers are served nearly as on the healthy day: the trackers plan with h3's last
    # reports while it is cut, so some of h2's consumers wait for room. Measured -0.7 % before the
    # regions shared dispatchable capacity (issue 18), -5.5 % since: more of h2's load is handed to
    # regions whose room includes h3's cut units. Open in issue 18; the bound says how far it may go.
    assert h2["served_mwh"] == pytest.approx(base["served_mwh"], rel=0.07)
    state, finals, _ = load_run(partition_run.run_dir)
    cut = state[(state["tick"] >= 6) & (state["tick"] < 12)]
    sog = cut[cut["role"] == "generator"].set_index("actor")["sog"]
    assert (sog["fleet-1"] > 0).all() and (sog["fleet-0"] == 0).all()
    # the clock was never cut: h3's actors reported every tick of the cut to the metronome (on h1)
    reported = cut[cut["actor"].isin(["fleet-1", "population-1"])].groupby("actor")["tick"].nunique()
    assert reported.to_dict() == {"fleet-1": 6, "population-1": 6}
    # the trackers miss exactly h3's two actors while it is cut, and nobody before or after
    missing = state[state["role"] == "tracker"].groupby("tick")["missing_peers"].max()
    assert (missing.loc[6:11] == 2).all(), missing.to_dict()
    assert (missing.loc[:5] == 0).all(), missing.to_dict()


def test_the_trees_reconverge_after_healing(partition_run):
    (heal,) = reconvergence(partition_run.run_dir)
    print(f"\nre-converged {heal['ticks']} ticks, {heal['seconds']:.2f} s of wall time after healing at tick {heal['heal_tick']}")
    assert heal["heal_tick"] == 12
    assert heal["ticks"] is not None and 0 <= heal["ticks"] <= RECONVERGE_TICKS
    assert heal["seconds"] is not None and 0 <= heal["seconds"] <= RECONVERGE_S, heal
    state, _, _ = load_run(partition_run.run_dir)
    settled = state[state["tick"] >= heal["reconverged_tick"]]
    assert settled[settled["role"] == "tracker"]["missing_peers"].sum() == 0


def realtime_twin(tmp: Path, latency_ms: float) -> Path:
    """`small` in real time (a 0.25 s tick) for 12 ticks, no partition, `latency_ms` one way on
    every tracker link (h1 <-> h2, h1 <-> h3)."""
    text = (REPO / "configs/small.toml").read_text()
    text = (text.replace('mode = "lockstep"', 'mode = "realtime"').replace("factor = 1.0", "factor = 1200.0")
            .replace("ticks = 36", "ticks = 12").replace("latency_ms = 1.0", f"latency_ms = {latency_ms}"))
    path = tmp / f"rt-{latency_ms:g}.toml"
    path.write_text(text)
    return path


def test_tracker_latency_shows_in_round_trips_and_starves_in_real_time(tmp_path, leak_check):
    if importlib.util.find_spec("netfilterqueue") is None or shutil.which("iptables") is None:
        pytest.skip("latency needs iptables and the netfilterqueue package (bash deploy/ci-prereqs.sh)")
    runs = {}
    for ms in (0.0, 60.0):
        leaks = leak_check()
        runs[ms] = run_grid(load_deployment(HOSTS3), scenario=realtime_twin(tmp_path, ms), run_dir=tmp_path / f"rt{ms:g}",
                            timeout_s=120)
        leaks.check(runs[ms].run_id)
    fast, slow = (host_figures(runs[ms].run_dir) for ms in (0.0, 60.0))
    rtt = {ms: {h: f[h]["tracker_rtt_ms_p50"] for h in ("h2", "h3")} for ms, f in ((0.0, fast), (60.0, slow))}
    sf, ss = runs[0.0].summary, runs[60.0].summary
    print(f"\ntracker RTT p50 (ms): {rtt}; delayer: {runs[60.0].timings['delayer']}"
          f"\nstarved consumer-ticks {sf['starvation']['consumer_ticks_starved']} -> {ss['starvation']['consumer_ticks_starved']}, "
          f"blackout generator-ticks {sf['blackouts']['generator_ticks']} -> {ss['blackouts']['generator_ticks']}, "
          f"served {sf['energy_mwh']['served']:.3f} -> {ss['energy_mwh']['served']:.3f} MWh")
    assert runs[60.0].timings["delayer"] in ("delayer", "netem")
    for h in ("h2", "h3"):  # +60 ms each way: the round trip grows by ~120 ms
        assert rtt[0.0][h] < 30, rtt
        assert 110 < rtt[60.0][h] - rtt[0.0][h] < 400, rtt
    assert sf["pacing"] == ss["pacing"] == "realtime"
    worse = (ss["starvation"]["consumer_ticks_starved"] > sf["starvation"]["consumer_ticks_starved"]
             or ss["blackouts"]["generator_ticks"] > sf["blackouts"]["generator_ticks"])
    assert worse, (sf["starvation"], sf["blackouts"], ss["starvation"], ss["blackouts"])
    assert ss["energy_mwh"]["served"] < sf["energy_mwh"]["served"]
