"""The sweep's pure analysis on constructed inputs whose answers are computed by hand:
measure_run on a hand-made run directory, find_bound on tables where one resource crosses its
threshold at a known scale, and shard_plan on round times that are exactly a + b n."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from scowl.sweep import cpu_by_actor, default_target_hz, find_bound, measure_run, run_findings, shard_plan, tracker_cost_model
from scowl.wire import MAX_FRAME_BYTES


def _role_row(run, peers, role, *, cpu, rss=100.0, frame=0.01, over=0.0, lag=10.0, rate=100.0, mode="processes",
              run_cpu=float("nan"), busy=0.0, trackers=1):
    return {"run": run, "peers": peers, "consumers": peers, "scale": peers / 1e4, "trackers": trackers,
            "consumers_per_tracker": peers / trackers, "mode": mode, "rate_hz_mean": rate, "run_cpu_pct": run_cpu,
            "tracker_busy_pct_sum": busy, "role": role, "cpu_pct_ticks": cpu, "rss_peak_mb_max": rss,
            "rss_peak_mb_sum": rss, "frame_share": frame, "oversized_frame_mb": over, "mean_msg_mb_max": frame * 67.1,
            "busiest_link": f"{role}-0->x", "busiest_link_mb_per_tick": 1.0, "msgs_rejected": 1.0 if over else 0.0,
            "loop_lag_ms_max": lag, "loop_lag_ms_mean": lag / 2}


def _table(points):
    """points: (peers, rate, {role: kwargs})"""
    return pd.DataFrame([_role_row(f"p{peers}", peers, role, rate=rate, **kw)
                         for peers, rate, roles in points for role, kw in roles.items()])


def test_cpu_bound_at_the_first_run_over_the_threshold():
    t = _table([(1_000, 1000.0, {"tracker": {"cpu": 20}, "consumer": {"cpu": 10}}),
                (10_000, 100.0, {"tracker": {"cpu": 60}, "consumer": {"cpu": 30}}),
                (100_000, 10.0, {"tracker": {"cpu": 95}, "consumer": {"cpu": 40}})])
    b = find_bound(t, memory_mb=1000.0, heartbeat_s=2.0)
    assert b["bound"] and (b["resource"], b["role"], b["peers"]) == ("CPU", "tracker", 100_000)
    assert b["utilization"] == pytest.approx(0.95)
    assert b["rate_slope_all"] == pytest.approx(-1.0)  # rate 1000 -> 100 -> 10 over 1e3 -> 1e5 consumers
    assert [p["resource"] for p in b["per_run"]] == ["CPU", "CPU", "CPU"]


def test_an_oversized_frame_binds_before_a_busier_cpu():
    t = _table([(1_000, 1000.0, {"tracker": {"cpu": 20}, "consumer": {"cpu": 10}}),
                (10_000, 100.0, {"tracker": {"cpu": 60}, "consumer": {"cpu": 30, "over": 70.0}}),
                (100_000, 10.0, {"tracker": {"cpu": 95}, "consumer": {"cpu": 40}})])
    b = find_bound(t, memory_mb=1000.0)
    assert (b["resource"], b["role"], b["peers"]) == ("network (message size)", "consumer", 10_000)
    assert b["utilization"] == pytest.approx(70.0 / (MAX_FRAME_BYTES / 1e6))
    assert "70.0 MB frame" in b["evidence"]


def test_nothing_bound_names_the_closest_resource():
    # CPU at 70 % (0.875 of its 0.8 threshold) loses to a 900 ms loop lag against a 2 s heartbeat (0.45 / 0.5 = 0.9)
    t = _table([(1_000, 100.0, {"tracker": {"cpu": 30}}),
                (10_000, 10.0, {"tracker": {"cpu": 70, "lag": 900.0}})])
    b = find_bound(t, memory_mb=1e6, heartbeat_s=2.0)
    assert not b["bound"]
    assert (b["resource"], b["peers"]) == ("event-loop lag", 10_000)
    assert "Nothing reached its limit up to 10,000 peers" in b["text"]


def test_memory_sums_the_processes_of_a_run():
    t = _table([(1_000, 100.0, {"tracker": {"cpu": 5, "rss": 300.0}, "consumer": {"cpu": 5, "rss": 500.0}})])
    mem = [f for f in run_findings(t, memory_mb=1000.0, heartbeat_s=2.0) if f.resource == "memory"]
    assert mem[0].utilization == pytest.approx(0.8)
    assert find_bound(t, memory_mb=1000.0)["resource"] == "memory"


def test_in_process_cpu_is_split_by_tracker_round_time():
    t = pd.DataFrame([_role_row("a", 1000, r, cpu=float("nan"), mode="in-process", run_cpu=90.0, busy=30.0)
                      for r in ("tracker", "consumer")])
    cpu = {f.role: f.utilization for f in run_findings(t, 1e6, 2.0) if f.resource == "CPU"}
    assert cpu == pytest.approx({"tracker": 0.30, "consumer+generator+messaging": 0.60})
    t["run_cpu_pct"] = float("nan")  # not sampled: no CPU finding rather than an assumed full core
    assert not [f for f in run_findings(t, 1e6, 2.0) if f.resource == "CPU"]


def _cost_table(ns, a_ms=1.0, b_ms=0.001, trackers=1):
    return pd.DataFrame([{"run": f"r{n}", "consumers_per_tracker": n, "round_ms_mean": a_ms + b_ms * n, "trackers": trackers}
                         for n in ns])


def test_cost_model_recovers_an_exact_line():
    m = tracker_cost_model(_cost_table([1_000, 10_000, 100_000]))
    assert m["ok"] and m["a_s"] == pytest.approx(1e-3) and m["b_s_per_consumer"] == pytest.approx(1e-6)


def test_shard_plan_counts_trackers_from_the_fitted_cost():
    p = shard_plan(_cost_table([1_000, 10_000, 100_000]), target_hz=10.0, target_consumers=1_000_000)
    # a 0.1 s round holds (0.1 - 0.001) / 1e-6 = 99,000 consumers; 1e6 / 99,000 = 10.1 -> 11 trackers
    assert p["ok"] and p["consumers_per_tracker_max"] == pytest.approx(99_000)
    assert p["trackers"] == 11


def test_shard_plan_refuses_a_rate_the_fixed_cost_forbids_and_a_single_point():
    p = shard_plan(_cost_table([1_000, 10_000]), target_hz=2000.0, target_consumers=10)  # a 0.5 ms budget < a = 1 ms
    assert not p["ok"] and "fixed cost" in p["why"]
    assert not shard_plan(_cost_table([1_000]), 10.0, 10)["ok"]


def test_cpu_by_actor_credits_every_actor_of_a_process():
    first = {"1": (1.0, "run"), "2": (2.0, "tracker-0,tracker-1"), "3": (0.5, "population-0")}
    last = {"1": (1.5, "run"), "2": (3.5, "tracker-0,tracker-1"), "3": (0.75, "population-0"), "4": (9.0, "late")}
    assert cpu_by_actor(first, last, 2.0) == pytest.approx({"run": 25.0, "tracker-0": 75.0, "tracker-1": 75.0, "population-0": 12.5})


@pytest.fixture
def made_run(tmp_path):
    """A run directory by hand: 4 ticks in 2 s, one tracker rounding 500 consumers in 0.1 s a round,
    a population sending 8 MB in 4 messages to it, one oversized frame in the trace log."""
    d = tmp_path / "run"
    d.mkdir()
    summary = {"wall_seconds": 2.0, "ticks": 4, "transport": "ipc",
               "peers": {"consumers": 500, "generators": 5, "trackers": 1},
               "rebalance": {"rate_hz_mean": 10.0, "rate_hz_p5": 8.0, "round_ms_mean": 100.0, "round_ms_max": 120.0,
                             "peers_rebalanced": 40, "peers_rebalanced_per_s": 100.0},
               "energy_mwh": {"demanded": 10.0, "served": 7.5}}
    finals = {"tracker-0": {"role": "tracker", "cpu_user_s": 1.0, "cpu_sys_s": 0.2, "rss_peak_mb": 80.0, "msg_sent": 12,
                            "msg_bytes_sent": 1e6, "link_out_msgs:population-0": 10, "link_out_bytes:population-0": 1e6,
                            "msg_rejected": 1, "loop_lag_ms_max": 30.0, "loop_lag_ms_mean": 3.0},
              "population-0": {"role": "consumer", "cpu_user_s": 0.5, "cpu_sys_s": 0.1, "rss_peak_mb": 120.0, "msg_sent": 4,
                               "msg_bytes_sent": 8e6, "link_out_msgs:tracker-0": 4, "link_out_bytes:tracker-0": 8e6,
                               "link_out_msgs:sub:x": 100, "link_out_bytes:sub:x": 9e9,
                               "loop_lag_ms_max": 5.0, "loop_lag_ms_mean": 1.0}}
    state = pd.DataFrame([{"tick": t, "actor": "tracker-0", "role": "tracker", "round_s": 0.1, "consumers": 500} for t in range(4)]
                         + [{"tick": t, "actor": "population-0", "role": "consumer", "round_s": math.nan, "consumers": math.nan}
                            for t in range(4)])
    (d / "summary.json").write_text(json.dumps(summary))
    (d / "finals.json").write_text(json.dumps(finals))
    state.to_parquet(d / "state.parquet")
    (d / "trace-tracker-0.log").write_text("2026-12-01 WARNING scowl.actor: tracker-0: rejected a frame from population-0: "
                                           "oversized (70000000 bytes > 67108864); further ones counted, not logged\n")
    return d


def test_measure_run_by_hand(made_run):
    rows = {r["role"]: r for r in measure_run(made_run, {"window_s": 1.0, "cpu_pct": {"tracker-0": 50.0, "population-0": 25.0}})}
    tr, co = rows["tracker"], rows["consumer"]
    assert tr["mode"] == "processes" and tr["peers"] == 505 and tr["tick_ms"] == pytest.approx(500.0)
    assert tr["tracker_busy_pct_max"] == pytest.approx(20.0)  # 4 x 0.1 s of rounds in 2 s
    assert tr["consumers_per_tracker"] == 500 and tr["consumers_rounded_per_s"] == pytest.approx(5000.0)
    assert (tr["cpu_pct_ticks"], co["cpu_pct_ticks"]) == (50.0, 25.0)
    assert tr["cpu_s_max"] == pytest.approx(1.2) and tr["cpu_pct_of_wall"] == pytest.approx(60.0)
    assert co["busiest_link"] == "population-0->tracker-0"  # the pub/sub pseudo-link is left out
    assert co["busiest_link_mb_per_tick"] == pytest.approx(2.0) and co["mean_msg_mb_max"] == pytest.approx(2.0)
    assert co["frame_share"] == pytest.approx(2e6 / MAX_FRAME_BYTES)
    assert co["oversized_frame_mb"] == pytest.approx(70.0) and tr["oversized_frame_mb"] == 0.0
    assert tr["served_share"] == pytest.approx(0.75)


def test_default_target_is_twice_the_fewest_trackers_rate_at_the_scale():
    t = pd.DataFrame([{"run": "a", "trackers": 1, "scale": 0.1, "rate_hz_mean": 40.2},
                      {"run": "b", "trackers": 1, "scale": 1.0, "rate_hz_mean": 4.4},
                      {"run": "c", "trackers": 4, "scale": 1.0, "rate_hz_mean": 30.0}])
    assert default_target_hz(t, 1.0) == 9.0  # 2 x 4.4 = 8.8, rounded
    assert default_target_hz(t, 0.5) == 80.0  # nearest scale below: 2 x 40.2
    assert default_target_hz(t.assign(rate_hz_mean=0.1), 1.0) == 1.0
    with pytest.raises(ValueError, match="no run of 1 tracker"):
        default_target_hz(t, 0.01)


def test_every_resource_past_its_threshold_at_the_bound_is_named():
    # lag 1.5 s of a 2 s heartbeat is 1.5x its 0.5 threshold; CPU 95 % is 1.19x its 0.8: lag first, CPU also
    t = _table([(1_000, 100.0, {"tracker": {"cpu": 10}}),
                (10_000, 10.0, {"tracker": {"cpu": 95, "lag": 1500.0}})])
    b = find_bound(t, memory_mb=1e6, heartbeat_s=2.0)
    assert (b["resource"], b["peers"]) == ("event-loop lag", 10_000)
    assert [(a["resource"], a["role"]) for a in b["also_bound"]] == [("CPU", "tracker")]
    assert "Also past its threshold there: CPU (tracker)" in b["text"]


def test_cost_model_fits_where_sharding_is_decided():
    # linear (1 ms + 1 us/consumer) up to 10k, then steeper: only the runs within 10x of the
    # largest load (10k and 100k) are fitted
    t = pd.DataFrame([{"run": f"r{n}", "consumers_per_tracker": n, "round_ms_mean": ms, "trackers": 1}
                      for n, ms in ((100, 1.1), (1_000, 2.0), (10_000, 11.0), (100_000, 301.0))])
    m = tracker_cost_model(t)
    assert m["points"] == 2 and m["fit_from_consumers"] == 10_000
    # the line through both has a = 11 ms - 10k x 3.2 us < 0: no fixed cost, through the largest run instead
    assert m["a_s"] == 0.0 and m["b_s_per_consumer"] == pytest.approx(0.301 / 100_000)


def test_confirm_adds_trackers_until_the_target_holds():
    table = _cost_table([1_000, 10_000, 100_000]).assign(rate_hz_mean=1.0)
    shard = shard_plan(table, 10.0, 1_000_000)  # 11 trackers (see above)
    rates = {11: 8.0, 12: 9.5, 13: 10.5}  # what the "runs" reach with that many trackers
    calls = []

    def fake_point(i, n, scale, trackers, tag=""):
        calls.append((trackers, tag))
        per = 1_000_000 / trackers
        # the run is slower than the model: 1 ms + 1.3 us per consumer, reported as measured
        return [{"run": f"c{trackers}", "trackers": trackers, "consumers_per_tracker": per, "rate_hz_mean": rates[trackers],
                 "rate_hz_p5": rates[trackers] / 2, "round_ms_mean": 1.0 + 1.3e-3 * per}]

    from scowl.sweep import confirm_plan

    out, attempts = confirm_plan(fake_point, table, 1.0, shard, say=lambda s: None)
    # each miss refits with the slower run, which asks for no more than one tracker more here
    assert calls == [(11, "-confirm"), (12, "-confirm2"), (13, "-confirm3")]
    assert [(a["trackers"], a["held"]) for a in attempts] == [(11, False), (12, False), (13, True)]
    assert out["confirm"].fillna(False).sum() == len(attempts)
