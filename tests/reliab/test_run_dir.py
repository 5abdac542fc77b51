"""A run directory keeps its inputs: analysis reads the stored scenario, never the live TOML;
the durable state log reads back the same from state.parquet or from the journal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from scowl.analysis.dayseries import day_series
from scowl.analysis.results import state_frame, summarize
from scowl.report.inputs import load_inputs
from scowl.run import data_hashes, run_scenario
from scowl.statelog import (
    JOURNAL,
    STATE,
    StateJournal,
    atomic_write_text,
    journal_rows,
    read_state_log,
)


def test_editing_the_config_after_a_run_changes_nothing_it_reports(tmp_path):
    cfg = tmp_path / "day.toml"
    cfg.write_text(Path("configs/small.toml").read_text().replace("ticks = 36", "ticks = 6"))
    out = tmp_path / "run"
    summary = run_scenario(str(cfg), str(out), show_progress=False)
    before = day_series(out)
    cfg.write_text(cfg.read_text().replace('start = "15:00"', 'start = "03:00"').replace("scale = 0.0004", "scale = 0.001"))
    after = day_series(out)
    pd.testing.assert_frame_equal(before, after)
    assert before["time"].iloc[0].hour == 15
    inputs = json.loads((out / "inputs.json").read_text())
    assert inputs["scenario"]["origin"] == str(cfg.resolve())
    stored = (out / "scenario.toml").read_bytes()
    assert inputs["scenario"]["sha256"] == hashlib.sha256(stored).hexdigest()
    assert inputs["data"] == data_hashes() and "consumers.csv" in inputs["data"]
    assert json.loads((out / "plan.json").read_text())["scenario_path"] == str((out / "scenario.toml").resolve())
    assert summary["partial"] is False and summary["deaths"] == []
    assert not (out / JOURNAL).exists(), "consolidated into state.parquet, then removed"


def test_the_journal_reads_back_as_the_state_log_would(tmp_path):
    rows = [{"tick": t, "actor": a, "role": "tracker", "round_s": 0.1 * t, "moved": 2.0} for t in range(4) for a in ("tracker-1", "tracker-0")]
    stand_in = {"tick": 4, "actor": "tracker-0", "role": "tracker", "absent": 1.0}
    j = StateJournal(tmp_path / JOURNAL, sync_every_ticks=2)
    for t in range(4):
        for r in rows[2 * t: 2 * t + 2]:
            j.append(r)
        j.write(t)
    j.append(stand_in)
    j.append({"tick": 4, "actor": "tracker-1", "role": "tracker", "round_s": 0.4, "moved": 1.0})
    j.write(4)
    j.append({"tick": 4, "actor": "tracker-0", "role": "tracker", "round_s": 0.5, "moved": 3.0})  # replaces the stand-in
    j.write(4)
    # not closed: as a killed writer leaves it
    got = read_state_log(tmp_path)
    want = state_frame([*rows, {"tick": 4, "actor": "tracker-1", "role": "tracker", "round_s": 0.4, "moved": 1.0},
                        {"tick": 4, "actor": "tracker-0", "role": "tracker", "round_s": 0.5, "moved": 3.0}])
    pd.testing.assert_frame_equal(got, want[got.columns.tolist()])
    j.close()
    # a torn last batch (killed mid-write) is skipped, the batches before it are kept
    data = (tmp_path / JOURNAL).read_bytes()
    (tmp_path / JOURNAL).write_bytes(data[:-40])
    assert {r["tick"] for r in journal_rows(tmp_path / JOURNAL)} == {0, 1, 2, 3, 4}
    assert any(r.get("absent") == 1.0 for r in journal_rows(tmp_path / JOURNAL)), "the stand-in stays when its replacement was torn"


def test_atomic_write_leaves_the_old_file_whole_when_the_write_fails(tmp_path):
    target = tmp_path / "summary.json"
    atomic_write_text(target, "old")

    def fail(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    from scowl.statelog import StateLogError, atomic_write

    try:
        atomic_write(target, fail)
    except StateLogError as exc:
        assert "disk full" in str(exc) and str(target) in str(exc)
    else:
        raise AssertionError("the failure must surface")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_final_report_missing_a_key_is_named_and_tolerated():
    state = state_frame([{"tick": 0, "actor": "fleet-0", "role": "generator", "delivered_mw": 1.0, "available_mw": 2.0}])
    meta = {"tick_seconds": 300, "scenario": "x", "seed": 1, "pacing": "lockstep", "transport": "inproc",
            "wall_seconds": 1.0, "peers": {"consumers": 0}}
    s = summarize(state, {"fleet-0": {"role": "generator", "blackout_generator_ticks": 2.0}}, meta)
    assert s["finals_missing"] == {"fleet-0": ["blackout_events"]}
    assert s["blackouts"]["events"] == 0 and s["blackouts"]["generator_ticks"] == 2


def test_a_run_stopped_before_tick_0_still_writes_its_partial_results(tmp_path):
    """A signal before the first tick: no state rows, and the summary is written all the same
    (it raised KeyError 'role' on the empty state log)."""
    from scowl.analysis.meta import run_meta
    from scowl.analysis.results import write_results
    from scowl.plan import make_plan

    plan = make_plan("configs/small.toml", transport="inproc", out_dir=str(tmp_path))
    meta = run_meta(plan, plan.scenario(), 0.0, {}, [])
    meta["partial"] = {"interrupted": "SIGTERM received at tick 0", "ticks_completed": 0, "ticks_planned": 1}
    summary = write_results(tmp_path, [], {}, meta)
    assert summary["ticks"] == 0 and summary["energy_mwh"]["served"] == 0
    assert len(pd.read_parquet(tmp_path / "state.parquet")) == 0


def test_report_marks_partial_runs(tmp_path):
    out = tmp_path / "run"
    run_scenario("configs/small.toml", str(out), show_progress=False)
    summary = json.loads((out / "summary.json").read_text())
    summary["partial"] = True
    (out / "summary.json").write_text(json.dumps(summary))
    (run,) = load_inputs([out]).days
    assert run.partial and run.label.endswith("(partial)")
    assert (out / STATE).is_file()
