"""Every data file names its source and how its numbers were derived; the assumptions the
default day's stress rests on say why that value and how much the day moves with it."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
CSVS = sorted(DATA.glob("*.csv"))


def _header(p: Path) -> str:
    lines = p.read_text(encoding="utf-8").splitlines()
    return "\n".join(ln for ln in lines if ln.startswith("#"))


def test_there_are_data_files():
    assert len(CSVS) >= 15


@pytest.mark.parametrize("path", CSVS, ids=lambda p: p.name)
def test_each_csv_names_its_source_and_the_readme_lists_it(path):
    head = _header(path)
    assert path.read_text(encoding="utf-8").startswith("#"), f"{path.name}: starts without its '#' source header"
    assert "source" in head.lower(), f"{path.name}: the header names no source"
    assert f"`{path.name}`" in (DATA / "README.md").read_text(encoding="utf-8"), f"data/README.md does not list {path.name}"


@pytest.mark.parametrize("name", ["stress.csv", "outage_rates.csv"])
def test_the_stress_assumptions_say_why_and_how_sensitive(name):
    head = _header(DATA / name).lower()
    assert "assumption" in head and "why" in head and "sensitivity" in head
