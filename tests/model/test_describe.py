"""`scowl describe` prints the grid, writes the PNG, and --json is one object."""

from __future__ import annotations

import json

import pytest

from scowl.cli import main


def test_describe_small_json_and_png(tmp_path, capsys):
    png = tmp_path / "day.png"
    assert main(["describe", "small", "--json", "--png", str(png)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert png.stat().st_size > 10_000
    assert d["generators"]["count"] == sum(v["count"] for v in d["generators"]["by_type"].values())
    assert d["consumers"]["by_type"]["residential"] > 0 and d["storage"]["evs"] > 0
    assert "15:00" <= d["demand"]["peak_time"] <= "18:00"  # NYISO's summer shape is flat from 15:00 to 17:00
    ti = d["tightest"]
    assert ti["demand_mw"] - ti["usable_mw"] == pytest.approx(-ti["margin_mw"]) and ti["reasons"]
    assert set(d["generators"]["by_type"]) == {t for t, v in d["generators"]["by_type"].items() if v["count"] > 0}
    assert d["consumers"]["bytes_per_consumer"] <= 64


def test_describe_table(tmp_path, capsys):
    assert main(["describe", "small", "--no-png"]) == 0
    out = capsys.readouterr().out
    for word in ("natural gas-fired", "distributed solar", "residential", "EVs", "peak demand", "capacity margin"):
        assert word in out


def test_describe_bad_config_is_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nscale = 7\n')
    assert main(["describe", str(bad), "--no-png"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "scenario.scale" in err


def test_describe_default_day_names_where_it_is_tightest_and_why(capsys):
    """The default day is short at the safety threshold in some ticks, for stated reasons."""
    assert main(["describe", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    ti = d["tightest"]
    assert ti["ticks_short"] > 0 and ti["margin_mw"] < 0
    text = " ".join(ti["reasons"])
    for word in ("heat wave", "retirements", "tripped", "calm evening", "solar"):
        assert word in text, word
    assert d["scenario"]["stress"] == {"forced_outages": True, "heat_wave": True, "low_wind_evening": True,
                                       "retirements": True, "trip_largest_at": "19:00"}
    assert set(d["zones"]["load_mw"]) == set("ABCDEFGHIJK")
