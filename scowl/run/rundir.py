"""The run directory: refused or replaced (`--force`) before a run, the run's inputs kept in it
(scenario.toml, inputs.json with sha256 of the scenario and data files), and what a run that
ended early left there."""

from __future__ import annotations

import hashlib
import importlib.resources
import shutil
from pathlib import Path

from scowl.config import scenario_toml
from scowl.errors import UsageError
from scowl.statelog import atomic_write_json, atomic_write_text

#: files that mark a directory as a run directory (what --force may replace)
RUN_MARKERS = ("plan.json", "summary.json", "state.parquet", "state.journal.arrows", "inputs.json")


def prepare_run_dir(out: Path, force: bool) -> None:
    """Refuse an existing non-empty run directory unless `force`; with `force` replace it
    whole, but only when it is a run directory (never a checkout or a home by a typo)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out}: expected a directory, found a file")
    entries = list(out.iterdir())
    if not entries:
        return
    if not force:
        raise UsageError(f"--out {out}: the directory exists and is not empty ({len(entries)} entries); "
                         "choose another directory, or pass --force to replace it whole")
    if not any((out / m).exists() for m in RUN_MARKERS):
        raise UsageError(f"--out {out}: not a run directory (none of {', '.join(RUN_MARKERS)}); "
                         "--force replaces only run directories: choose another --out")
    shutil.rmtree(out)


def data_hashes() -> dict[str, str]:
    """sha256 of every packaged data file the models read (scowl.data)."""

    root = importlib.resources.files("scowl.data")
    return {e.name: hashlib.sha256(e.read_bytes()).hexdigest()
            for e in sorted(root.iterdir(), key=lambda e: e.name) if e.name.endswith(".csv")}


def store_inputs(out: Path, scenario, origin: str) -> Path:
    """The run's inputs, kept in the run directory so analysis never re-reads the live TOML:
    scenario.toml (the resolved scenario, every default spelled out, read back identically),
    inputs.json (where it came from, and sha256 of the scenario and of each data file).
    Returns the stored scenario's path."""
    text = scenario_toml(scenario)
    stored = out / "scenario.toml"
    atomic_write_text(stored, text)
    atomic_write_json(out / "inputs.json", {
        "scenario": {"origin": origin, "stored": stored.name, "sha256": hashlib.sha256(text.encode()).hexdigest()},
        "data": data_hashes(),
    })
    return stored


def where_results(out: Path) -> str:
    """Where the results of a run that ended early are, for its error message."""
    if (out / "summary.json").is_file():
        return f"partial results in {out}/ (summary.json marked partial, state.parquet)"
    if (out / "state.journal.arrows").is_file():
        return f"the ticks flushed before it are in {out}/state.journal.arrows (scowl.statelog.read_state_log reads them)"
    return f"nothing was recorded in {out}/"
