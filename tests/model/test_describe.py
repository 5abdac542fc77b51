"""`scowl describe` prints the grid, writes the PNG, and --json is one object."""

from __future__ import annotations

import json

from scowl.cli import main


def test_describe_small_json_and_png(tmp_path, capsys):
    png = tmp_path / "day.png"
    assert main(["describe", "small", "--json", "--png", str(png)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert png.stat().st_size > 10_000
    assert d["generators"]["count"] == sum(v["count"] for v in d["generators"]["by_type"].values())
    assert d["consumers"]["by_type"]["residential"] > 0 and d["storage"]["evs"] > 0
    assert d["demand"]["peak_time"] == "17:00"
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
