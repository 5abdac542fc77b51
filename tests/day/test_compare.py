"""`scowl compare` and the day series it plots, on two real small runs (the healthy day and
its partitioned twin): the curves add up to the summaries, the table shows every figure of
both with the right difference, and the plots are real PNGs."""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from scowl.analysis.compare import compare_rows, compare_table, flatten
from scowl.analysis.dayseries import COLUMNS, day_series
from scowl.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(params=["small_run", "partition_run"])
def any_run(request):
    return request.getfixturevalue(request.param)


def test_day_series_adds_up_to_the_summary_energy(any_run):
    out, summary = any_run
    s = day_series(out)
    assert tuple(s.columns) == COLUMNS
    assert len(s) == summary["ticks"] and s["tick"].tolist() == list(range(summary["ticks"]))
    h = summary["tick_seconds"] / 3600.0
    e = summary["energy_mwh"]
    assert s["demand_mw"].sum() * h == pytest.approx(e["demanded"], rel=1e-9)
    assert s["served_mw"].sum() * h == pytest.approx(e["served"], rel=1e-9)
    assert s["generated_mw"].sum() * h == pytest.approx(e["generated"], rel=1e-9)
    assert s["unserved_mw"].sum() * h == pytest.approx(e["unserved"], rel=1e-9)
    deferred = summary.get("partition", {}).get("deferred_mwh", 0.0)
    assert s["deferred_mw"].sum() * h == pytest.approx(deferred, rel=1e-9, abs=1e-12)
    assert s["starved_mw"].max() == pytest.approx(summary["starvation"]["peak_starved_mw"], rel=1e-9)
    assert ((s["blackout_mw"] > 0).sum() > 0) == (summary["blackouts"]["generator_ticks"] > 0)
    # tick 0 at the scenario's start (15:00 local), one tick apart
    assert s["time"].iloc[0] == pd.Timestamp("2030-07-17 15:00", tz="America/New_York")
    assert (s["time"].diff().dropna() == pd.Timedelta(seconds=summary["tick_seconds"])).all()
    assert s["hour"].iloc[0] == 15.0


def test_day_series_of_a_state_frame_is_that_of_its_directory(partition_run):
    out, _ = partition_run
    from_dir = day_series(out)
    from_frame = day_series(pd.read_parquet(out / "state.parquet"))  # no start: time since tick 0
    assert from_frame["time"].iloc[3] == pd.Timedelta(minutes=15)
    cols = [c for c in COLUMNS if c not in ("time", "hour")]
    pd.testing.assert_frame_equal(from_dir[cols], from_frame[cols])


def test_twin_days_have_the_same_demand_and_the_partition_defers_some(small_run, partition_run):
    a, b = day_series(small_run[0]), day_series(partition_run[0])
    np.testing.assert_array_equal(a["demand_mw"], b["demand_mw"])
    assert a["deferred_mw"].sum() == 0 and b["deferred_mw"].sum() > 0
    window = (b["tick"] >= 12) & (b["tick"] < 24)
    assert b.loc[~window & (b["tick"] < 12), "deferred_mw"].sum() == 0  # nothing deferred before the cut


@pytest.fixture(scope="module")
def compared(small_run, partition_run, tmp_path_factory):
    """`scowl compare` of the healthy and the partitioned day, run once: (out dir, stdout)."""
    out = tmp_path_factory.mktemp("compare")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["compare", str(small_run[0]), str(partition_run[0]), "--out", str(out)]) == 0
    return out, printed.getvalue()


def _row(table: str, key: str) -> list[str]:
    for line in table.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == key:
            return cells
    raise AssertionError(f"no row {key!r} in the table")


def test_compare_prints_every_figure_of_both_runs_with_the_difference(small_run, partition_run, compared):
    (dir_a, sa), (dir_b, sb) = small_run, partition_run
    out, printed = compared
    table = (out / "compare.txt").read_text()
    assert table.strip() in printed
    head = table.splitlines()[0].split()
    assert head[:3] == ["figure", sa["scenario"], sb["scenario"]]
    fa, fb = flatten(sa), flatten(sb)
    for key in set(fa) | set(fb):
        _row(table, key)  # every figure of either summary has its row
    # the numbers are the summaries' (read back from the file, not from memory)
    ja = json.loads((dir_a / "summary.json").read_text())
    jb = json.loads((dir_b / "summary.json").read_text())
    events = _row(table, "blackouts.events")
    assert events[1:3] == [f"{ja['blackouts']['events']:,}", f"{jb['blackouts']['events']:,}"]
    d = jb["blackouts"]["events"] - ja["blackouts"]["events"]
    assert events[3].split(" ")[0] == ("=" if d == 0 else f"{d:+,}")
    served = _row(table, "energy_mwh.served")
    assert float(served[1].replace(",", "")) == pytest.approx(ja["energy_mwh"]["served"], abs=0.005)
    assert float(served[2].replace(",", "")) == pytest.approx(jb["energy_mwh"]["served"], abs=0.005)
    diff = jb["energy_mwh"]["served"] - ja["energy_mwh"]["served"]
    assert float(served[3].split(" ")[0].replace(",", "")) == pytest.approx(diff, rel=1e-3, abs=0.005)
    assert _row(table, "partition.deferred_mwh")[1:] == ["-", f"{jb['partition']['deferred_mwh']:,.2f}", "only in B"]
    for row in compare_rows(ja, jb):
        if row.diff is not None:
            assert row.diff == row.b - row.a


def test_compare_writes_a_png_per_panel_and_an_overview(compared):
    import matplotlib.image

    out, printed = compared
    assert str(out / "day.png") in printed
    names = {"day", "demand", "supply", "served", "deferred", "starved"}
    assert {p.stem for p in out.glob("*.png")} == names
    for name in names:
        path = out / f"{name}.png"
        assert path.read_bytes()[:8] == PNG_MAGIC
        img = matplotlib.image.imread(path)
        assert img.shape[0] > 300 and img.shape[1] > 800
        assert img[..., :3].std() > 0.05  # something is drawn, not a blank canvas


def test_compare_names_the_missing_file(small_run, tmp_path, capsys):
    empty = tmp_path / "not-a-run"
    empty.mkdir()
    assert main(["compare", str(small_run[0]), str(empty), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert str(empty / "summary.json") in err and "scowl run --out" in err


def test_compare_table_marks_figures_of_one_run_only():
    table = compare_table({"a": {"x": 1, "y": 2.5}}, {"a": {"x": 3}, "b": 7}, "left", "right")
    assert _row(table, "a.x")[1:] == ["1", "3", "+2 (+200%)"]
    assert _row(table, "a.y")[1:] == ["2.50", "-", "only in A"]
    assert _row(table, "b")[1:] == ["-", "7", "only in B"]
