"""The Python API as a notebook uses it: inside a running event loop, twice in one process,
with no global side effects, and tidy tables out."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import matplotlib
import pandas as pd
import pytest
from shared_runs import CUT_HEARTBEAT_S  # tests/fixtures/shared_runs.py

import scowl
from scowl.tidy import TABLES, column_docs

SHORT = {"ticks": 8}


def _trace_lines(run, text: str) -> list[str]:
    return [line for line in (run.dir / "trace-run.log").read_text().splitlines() if text in line]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """scowl.run twice from inside a running event loop (as a Jupyter cell is), and what the
    process looked like before and after."""
    out = tmp_path_factory.mktemp("api")
    before = {"policy": type(asyncio.get_event_loop_policy()), "backend": matplotlib.get_backend(),
              "handlers": list(logging.getLogger("scowl").handlers)}

    async def cell():
        loop = asyncio.get_running_loop()
        a = scowl.run(scowl.load_scenario("small", **SHORT), out / "a")
        # the partitioned day with a short heartbeat: the same figures, a third of the wait (CUT_HEARTBEAT_S)
        b = scowl.run(scowl.load_scenario("small-partition", ticks=26, seed=8, response__heartbeat_timeout_s=CUT_HEARTBEAT_S),
                      out / "b")
        assert asyncio.get_running_loop() is loop  # the caller's loop was never replaced
        return a, b

    a, b = asyncio.run(cell())
    after = {"policy": type(asyncio.get_event_loop_policy()), "backend": matplotlib.get_backend(),
             "handlers": list(logging.getLogger("scowl").handlers)}
    return a, b, before, after


def test_two_runs_in_a_running_loop_are_independent(two_runs):
    a, b, _, _ = two_runs
    assert isinstance(a, scowl.Run) and isinstance(b, scowl.Run) and a.dir != b.dir
    assert a.summary["scenario"] == "small" and a.summary["ticks"] == 8 and a.summary["seed"] == 7
    assert b.summary["scenario"] == "small-partition" and b.summary["ticks"] == 26 and b.summary["seed"] == 8
    assert "partition" in b.summary and "partition" not in a.summary


def test_each_run_has_its_own_trace_log(two_runs):
    a, b, _, _ = two_runs
    # each run's fleet announces its generator ids once; a leaked handler would log b's into a's file
    assert len(_trace_lines(a, "fleet-0: generator ids")) == 1
    assert len(_trace_lines(b, "fleet-0: generator ids")) == 1
    assert _trace_lines(a, "fleet-0: generator ids") != _trace_lines(b, "fleet-0: generator ids")


def test_no_global_side_effects(two_runs):
    _, _, before, after = two_runs
    assert after["policy"] is before["policy"]  # no uvloop policy installed for the process
    assert after["handlers"] == before["handlers"]  # the trace-log handlers went with their runs
    assert after["backend"] == before["backend"]


@pytest.mark.parametrize("role", TABLES)
def test_every_role_table_is_tidy(two_runs, role):
    _, b, _, _ = two_runs  # the partitioned day has every table
    df = b.state(role)
    assert len(df) and "time" in df.columns
    assert isinstance(df["time"].dtype, pd.DatetimeTZDtype) and str(df["time"].dt.tz) == "America/New_York"
    assert df["time"].iloc[0] == pd.Timestamp("2030-07-17 15:00", tz="America/New_York")
    empty = [c for c in df.columns if df[c].isna().all()]
    assert not empty, f"{role}: entirely empty columns {empty}"
    for c in df.columns:
        assert c == c.lower() and " " not in c and ":" not in c, c  # snake_case, no values in names
    assert df["tick"].dtype == "int64"
    docs = column_docs(b.dir / "tables" / f"{role}.parquet")
    assert all(docs[c][1] and "undocumented" not in docs[c][1] for c in df.columns), docs


def test_counts_are_integers_and_per_type_values_are_rows(two_runs):
    _, b, _, _ = two_runs
    gen = b.state("generator")
    assert gen["generators_blacked_out"].dtype == "int64" and gen["tree_members"].dtype == "int64"
    assert b.state("consumer")["consumers_starved"].dtype == "int64"
    by_type = b.state("supply_by_type")
    assert {"natural gas-fired", "nuclear", "EV storage"} <= set(by_type["type"])
    assert set(b.state("blackouts_by_region")["region"]) == {"tracker-0", "tracker-1"}
    # the long table adds up to the fleet's own total
    total = by_type[by_type["actor"] == "fleet-0"].groupby("tick")["available_mw"].sum()
    assert total.to_numpy() == pytest.approx(gen.set_index("tick")["available_mw"].to_numpy())


def test_state_without_a_role_is_one_long_table(two_runs):
    a, _, _, _ = two_runs
    long = a.state()
    assert list(long.columns) == ["time", "tick", "role", "actor", "variable", "value", "unit"]
    served = long[(long["role"] == "consumer") & (long["variable"] == "served_mw")]
    assert served["value"].sum() * 300 / 3600 == pytest.approx(a.summary["energy_mwh"]["served"])
    assert set(served["unit"]) == {"MW"}


def test_a_scenario_is_immutable_and_replace_validates():
    sc = scowl.load_scenario("small")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.scenario.scale = 1.0  # type: ignore[misc]
    assert sc.replace(scale=0.001).scenario.scale == 0.001 and sc.scenario.scale == 0.0004
    assert sc.replace({"trackers.count": 3}).trackers.count == 3
    with pytest.raises(scowl.ConfigError, match="scenario.scale"):
        sc.replace(scale=2.0)
    with pytest.raises(scowl.ConfigError, match="no_such_key"):
        scowl.load_scenario("small", no_such_key=1)


def test_plot_day_returns_a_figure_of_both_days(two_runs, tmp_path):
    from matplotlib.figure import Figure

    a, b, _, _ = two_runs
    fig = a.plot_day(b)
    assert isinstance(fig, Figure) and len(fig.axes) == 5
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("small-partition" in t for t in labels) and any(t.startswith("small:") for t in labels)
    fig.savefig(tmp_path / "day.png")
    assert (tmp_path / "day.png").stat().st_size > 10_000


def test_open_run_reads_a_directory_back(two_runs):
    a, _, _, _ = two_runs
    again = scowl.open_run(a.dir)
    assert again.summary == a.summary and again.scenario.ticks == 8
    assert a.consumers() is None or len(a.consumers())  # a per-consumer table only where the run wrote one
    with pytest.raises(scowl.UsageError, match="role"):
        a.state("no-such-role")


def test_importing_and_plotting_switch_no_matplotlib_backend(tmp_path):
    import subprocess
    import sys

    code = ("import matplotlib, scowl; from scowl.report.plots_day import day_figure; import scowl.analysis.compare, "
            "scowl.analysis.dayseries, scowl.tidy, scowl.report.plots, scowl.report.figures, scowl.sweep.partition, "
            "scowl.commands.describe, scowl.api; "
            "print(matplotlib.get_backend())")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "MPLBACKEND": "svg"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "svg"


def test_days_of_different_sizes_are_drawn_per_consumer(two_runs):
    from scowl.report.plots_day import DayRun, day_figure

    a, _, _, _ = two_runs
    day = a.day()
    same = day_figure([DayRun("a", day, consumers=3559, scale=0.0004), DayRun("b", day, consumers=3559, scale=0.0004)])
    assert same.axes[0].get_ylabel() == "MW (grid at scale 0.0004)"
    big = day.copy()
    mw = [c for c in day.columns if c.endswith("_mw")]
    big[mw] = day[mw] * 100
    mixed = day_figure([DayRun("small", day, consumers=3559), DayRun("big", big, consumers=355_900)])
    assert mixed.axes[0].get_ylabel() == "kW per consumer"
    lines = mixed.axes[0].get_lines()  # the same day at 100x the consumers draws the same per-consumer curve
    assert lines[0].get_ydata()[5] == pytest.approx(lines[1].get_ydata()[5])


def test_a_day_over_seeds_is_drawn_as_its_mean_with_a_95_percent_band(two_runs):
    from scowl.api import Runs
    from scowl.report.plots_day import DayRun, day_figure
    from scowl.stats import band_frame

    a, _, _, _ = two_runs
    day = a.day()
    other = day.copy()
    other["served_mw"] = day["served_mw"] + 2.0  # a second seed that served 2 MW more every tick
    both = band_frame([day, other], [c for c in day.columns if c.endswith("_mw")])
    fig = day_figure([DayRun("small", both, scale=0.0004)])
    served = fig.axes[2]
    (poly,) = [c for c in served.collections if "95 %" in str(c.get_label())]
    assert poly.get_label() == "small: served, 95 % interval over 2 seeds"
    ys = poly.get_paths()[0].vertices[:, 1]
    assert ys.max() == pytest.approx(both["served_mw_high"].max()) and ys.min() == pytest.approx(both["served_mw_low"].clip(lower=0).min())
    assert list(served.get_lines()[0].get_ydata()) == pytest.approx(list(day["served_mw"] + 1.0))  # the mean
    # the API's Runs draws its seeds the same way
    runs_fig = Runs((a, scowl.open_run(a.dir))).plot_day()
    labels = [t.get_text() for t in runs_fig.axes[0].get_legend().get_texts()]
    assert "small (mean of 2 seeds): demand, 95 % interval over 2 seeds" in labels


def test_a_layout_reaches_every_seed_s_run(tmp_path):
    """`layout` (and `scowl run --seeds N --layout`) is passed to each seed's run, not dropped:
    without --processes each run refuses it, as a single run does."""
    with pytest.raises(scowl.UsageError, match="--layout"):
        scowl.run("small", tmp_path / "seeds", seeds=2, layout="2")
