"""One real sweep, two tiny scales of 3 ticks: every point runs, the table and plots are written,
and what sweep.json says bound is what the analysis gives again from sweep.csv."""

from __future__ import annotations

import pytest

from scowl.sweep import find_bound, load_sweep, shard_plan


def test_sweep_writes_its_table_plots_and_verdicts(tiny_sweep):
    out, meta = tiny_sweep
    for name in ("sweep.csv", "sweep.json", "sweep-rate.png", "sweep-resources.png"):
        assert (out / name).stat().st_size > 0, name
    table, saved = load_sweep(out)
    plain = table[~table["confirm"]]
    runs = plain.drop_duplicates("run").sort_values("peers")
    assert list(runs["scale"]) == [0.0004, 0.004]
    assert runs["peers"].iloc[1] > 5 * runs["peers"].iloc[0]  # a tenfold scale is about tenfold peers
    assert (runs["ticks"] == 3).all() and (runs["rate_hz_mean"] > 0).all()
    assert set(plain["role"]) >= {"tracker", "consumer", "generator"}
    # the verdicts in sweep.json are the analysis of the table, nothing else
    again = find_bound(plain, saved["machine"]["memory_gb"] * 1024, saved["heartbeat_timeout_s"])
    for key in ("bound", "resource", "role", "peers", "text"):
        assert again.get(key) == saved["bound"].get(key), key
    assert again["rate_slope_all"] == pytest.approx(saved["bound"]["rate_slope_all"])
    plan = shard_plan(plain, saved["shard"]["target_hz"], saved["shard"]["target_consumers"])
    assert plan["trackers"] == saved["shard"]["trackers"]
    assert saved["shard"]["target_hz"] == 20.0  # as asked (conftest)


def test_sweep_confirms_the_plan_with_a_run(tiny_sweep):
    out, meta = tiny_sweep
    table, _ = load_sweep(out)
    conf = table[table["confirm"]].drop_duplicates("run")
    assert len(conf) == 1
    c = meta["shard"]["confirm"]
    assert conf["trackers"].iloc[0] == meta["shard"]["trackers"] == c["trackers"]
    assert c["held"] == (c["rate_hz_mean"] >= meta["shard"]["target_hz"])
    assert (out / "runs" / conf["run"].iloc[0] / "summary.json").is_file()
