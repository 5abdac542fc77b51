"""`scowl report`: every question has an answer or a reason, in the seed's order; the numbers are
those of the summaries and state logs (recomputed here from state.parquet); the page shows every
answer, figure and the reproducibility facts; bad inputs are named."""

from __future__ import annotations

import json
import re
import subprocess
from html import escape

import pandas as pd
import pytest

from scowl.analysis.results import SUPPLY_ROLES
from scowl.cli import main
from scowl.errors import ScowlError
from scowl.report import QUESTIONS, build_report


def _answers(doc) -> dict[int, dict]:
    return {a["number"]: a for a in doc["answers"]}


def _every_question_answered_or_excused(doc):
    assert [a["number"] for a in doc["answers"]] == list(range(1, 9))
    assert [a["question"] for a in doc["answers"]] == list(QUESTIONS)
    for a in doc["answers"]:
        assert a["answered"] == bool(a["headline"]), a["number"]
        assert a["headline"] or len(a["reason"]) > 20, f"question {a['number']} has neither an answer nor a reason"


@pytest.fixture(scope="module")
def healthy_only(healthy_run, tmp_path_factory):
    return build_report([healthy_run], tmp_path_factory.mktemp("rep-healthy"))


@pytest.fixture(scope="module")
def everything(healthy_run, partition_run, tiny_sweep, partition_sweep_dir, tmp_path_factory):
    return build_report([healthy_run, partition_run, tiny_sweep[0], partition_sweep_dir], tmp_path_factory.mktemp("rep-all"))


def test_healthy_run_alone_answers_what_it_can_and_says_why_not(healthy_only):
    _every_question_answered_or_excused(healthy_only)
    a = _answers(healthy_only)
    assert [n for n in a if a[n]["answered"]] == [1, 4, 5]
    for n in (2, 3, 6):
        assert "no scale sweep given" in a[n]["reason"]
    assert "no partitioned run given" in a[7]["reason"]
    assert "no partition-size sweep given" in a[8]["reason"]


def test_all_inputs_answer_every_question_or_say_why(everything, partition_sweep_data):
    _every_question_answered_or_excused(everything)
    a = _answers(everything)
    assert all(a[n]["answered"] for n in (1, 2, 4, 5, 6, 7, 8))
    assert a[3]["answered"] or "nothing bound up to" in a[3]["reason"]
    assert a[8]["values"]["smallest_without_blackout"] == partition_sweep_data["smallest_without_blackout"]
    kinds = sorted(i["kind"] for i in everything["inputs"])
    assert kinds == ["healthy day", "partition-size sweep", "partitioned day", "scale sweep"]


def test_starvation_matches_the_state_log_and_summary(everything, healthy_run):
    state = pd.read_parquet(healthy_run / "state.parquet")
    summary = json.loads((healthy_run / "summary.json").read_text())
    got = next(r for r in _answers(everything)[4]["values"]["runs"] if r["dir"] == str(healthy_run))
    pop = state[state["role"] == "consumer"]
    ticks_starved = int(pop["starved"].sum())
    assert ticks_starved > 0, "the test day must starve someone to check the average"
    assert got["consumer_ticks_starved"] == ticks_starved == summary["starvation"]["consumer_ticks_starved"]
    expect = ticks_starved * summary["tick_seconds"] / summary["peers"]["consumers"]
    assert got["mean_starved_s_all_consumers"] == pytest.approx(expect)
    assert got["mean_starved_s_all_consumers"] == pytest.approx(summary["starvation"]["mean_starved_s_all_consumers"])
    assert got["mean_starved_s"] == summary["starvation"]["mean_starved_s"]
    assert f"{summary['starvation']['mean_starved_s'] / 60:,.1f} min" in _answers(everything)[4]["headline"]


def test_blackouts_and_shortfall_match_the_state_log(everything, healthy_run, partition_run):
    per = {r["dir"]: r for r in _answers(everything)[5]["values"]["runs"]}
    for d in (healthy_run, partition_run):
        state = pd.read_parquet(d / "state.parquet")
        summary = json.loads((d / "summary.json").read_text())
        gen, pop = state[state["role"] == "generator"], state[state["role"] == "consumer"]
        short = pop.groupby("tick")["demand_mw"].sum() > gen.groupby("tick")["available_mw"].sum()
        bo = state[state["role"].isin(SUPPLY_ROLES)].groupby("tick")["blacked_out"].sum()  # EV hubs black out too
        got = per[str(d)]
        assert got["demand_above_supply_ticks"] == int(short.sum()) == summary["blackouts"]["demand_above_supply_ticks"]
        assert got["blackout_generator_ticks_when_short"] == int(bo[short].sum())
        assert (got["blackout_generator_ticks_when_short"] + got["blackout_generator_ticks_otherwise"]
                == int(bo.sum()) == summary["blackouts"]["generator_ticks"])
        assert got["blackout_events"] == summary["blackouts"]["events"]
    assert per[str(healthy_run)]["demand_above_supply_ticks"] > 0, "the test day must be short of supply somewhere"


