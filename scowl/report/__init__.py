"""Presentation: what a person reads.

`scowl report` builds one HTML page that answers the seed's eight evaluation questions from day
runs, scale sweeps and partition-size sweeps, with the plot, the runs and the command behind
each (answer, build, inputs, day, partition, scale, figures, repro). Beside it: PNG plots of a
scale sweep (plots) and of days over local time (plots_day), and text tables of summaries
(text) and of sweeps (sweep_table).

The page's entry points load on first use, so importing one plotting module does not load the
whole page builder (and its matplotlib backend choice)."""

from __future__ import annotations

from typing import Any

__all__ = ["QUESTIONS", "Answer", "Inputs", "answer_all", "build_report", "load_inputs"]

_HOME = {"QUESTIONS": "answer", "Answer": "answer", "answer_all": "build", "build_report": "build",
         "Inputs": "inputs", "load_inputs": "inputs"}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'scowl.report' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"scowl.report.{module}"), name)
