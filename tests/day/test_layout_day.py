"""Grouped actors, real processes: the small day with actors of different roles sharing
`scowl-node` processes (scowl.run.layout) over ipc with CURVE keys gives the same day as every
actor in one process; a process of the layout is started by its name."""

from __future__ import annotations

import json

from summaries import strip_wall  # tests/fixtures/summaries.py

from scowl.run import run_scenario


def test_actors_grouped_in_two_processes_give_the_same_day(small_run, tmp_path):
    _, first = small_run
    out = tmp_path / "grouped"
    grouped = run_scenario("configs/small.toml", str(out), processes=True, transport="ipc", show_progress=False, layout="2")
    plan = json.loads((out / "plan.json").read_text())
    assert len(plan["layout"]) == 2 and plan["layout"][0][:3] == ["bootstrap", "broker", "metronome"]
    for group in plan["layout"]:  # actors of several roles share each process
        assert len({name.split("-")[0] for name in group}) >= 2, plan["layout"]
    for i in range(2):  # one trace log per process, named after it (each process says its pid once)
        assert (out / f"trace-node-{i}.log").read_text().count(f"node-{i}: scowl-node pid") == 1
    assert not (out / "trace-tracker-0.log").exists()
    assert strip_wall(grouped) == strip_wall(first)  # the books do not change with the layout
