"""`scowl validate`: the acceptance figures hold at scale 1.0 for 2022 (capacity by type within
5 %, July land-wind CF and ramps, summer weekday min/peak, a January weekday's peak), the notebook
fleet fails the capacity checks it should fail, and --json is one object."""

from __future__ import annotations

import json

from scowl.cli import main
from scowl.commands.validate import validate
from scowl.config import load_scenario, override, packaged_scenarios


def _rows(sc, days=6):
    return {r.check: r for r in validate(sc, days=days)}


def test_2022_at_full_scale_passes_every_check(capsys):
    assert main(["validate", "ny2022", "--scale", "1.0", "--days", "6"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out
    for word in ("capacity nuclear, MW", "energy share natural gas-fired", "min/peak (summer weekday)",
                 "land-based wind one-hour change p99", "solar output while the sun is down"):
        assert word in out


def test_january_weekday_peak_is_the_winter_peak_in_the_early_evening():
    sc = override(load_scenario(packaged_scenarios()["ny2022"]), {"scenario.scale": 1.0, "scenario.date": "2022-01-19"})
    rows = _rows(sc, days=3)
    peak = rows["peak load, MW (scale 1.0)"]
    assert peak.result == "PASS" and abs(float(peak.value.replace(",", "")) - 25_275) / 25_275 < 0.03
    assert rows["peak hour (local)"].result == "PASS" and 17.0 <= float(rows["peak hour (local)"].value) <= 19.0
    assert rows["min/peak (winter weekday)"].result == "PASS"


def test_notebook_fleet_fails_the_capacity_checks_and_json_is_one_object(capsys):
    sc = override(load_scenario(packaged_scenarios()["ny2022"]), {"scenario.scale": 1.0, "generation.fleet_method": "notebook"})
    rows = _rows(sc, days=2)
    assert rows["capacity nuclear, MW"].result == "FAIL"  # the energy-share split's 7,605 MW
    assert rows["capacity natural gas-fired, MW"].result == "PASS" or rows["capacity pumped storage, MW"].result == "FAIL"
    assert main(["validate", "small", "--json", "--days", "1"]) in (0, 1)
    d = json.loads(capsys.readouterr().out)
    assert d["rows"] and {"check", "value", "expected", "source", "result"} <= set(d["rows"][0])
