"""`scowl partition-sweep`: islands cut the way the definition says, the answer follows from
the points (whatever they are), and a real tiny sweep writes the json/csv/png the evaluation
report reads, reproducibly."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shlex

import pytest
from shared_runs import CUT_HEARTBEAT_S  # tests/fixtures/shared_runs.py

from scowl.cli import build_parser, main
from scowl.config import load_scenario, override
from scowl.errors import ScowlError
from scowl.faults import LinkFaults
from scowl.plan import make_plan
from scowl.sweep import scenario_toml
from scowl.sweep.partition import DEFINITION, SweepPoint, grid_peers, island_scenario, islands, run_sweep, smallest_without_blackout

POINT_KEYS = {"peers_per_partition": int, "partitions": int, "blackout_events": int, "blackout_generator_ticks": int,
              "capacity_low": int, "deferred_mwh": float, "unserved_mwh": float, "run_dir": str}
# small-partition.toml cut short (8 ticks, partitioned during ticks 2-3) so the days are quick
WINDOW = (2, 4)
SIZES = (1, 18)


def _p(k: int, events: int) -> SweepPoint:
    return SweepPoint(k, 18 // k, events, 3 * events, 5, 0.1, 1.0, f"runs/k{k}")


@pytest.mark.parametrize("events, expected", [
    ({1: 3, 2: 0, 6: 0}, 2),
    ({1: 3, 2: 1, 6: 0}, 6),
    ({1: 0, 2: 1, 6: 0}, 1),  # not monotone: the smallest clean size still answers
    ({1: 2, 2: 1, 6: 4}, None),
])
def test_the_answer_is_the_smallest_size_whose_day_had_no_blackout(events, expected):
    points = [_p(k, e) for k, e in events.items()]
    assert smallest_without_blackout(points) == expected
    assert smallest_without_blackout(points[::-1]) == expected


def test_islands_cover_every_peer_once_and_mix_generators_with_consumers():
    peers = grid_peers(3, 2)
    assert peers == ["fleet-0", "population-0", "fleet-1", "population-1", "fleet-2"]
    for k in range(1, len(peers) + 1):
        groups = islands(peers, k)
        assert [p for g in groups for p in g] == peers
        assert all(len(g) == k for g in groups[:-1]) and 1 <= len(groups[-1]) <= k
    assert islands(peers, 2)[0] == ["fleet-0", "population-0"]
    with pytest.raises(ScowlError, match="between 1 and the grid's 5 peers"):
        islands(peers, 6)


def test_an_island_reaches_only_itself_and_only_during_the_window():
    base = load_scenario("configs/small-partition.toml")
    plan = make_plan("configs/small-partition.toml", fleets=9, populations=9)
    peers = grid_peers(9, 9)
    groups = islands(peers, 6)
    faults = LinkFaults(plan, island_scenario(base, groups, (12, 24)), "x")
    a, b = groups[0], groups[1]
    for tick, inside in ((11, False), (12, True), (23, True), (24, False)):
        assert faults.cut(a[0], a[-1], tick) is False  # same island: never cut
        assert faults.cut(a[0], b[0], tick) is inside  # other island: cut in the window
        assert faults.cut("tracker-0", b[2], tick) is inside  # trackers: cut from every island
    assert faults.cut("tracker-0", "tracker-1", 15) is False


def test_a_config_without_a_partition_window_is_refused_by_name(tmp_path):
    with pytest.raises(ScowlError, match=r"configs/small\.toml: expected a \[\[network\.partitions\]\]"):
        run_sweep("configs/small.toml", [1], tmp_path)
    with pytest.raises(ScowlError, match="expected 0 <= START < END <= the run's 36 ticks"):
        run_sweep("configs/small-partition.toml", [1], tmp_path, window=(30, 40))


@pytest.fixture(scope="module")
def short_day(tmp_path_factory):
    cut = {"start_tick": WINDOW[0], "end_tick": WINDOW[1], "isolate": ["role:tracker"], "from": ["*"]}
    sc = override(load_scenario("configs/small-partition.toml"), {"scenario.ticks": 8, "network.partitions": [cut],
                                                                  "response.heartbeat_timeout_s": CUT_HEARTBEAT_S})
    path = tmp_path_factory.mktemp("config") / "short-partition.toml"
    path.write_text(scenario_toml(sc))
    return str(path)


@pytest.fixture(scope="module")
def swept(short_day, tmp_path_factory):
    out = tmp_path_factory.mktemp("partition-sweep")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["partition-sweep", short_day, "--sizes", *map(str, SIZES), "--out", str(out)]) == 0
    return out, printed.getvalue()


def test_the_sweep_writes_the_json_the_report_reads(swept, short_day):
    out, printed = swept
    result = json.loads((out / "partition_sweep.json").read_text())
    assert set(result) == {"kind", "config", "seed", "command", "points", "smallest_without_blackout", "definition"}
    assert result["kind"] == "partition_sweep" and result["config"] == short_day
    assert result["seed"] == load_scenario(short_day).seed
    assert result["definition"] == DEFINITION and "island" in DEFINITION
    assert [p["peers_per_partition"] for p in result["points"]] == list(SIZES)
    for p in result["points"]:
        assert set(p) == set(POINT_KEYS)
        assert all(isinstance(p[k], t) for k, t in POINT_KEYS.items())
        assert p["partitions"] == -(-18 // p["peers_per_partition"])  # 9 generators + 9 populations
        # the point's figures are its own day's summary
        s = json.loads((out / "runs" / f"k{p['peers_per_partition']:03d}" / "summary.json").read_text())
        assert p["run_dir"] == str(out / "runs" / f"k{p['peers_per_partition']:03d}")
        assert (p["blackout_events"], p["blackout_generator_ticks"]) == (s["blackouts"]["events"], s["blackouts"]["generator_ticks"])
        assert (p["capacity_low"], p["deferred_mwh"], p["unserved_mwh"]) == (
            s["partition"]["capacity_low_sent"], s["partition"]["deferred_mwh"], s["energy_mwh"]["unserved"])
        assert s["peers"]["generator_fleets"] == 9 and s["peers"]["consumer_populations"] == 9
        assert s["partition"]["schedule"][0]["start_tick"] == WINDOW[0]
    # a sane answer given the points: a clean size, and every smaller size swept blacked out
    answer = result["smallest_without_blackout"]
    clean = [p["peers_per_partition"] for p in result["points"] if p["blackout_events"] == 0]
    assert answer == (min(clean) if clean else None)
    if answer is not None:
        assert all(p["blackout_events"] > 0 for p in result["points"] if p["peers_per_partition"] < answer)
    said = f"{answer} peers" if answer is not None else "none (every size swept had a blackout)"
    assert f"smallest partition without a blackout: {said}" in printed
    assert printed.count(" peers per partition (") == len(SIZES)  # a progress line per day


def test_the_sweep_csv_and_png_hold_the_same_points(swept):
    out, _ = swept
    result = json.loads((out / "partition_sweep.json").read_text())
    with open(out / "partition_sweep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [{k: POINT_KEYS[k](v) for k, v in r.items()} for r in rows] == result["points"]
    assert (out / "partition_sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_recorded_command_reproduces_the_sweep(swept, short_day, tmp_path):
    out, _ = swept
    result = json.loads((out / "partition_sweep.json").read_text())
    argv = shlex.split(result["command"])
    assert argv[0] == "scowl"
    args = build_parser().parse_args(argv[1:])
    assert (args.config, args.sizes, args.populations, args.window, args.out) == (short_day, list(SIZES), 9, None, str(out))
    # and running it again gives the same days (one size is enough): lockstep runs with many
    # fleets and populations are deterministic
    again, _ = run_sweep(args.config, [SIZES[-1]], tmp_path, populations=args.populations, window=args.window, echo=lambda _: None)
    first = next(p for p in result["points"] if p["peers_per_partition"] == SIZES[-1])
    assert {k: v for k, v in vars(again[0]).items() if k != "run_dir"} == {k: v for k, v in first.items() if k != "run_dir"}
