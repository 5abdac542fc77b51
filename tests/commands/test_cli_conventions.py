"""The command-line conventions: --version, exit statuses (0 done, 1 failed, 2 usage or
configuration error), -v/-q, --set on every command that takes a scenario, scenario names
resolved alike everywhere, and --json on run, compare, sweep and partition-sweep."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from shared_runs import CUT_HEARTBEAT_S  # tests/fixtures/shared_runs.py

from scowl import __version__
from scowl.cli import main
from scowl.config import load_scenario, packaged_scenarios, parse_set, resolve_scenario

SHORT = ["--set", "scenario.ticks=4"]  # a few ticks: these tests are about the command line, not the day


def _scowl(*argv: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scowl", *argv], check=False, capture_output=True, text=True, cwd=cwd, timeout=170)


def test_version_prints_the_package_version_and_exits_0():
    done = _scowl("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"scowl {__version__}"


def test_exit_status_2_for_a_usage_error_with_the_usage_on_stderr():
    done = _scowl("run", "--no-such-option")
    assert done.returncode == 2 and "--no-such-option" in done.stderr and "usage: scowl" in done.stderr
    done = _scowl("run", "--transport", "carrier-pigeon")
    assert done.returncode == 2 and "usage: scowl run" in done.stderr and "carrier-pigeon" in done.stderr
    assert _scowl().returncode == 2  # no command at all


def test_exit_status_2_for_a_bad_scenario_value_naming_the_key(capsys):
    assert main(["run", "small", "--set", "scenario.scale=5.0", "--out", "/nonexistent/never-written"]) == 2
    err = capsys.readouterr().err
    assert "scenario.scale" in err and "(0, 1]" in err and "5.0" in err
    assert not Path("/nonexistent/never-written").exists()


def test_exit_status_2_for_an_unknown_key_or_a_malformed_set(capsys):
    assert main(["describe", "small", "--set", "trackers.cont=3", "--json"]) == 2
    err = capsys.readouterr().err
    assert "trackers.cont" in err and "count" in err  # the key, and the keys it could have been
    assert main(["describe", "small", "--set", "scale", "--json"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_exit_status_2_for_a_missing_scenario_or_run_directory(tmp_path, capsys):
    assert main(["run", "no-such-scenario", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "no-such-scenario" in err and "small" in err  # names the packaged scenarios it knows
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]) == 2


def test_exit_status_1_when_the_run_fails(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["run", "small", *SHORT, "-q", "--out", str(blocker / "run")]) == 1
    assert "scowl run: failed:" in capsys.readouterr().err


def test_set_values_are_typed_by_toml_syntax():
    assert parse_set("scenario.scale=0.001") == ("scenario.scale", 0.001)
    assert parse_set("trackers.count=4") == ("trackers.count", 4)
    assert parse_set("pacing.mode=realtime") == ("pacing.mode", "realtime")  # a bare word: a string
    assert parse_set('scenario.name="x y"') == ("scenario.name", "x y")
    key, value = parse_set("scenario.date=2030-01-15")
    assert key == "scenario.date" and str(value) == "2030-01-15"


def test_a_packaged_name_resolves_alike_in_every_command():
    small = resolve_scenario("small")
    assert small == packaged_scenarios()["small"] and small.is_file()
    assert resolve_scenario("small.toml") == small
    assert resolve_scenario("configs/small.toml") == Path("configs/small.toml")  # a path stays a path


@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    """`scowl run small --set ... --json` in a subprocess: (run dir, completed process)."""
    out = tmp_path_factory.mktemp("json-run") / "run"
    done = _scowl("run", "small", *SHORT, "--set", "trackers.count=1", "--out", str(out), "--json")
    return out, done


def test_run_json_prints_the_summary_and_json_progress(json_run):
    out, done = json_run
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)  # one JSON object, nothing else on stdout
    on_disk = json.loads((out / "summary.json").read_text())
    assert printed["run_dir"] == str(out)
    assert {k: v for k, v in printed.items() if k != "run_dir"} == on_disk
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [e["done"] for e in events] == [1, 2, 3, 4] and {e["total"] for e in events} == {4}


def test_set_overrides_reach_the_run_and_are_kept_with_it(json_run):
    out, done = json_run
    summary = json.loads(done.stdout)
    assert summary["ticks"] == 4 and summary["peers"]["trackers"] == 1
    kept = load_scenario(out / "scenario.toml")  # the run directory says what was run
    assert kept.ticks == 4 and kept.trackers.count == 1 and kept.scenario.name == "small"


def test_quiet_prints_no_progress_and_verbose_logs_info(tmp_path, capsys):
    assert main(["run", "small", *SHORT, "-q", "--out", str(tmp_path / "q")]) == 0
    got = capsys.readouterr()
    assert "ticks" not in got.err and got.err.strip() == ""
    table = got.out.split("\nresults in")[0]
    assert max(len(line) for line in table.splitlines()) <= 100  # the summary table fits 100 columns
    assert main(["-v", "run", "small", *SHORT, "--out", str(tmp_path / "v")]) == 0
    err = capsys.readouterr().err
    assert "INFO scowl" in err
    # not a terminal: plain lines, no carriage returns
    assert "4/4 ticks" in err and "\r" not in err


def test_describe_takes_set_and_a_name(capsys):
    assert main(["describe", "small", "--json"]) == 0
    base = json.loads(capsys.readouterr().out)
    assert main(["describe", "small", "--set", "scenario.scale=0.0008", "--json"]) == 0
    bigger = json.loads(capsys.readouterr().out)
    assert bigger["scenario"]["scale"] == 0.0008 and base["scenario"]["scale"] == 0.0004
    assert bigger["consumers"]["count"] > 1.5 * base["consumers"]["count"]


def test_compare_json_and_a_table_that_fits_100_columns(json_run, tmp_path, capsys):
    out, _ = json_run
    other = tmp_path / "other"
    assert main(["run", "small", *SHORT, "--set", "scenario.seed=8", "-q", "--out", str(other)]) == 0
    capsys.readouterr()
    assert main(["compare", str(out), str(other), "--out", str(tmp_path / "cmp"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    rows = {r["key"]: r for r in got["rows"]}
    assert rows["seed"]["a"] == 7 and rows["seed"]["b"] == 8 and rows["seed"]["diff"] == 1
    assert rows["energy_mwh.served"]["diff"] == pytest.approx(rows["energy_mwh.served"]["b"] - rows["energy_mwh.served"]["a"])
    assert all(Path(p).is_file() for p in got["plots"])
    assert main(["compare", str(out), str(other), "--out", str(tmp_path / "cmp")]) == 0
    table = (tmp_path / "cmp" / "compare.txt").read_text()
    assert max(len(line) for line in table.splitlines()) <= 100


def test_sweep_json_reads_its_children_by_their_json(tmp_path):
    done = _scowl("sweep", "small", "--set", "trackers.count=1", "--scales", "0.0004", "--trackers", "1", "--ticks", "3",
                  "--no-confirm", "--out", str(tmp_path / "sw"), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    assert got["sweep_dir"] == str(tmp_path / "sw") and got["rows"]
    row = got["rows"][0]
    assert row["ticks"] == 3 and row["cpu_window_s"] > 0  # the tick window came from the child's JSON progress
    assert "--json" in row["command"]


def test_partition_sweep_json(tmp_path):
    done = _scowl("partition-sweep", "small-partition", "--set", "scenario.ticks=14",
                  "--set", "network.partitions=[{start_tick = 4, end_tick = 8, isolate = [\"role:tracker\"]}]",
                  "--set", f"response.heartbeat_timeout_s={CUT_HEARTBEAT_S}",  # less waiting, the same figures
                  "--sizes", "9", "--out", str(tmp_path / "ps"), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    assert got["kind"] == "partition_sweep" and [p["peers_per_partition"] for p in got["points"]] == [9]
    assert "--set" in got["command"]
    assert all(Path(p).is_file() for p in got["written"])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """`scowl run small --seeds 3` of a few ticks, and of its partitioned twin."""
    root = tmp_path_factory.mktemp("seeds")
    healthy = _scowl("run", "small", "--set", "scenario.ticks=6", "--seeds", "3", "--out", str(root / "healthy"))
    cut = _scowl("run", "small-partition", "--set", "scenario.ticks=6", "--set",
                 'network.partitions=[{start_tick = 1, end_tick = 5, isolate = ["role:tracker"]}]',
                 "--set", f"response.heartbeat_timeout_s={CUT_HEARTBEAT_S}",  # less waiting, the same figures
                 "--seeds", "3", "--out", str(root / "cut"), "--json")
    return root, healthy, cut


def test_seeds_prints_every_figure_with_its_interval(seeded):
    root, healthy, _ = seeded
    assert healthy.returncode == 0, healthy.stderr[-2000:]
    text = healthy.stdout
    assert "3 seeds" in text and "95 % t-interval" in text and "seeds 7, 8, 9" in text
    served = next(line for line in text.splitlines() if line.startswith("energy_mwh.served"))
    assert "±" in served and "[" in served  # mean ± half-width and [low, high]
    saved = json.loads((root / "healthy" / "seeds.json").read_text())
    assert saved["seeds"] == [7, 8, 9] and len(saved["runs"]) == 3
    iv = saved["figures"]["energy_mwh.served"]
    per_seed = [json.loads((Path(r) / "summary.json").read_text())["energy_mwh"]["served"] for r in saved["runs"]]
    assert iv["mean"] == pytest.approx(sum(per_seed) / 3) and iv["low"] <= iv["mean"] <= iv["high"] and iv["n"] == 3
    assert max(len(line) for line in text.splitlines() if not line.startswith("results in")) <= 100
    assert (root / "healthy" / "day.png").stat().st_size > 10_000  # the mean day with its 95 % bands


def test_seeds_json_and_compare_of_seed_sets(seeded, tmp_path, capsys):
    root, _, cut = seeded
    assert cut.returncode == 0, cut.stderr[-2000:]
    got = json.loads(cut.stdout)
    assert got["kind"] == "seeds" and got["seeds"] == [7, 8, 9]
    assert main(["compare", str(root / "healthy"), str(root / "cut"), "--out", str(tmp_path / "c"), "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    d = rows["energy_mwh.served"]["diff"]
    assert d["low"] <= d["mean"] <= d["high"]
    assert d["mean"] == pytest.approx(rows["energy_mwh.served"]["b"]["mean"] - rows["energy_mwh.served"]["a"]["mean"])
    assert main(["compare", str(root / "healthy"), str(root / "cut"), "--out", str(tmp_path / "c")]) == 0
    text = capsys.readouterr().out
    assert "(3 seeds)" in text and "Welch" in text
    table = (tmp_path / "c" / "compare.txt").read_text()
    assert max(len(line) for line in table.splitlines()) <= 100


def test_the_report_answers_over_every_seed(seeded, tmp_path, capsys):
    """Each answer with a figure per seed reports the mean over all seeds and its 95 % interval,
    not the first seed's draw; the seeds' plots draw the mean with a shaded band."""
    from scowl.stats import interval

    root, _, _ = seeded
    assert main(["report", str(root / "healthy"), str(root / "cut"), "--out", str(tmp_path / "r")]) == 0
    answers = json.loads((tmp_path / "r" / "answers.json").read_text())["answers"]
    summaries = {name: [json.loads(p.read_text()) for p in sorted((root / name).glob("seed-*/summary.json"))]
                 for name in ("healthy", "cut")}
    q1, q4, q5, q7 = (answers[i]["values"]["runs"] for i in (0, 3, 4, 6))
    healthy, cut = q4[0], q4[1]
    assert healthy["run"] == "healthy (3 seeds)" and healthy["seeds"] == 3 and cut["seeds"] == 3
    for got, name in ((healthy, "healthy"), (cut, "cut")):  # the mean over the seeds, from their own summaries
        starved = [s["starvation"]["consumers_starved"] for s in summaries[name]]
        assert got["consumers_starved"] == pytest.approx(sum(starved) / 3)
        iv = got["intervals"]["consumers_starved"]
        want = interval(starved)
        assert iv["n"] == 3 and iv["mean"] == pytest.approx(want.mean)
        assert iv["low"] is None if want.sd == 0 else iv["low"] == pytest.approx(want.low)
    served = [s["energy_mwh"]["served"] for s in summaries["cut"]]
    assert q5[1]["intervals"]["served_mwh"]["mean"] == pytest.approx(sum(served) / 3)
    assert q1[0]["intervals"]["rate_hz_mean"]["n"] == 3  # Q1 from the tracker rounds of every seed
    warnings = [s["partition"].get("capacity_low_sent", 0) for s in summaries["cut"]]
    assert q7[0]["capacity_low_sent"] == pytest.approx(sum(warnings) / 3) and q7[0]["intervals"]["capacity_low_sent"]["n"] == 3
    assert any(d.startswith("cut (3 seeds), over its 3 seeds") for d in answers[3]["details"])
    html = (tmp_path / "r" / "index.html").read_text()
    assert "healthy (3 seeds), over its 3 seeds" in html and "--seeds 3" in html  # the command that reproduces the set
    assert all((tmp_path / "r" / f).is_file() for f in ("q4-starvation.png", "q5-supply.png", "q7-partition-0.png"))


def test_deploy_grid_takes_set_and_refuses_a_bad_value_before_any_host(tmp_path, capsys):
    deployment = Path(__file__).resolve().parents[2] / "deploy" / "hosts-3.toml"
    assert main(["deploy", "netns", "grid", "--deployment", str(deployment), "small", "--set", "trackers.count=0",
                 "--out", str(tmp_path / "g")]) == 2
    assert "trackers.count" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
