"""`build_report(run_dirs, out)`: load the inputs, answer the eight questions in the seed's order,
and write OUT/index.html, its PNGs and OUT/answers.json (the same answers, machine-readable)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from scowl.report import day, partition, repro, scale
from scowl.report.answer import Answer
from scowl.report.inputs import Inputs, load_inputs
from scowl.report.page import render
from scowl.report.seeds import load_days, seed_states


def answer_all(inputs: Inputs, out: Path) -> list[Answer]:
    loaded = load_days(inputs.days)  # a `--seeds` directory: every seed, answered as mean and 95 % interval
    seeds = seed_states(inputs.days, loaded)
    sw = inputs.sweeps[0] if inputs.sweeps else None
    answers = [
        scale.q1(sw, out) if sw else day.q1_days(inputs.healthy or inputs.partitioned, loaded, out, seeds),
        scale.q2(sw, out) if sw else scale.no_sweep(2, "naming the resource that binds first"),
        scale.q3(sw, out) if sw else scale.no_sweep(3, "the scale at which it binds"),
        day.q4(inputs.days, loaded, out, seeds),
        day.q5(inputs.days, loaded, out, seeds),
        scale.q6(sw, out) if sw else scale.no_sweep(6, "fitting one tracker's round cost against its consumers"),
        partition.q7(inputs.partitioned, loaded, out, seeds),
        partition.q8(inputs.partition_sweeps, out),
    ]
    if sw and inputs.days:  # a sweep answers Q1 at every scale; the day runs add their own rate
        extra = day.q1_days(inputs.healthy or inputs.partitioned, loaded, out, seeds)
        answers[0].details += [f"day run {d}" for d in extra.details]
        answers[0].figures += extra.figures
        answers[0].sources += extra.sources
        answers[0].values["days"] = extra.values["runs"]
    return answers


def build_report(run_dirs, out, command: str | None = None) -> dict:
    """Write the report; returns {"index": path, "answers": [...]} (what answers.json holds)."""
    inputs = load_inputs(run_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    answers = answer_all(inputs, out)
    command = command or shlex.join(["scowl", "report", *map(str, run_dirs), "--out", str(out)])
    doc = {"command": command, "inputs": repro.rows(inputs), "machines": repro.machines(inputs),
           "answers": [a.to_dict() for a in answers]}
    (out / "answers.json").write_text(json.dumps(doc, indent=1, default=str))
    (out / "index.html").write_text(render(answers, doc))
    return {"index": out / "index.html", **doc}
