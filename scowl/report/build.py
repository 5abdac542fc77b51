"""`build_report(run_dirs, out)`: load the inputs, answer the eight questions in the seed's order,
and write OUT/index.html, its PNGs and OUT/answers.json (the same answers, machine-readable)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from scowl.analysis.dayseries import day_series
from scowl.report import day, partition, repro, scale
from scowl.report.answer import Answer
from scowl.report.inputs import Inputs, load_inputs
from scowl.report.page import render

#: the figures each day question reports over seeds, as mean and 95 % interval
SEED_FIGURES = {
    4: ("starvation.consumers_starved", "starvation.mean_starved_s", "starvation.longest_spell_s", "energy_mwh.unserved"),
    5: ("blackouts.events", "blackouts.generator_ticks", "blackouts.consumers_affected", "energy_mwh.served"),
}


def add_intervals(answer: Answer, seeds, keys) -> None:
    """One detail line and answers.json values: each figure's mean and 95 % t-interval over the seeds."""
    from scowl.stats import Interval, fmt_bound, fmt_interval, intervals_json, summary_intervals

    ivs = summary_intervals(seeds.summaries)
    got = {k: v for k in keys if isinstance(v := ivs.get(k), Interval)}
    if not got:
        return
    def name(k: str) -> str:
        section, key = k.split(".", 1)
        unit = " (MWh)" if section == "energy_mwh" else " (s)" if key.endswith("_s") else ""
        return key.removesuffix("_s").replace("_", " ") + unit
    text = "; ".join(f"{name(k)} {fmt_interval(v)} [{fmt_bound(v.low)}, {fmt_bound(v.high)}]" for k, v in got.items())
    answer.details.append(f"over {len(seeds.summaries)} seeds of {seeds.label} (mean ± half-width, [95 % t-interval]): {text}")
    answer.values.setdefault("seeds", {})[seeds.label] = intervals_json(got)
    answer.sources.append(str(seeds.path))


def answer_all(inputs: Inputs, out: Path) -> list[Answer]:
    loaded = {r.label: (r.state(), day_series(r.path)) for r in inputs.days}
    sw = inputs.sweeps[0] if inputs.sweeps else None
    answers = [
        scale.q1(sw, out) if sw else day.q1_days(inputs.healthy or inputs.partitioned, loaded, out),
        scale.q2(sw, out) if sw else scale.no_sweep(2, "naming the resource that binds first"),
        scale.q3(sw, out) if sw else scale.no_sweep(3, "the scale at which it binds"),
        day.q4(inputs.days, loaded, out),
        day.q5(inputs.days, loaded, out),
        scale.q6(sw, out) if sw else scale.no_sweep(6, "fitting one tracker's round cost against its consumers"),
        partition.q7(inputs.partitioned, loaded, out),
        partition.q8(inputs.partition_sweeps, out),
    ]
    for seeds in inputs.seed_sets:  # a stochastic day's answers as ranges over its seeds
        add_intervals(answers[3], seeds, SEED_FIGURES[4])
        add_intervals(answers[4], seeds, SEED_FIGURES[5])
    if sw and inputs.days:  # a sweep answers Q1 at every scale; the day runs add their own rate
        extra = day.q1_days(inputs.healthy or inputs.partitioned, loaded, out)
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