def test_partition_blackouts_by_region_match(everything, partition_run, partition_window):
    state = pd.read_parquet(partition_run / "state.parquet")
    summary = json.loads((partition_run / "summary.json").read_text())
    got = _answers(everything)[7]["values"]["runs"][0]
    assert got["blackouts_by_region"] == summary["partition"]["blackouts_by_region_during"]
    gen = state[(state["role"] == "generator") & state["tick"].between(partition_window["start_tick"], partition_window["end_tick"] - 1)]
    assert got["blackout_generator_ticks"] == int(gen["blacked_out"].sum()) == summary["partition"]["blackout_generator_ticks_during"]
    assert got["capacity_low_sent"] == summary["partition"]["capacity_low_sent"]
    hit = [k for k, v in got["blackouts_by_region"].items() if v]
    assert _answers(everything)[7]["headline"].startswith("yes" if hit else "no")


def test_rate_matches_the_summary(healthy_only, healthy_run):
    summary = json.loads((healthy_run / "summary.json").read_text())
    got = _answers(healthy_only)[1]["values"]["runs"][0]
    assert got["rate_hz_mean"] == pytest.approx(summary["rebalance"]["rate_hz_mean"])
    assert got["rate_hz_p5"] == pytest.approx(summary["rebalance"]["rate_hz_p5"])
    assert got["peers_rebalanced"] == summary["rebalance"]["peers_rebalanced"]


def test_sweep_answers_are_the_sweeps_verdicts(everything, tiny_sweep):
    _, meta = tiny_sweep
    a = _answers(everything)
    assert a[2]["values"]["resource"] == meta["bound"]["resource"] and a[2]["values"]["role"] == meta["bound"]["role"]
    assert a[6]["values"]["trackers"] == meta["shard"]["trackers"]
    assert a[6]["values"]["held"] == meta["shard"]["confirm"]["held"]


def test_inputs_with_the_same_directory_name_stay_apart(everything, healthy_run, partition_run):
    assert healthy_run.name == partition_run.name  # both "run"
    runs = _answers(everything)[4]["values"]["runs"]
    assert len({r["run"] for r in runs}) == 2
    assert {r["dir"] for r in runs} == {str(healthy_run), str(partition_run)}


def test_page_shows_every_answer_figure_and_reproducibility(everything):
    index = everything["index"]
    page = index.read_text()
    heads = re.findall(r'<h2 id="q(\d)">', page)
    assert heads == [str(n) for n in range(1, 9)]
    for a in everything["answers"]:
        assert escape(a["headline"] or a["reason"]) in page
        for f in a["figures"]:
            png = index.parent / f["file"]
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
            assert f'src="{f["file"]}"' in page
    assert not re.search(r'src="(?:/|https?:)', page), "figures must sit beside index.html"
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert head in page and "cores" in page and "seed" in page
    assert "scowl run " in page and "scowl sweep " in page and "scowl report " in page


def test_no_shortfall_is_a_reason_not_an_answer(run_factory, tmp_path_factory):
    early = run_factory("early", "configs/small.toml", {"scenario.ticks": 6})  # ticks 0-5 have supply to spare
    doc = build_report([early], tmp_path_factory.mktemp("rep-early"))
    q5 = _answers(doc)[5]
    assert not q5["answered"] and "never exceeded available supply" in q5["reason"]
    assert q5["figures"], "the plot still shows demand against supply"


def test_bad_inputs_are_named(tmp_path, partition_sweep_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScowlError, match=r"empty: expected summary.json \(a day run\), seed-\*/summary.json \(scowl run --seeds\), sweep.json"):
        build_report([empty], tmp_path / "out")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "partition_sweep.json").write_text(json.dumps({"kind": "partition_sweep", "points": []}))
    with pytest.raises(ScowlError, match=r"bad/partition_sweep.json: expected .*smallest_without_blackout"):
        build_report([bad], tmp_path / "out")
    day = tmp_path / "day"
    day.mkdir()
    (day / "summary.json").write_text("{not json")
    with pytest.raises(ScowlError, match=r"day/summary.json: expected a run's summary .* as JSON"):
        build_report([day], tmp_path / "out")


def test_cli_reports_errors_and_writes_the_page(healthy_run, tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    assert "missing: expected a run, sweep or partition-sweep directory" in capsys.readouterr().err
    assert main(["report", str(healthy_run), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "8. How small a partition" in out and (tmp_path / "r" / "index.html").is_file()


def test_partition_sweep_where_every_size_blacked_out_is_a_reason(tmp_path, partition_sweep_data):
    data = {**partition_sweep_data, "smallest_without_blackout": None,
            "points": [{**p, "blackout_events": 1, "blackout_generator_ticks": 2} for p in partition_sweep_data["points"]]}
    d = tmp_path / "ps"
    d.mkdir()
    (d / "partition_sweep.json").write_text(json.dumps(data))
    q8 = _answers(build_report([d], tmp_path / "out"))[8]
    assert not q8["answered"] and "100 to 3,600 peers per partition, had a blackout" in q8["reason"]
    assert (tmp_path / "out" / q8["figures"][0]["file"]).is_file()
