"""`scowl bench day`: a tiny day in scowl-node processes, measured per process and per role
(figures are printed, never asserted against a target here), and the energy-books check."""

from __future__ import annotations

import argparse
import json

import pytest

from scowl.bench import day


def _args(tmp_path, **kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    day.add_arguments(parser)
    ns = parser.parse_args([])
    ns.out = str(tmp_path / "run")
    for k, v in kw.items():
        setattr(ns, k, v)
    return ns


def test_a_day_in_processes_is_measured_per_process_and_per_role(tmp_path):
    args = _args(tmp_path, scale=0.005, ticks=4, processes=True, layout="actor")
    f = day.measure(args)
    assert f["layout"]["spec"] == "actor" and all(v == [k] for k, v in f["layout"]["processes"].items())
    names = {p["name"] for p in f["processes"]}
    assert {"bootstrap", "broker", "metronome", "fleet-0", "population-0", "tracker-0"} <= names
    # every actor ran to the end of the run and was reaped by us (exact CPU); the services were
    # stopped with SIGTERM once the metronome had written the results (scowl-node exits 128 + 15)
    codes = {p["name"]: p["returncode"] for p in f["processes"]}
    assert codes.pop("bootstrap") == codes.pop("broker") == 143
    assert set(codes.values()) == {0}, codes
    assert all(p["cpu_s"] > 0 and p["rss_peak_mb"] > 10 for p in f["processes"])
    assert f["rss_sum_mb"] == pytest.approx(sum(p["rss_peak_mb"] for p in f["processes"]), abs=0.5)
    assert f["cpu_s"] == pytest.approx(sum(r["cpu_s"] for r in f["roles"].values()), abs=0.1)
    assert set(f["roles"]) >= {"tracker", "generator", "consumer", "metronome", "broker", "bootstrap"}
    assert f["roles"]["tracker"]["processes"] == f["trackers"]
    assert f["ticks"] == 4 and f["consumers"] > 0
    # a tracker's or a population's process alone: its peak in bytes a consumer it held at that peak
    held = {p["name"]: p for p in f["processes"] if "rss_b_per_consumer" in p}
    assert set(held) == {f"tracker-{i}" for i in range(f["trackers"])} | {f"population-{i}" for i in range(f["populations"])}
    for p in held.values():
        assert p["consumers_at_peak"] > 0 and 0 <= p["peak_tick"] < f["ticks"]
        assert 0 < p["rss_b_per_consumer"] <= (p["rss_peak_mb"] + 0.1) * 2**20 / p["consumers_at_peak"]  # (a peak at that tick; MB rounded)
    # what the actors hold (and the figure divides by): every consumer and every fixed-load block, each held
    # as a consumer is (at scale 0.005: 44,491 consumers + 3,071 blocks; the populations hold all of them)
    assert f["fixed_load_blocks"] > 0
    assert sum(held[f"population-{i}"]["consumers_at_peak"] for i in range(f["populations"])) == f["consumers"] + f["fixed_load_blocks"]
    m = f["machine"]  # the machine's speed beside the figures (scowl.bench.speed)
    assert m["reference_s_before"] > 0 and m["reference_s_after"] > 0
    assert m["steal_pct"] is None or 0 <= m["steal_pct"] <= 100
    text = day.render(f)
    assert "machine speed: reference workload" in text
    assert "peak memory" in text and "tracker" in text and "B a consumer all-in" in text
    assert f"{f['consumers']:,} consumers (+ {f['fixed_load_blocks']:,} fixed-load blocks)" in text
    assert "consumers and fixed-load blocks it held then" in text


def test_grouped_actors_are_measured_per_process_and_the_layout_is_reported(tmp_path):
    f = day.measure(_args(tmp_path, scale=0.005, ticks=4, processes=True, layout="2"))
    layout = f["layout"]["processes"]
    assert f["layout"]["spec"] == "2" and list(layout) == ["node-0", "node-1"] == [p["name"] for p in f["processes"]]
    assert layout["node-0"][:3] == ["bootstrap", "broker", "metronome"]
    assert sorted(a for actors in layout.values() for a in actors) == sorted(
        ["bootstrap", "broker", "metronome", "fleet-0", "storage-0", *(f"tracker-{i}" for i in range(f["trackers"])),
         *(f"population-{i}" for i in range(f["populations"]))])
    # the services' process ends with the metronome's (it is told nothing else): every process exits 0
    assert [p["returncode"] for p in f["processes"]] == [0, 0]
    assert all(p["cpu_s"] > 0 and p["rss_peak_mb"] > 10 for p in f["processes"])
    text = day.render(f)
    assert "layout 2: 2 processes: node-0 (bootstrap, broker, metronome" in text
    assert all(f"{p['name']} " in text and ", ".join(p["actors"]) in text for p in f["processes"])


def test_books_against_another_summary(tmp_path):
    before = {"energy_mwh": {"demanded": 1000.0, "served": 990.0, "unserved": 10.0}}
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(before))
    same = day.books_against(before, str(path))
    assert same["holds"] and same["worst"] == 0.0
    # unserved is a small difference of large numbers: 0.5 MWh of 1000 demanded is within 0.1 %
    close = day.books_against({"energy_mwh": {"demanded": 1000.5, "served": 990.0, "unserved": 10.5}}, str(path))
    assert close["holds"], close
    off = day.books_against({"energy_mwh": {"demanded": 1000.0, "served": 985.0, "unserved": 15.0}}, str(path))
    assert not off["holds"] and off["served"]["relative"] == pytest.approx(-5 / 990)
