"""Scenario files: the shipped ones load, and each kind of bad file fails naming file and key."""

from __future__ import annotations

import pytest

from scowl.config import default_scenario_path, load_scenario, override, packaged_scenarios, scenario_from_dict
from scowl.errors import ConfigError

SHIPPED = ("ny2030", "ny2022", "small", "small-partition", "ny2030-partition", "newyork")


def test_shipped_configs_all_load():
    found = packaged_scenarios()
    for name in SHIPPED:
        sc = load_scenario(found[name])
        assert sc.scenario.name == name
    assert default_scenario_path().name == "ny2030.toml"
    assert load_scenario(default_scenario_path()).ticks == 288


def test_partition_scenarios_have_a_tracker_partition():
    for name in ("small-partition", "ny2030-partition"):
        sc = load_scenario(packaged_scenarios()[name])
        (p,) = sc.network.partitions
        assert p.isolate == ("role:tracker",) and p.from_ == ("*",)
        assert 0 <= p.start_tick < p.end_tick <= sc.ticks


def test_ny2030_partition_covers_the_evening_ramp():
    sc = load_scenario(packaged_scenarios()["ny2030-partition"])
    p = sc.network.partitions[0]
    assert sc.tick_time(p.start_tick).hour == 17 and sc.tick_time(p.end_tick).hour == 19


def _write(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


BASE = '[scenario]\nname = "t"\n'


@pytest.mark.parametrize(
    "extra, key, expected_fragment",
    [
        ("colour = 3\n", "scenario.colour", "known keys"),
        ('seed = "forty-two"\n', "scenario.seed", "an integer"),
        ("seed = true\n", "scenario.seed", "an integer"),
        ("scale = 0.0\n", "scenario.scale", "(0, 1]"),
        ("scale = 1.5\n", "scenario.scale", "(0, 1]"),
        ("mix_year = 2025\n", "scenario.mix_year", "2022, 2030"),
        ('start = "25:00"\n', "scenario.start", "HH:MM"),
        ('date = "2030-02-30"\n', "scenario.date", "a date"),
        ("tick_seconds = 0\n", "scenario.tick_seconds", "[1, 3600]"),
        ("ticks = 10\nduration_hours = 2.0\n", "scenario.ticks", "not both"),
        ('[pacing]\nmode = "fast"\n', "pacing.mode", "'lockstep', 'realtime'"),
        ("[trackers]\ncount = 0\n", "trackers.count", "[1, 4096]"),
        ("[network]\nlatency_ms = -1\n", "network.latency_ms", "[0, 60000]"),
        ("[weather]\ncloudiness = 2\n", "weather.cloudiness", "[0, 1]"),
        ("[wether]\ncloudiness = 0.1\n", "wether", "sections"),
        ('[[network.partitions]]\nstart_tick = 1\nend_tick = 5\nisolate = ["rol:tracker"]\n', "network.partitions[0].isolate", "selectors"),
        ('[[network.partitions]]\nstart_tick = 1\nend_tick = 5\nisolate = ["*"]\nfrom = ["region:north"]\n', "network.partitions[0].from", "selectors"),
        ('[[network.partitions]]\nstart_tick = 5\nend_tick = 5\nisolate = ["*"]\n', "network.partitions[0].end_tick", "> start_tick"),
        ('[[network.partitions]]\nstart_tick = 5\nend_tick = 999\nisolate = ["*"]\n', "network.partitions[0].end_tick", "<= the run's ticks (288)"),
        ('[[network.partitions]]\nstart_tick = 5\nend_tick = 9\nisolate = ["*"]\nwhen = 1\n', "network.partitions[0].when", "known keys"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, extra, key, expected_fragment):
    text = BASE + extra if not extra.startswith("[") else BASE + extra
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    err = info.value
    assert err.path == str(path) and err.key == key, str(err)
    assert str(path) in str(err) and f"'{key}'" in str(err)
    assert expected_fragment in err.expected, err.expected


def test_missing_name_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="scenario.name"):
        scenario_from_dict({"scenario": {}}, source="x.toml")
    with pytest.raises(ConfigError, match="no such file"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_scenario(_write(tmp_path, "[scenario\n"))


def test_good_selectors_and_types_accepted():
    sc = scenario_from_dict({
        "scenario": {"name": "t", "scale": 1, "ticks": 12},
        "network": {"partitions": [{"start_tick": 0, "end_tick": 12, "isolate": ["role:tracker", "host:node-1", "region:3", "peer:gen-7"], "from": ["*"]}]},
    })
    assert sc.scenario.scale == 1.0 and isinstance(sc.scenario.scale, float)
    assert sc.ticks == 12


def test_override_revalidates():
    sc = load_scenario(default_scenario_path())
    assert override(sc, {"scenario.scale": 1.0}).scenario.scale == 1.0
    with pytest.raises(ConfigError, match="scenario.scale"):
        override(sc, {"scenario.scale": 2.0})
    with pytest.raises(AttributeError):
        sc.scenario.scale = 0.5  # frozen


def test_newyork_is_ny2030_at_full_scale_and_states_only_that():
    found = packaged_scenarios()
    whole, part = load_scenario(found["newyork"]), load_scenario(found["ny2030"])
    assert whole.scenario.scale == 1.0 and part.scenario.scale == 0.05
    assert override(part, {"scenario.scale": 1.0, "scenario.name": "newyork"}).to_dict() == whole.to_dict()


def test_extends_merges_table_by_table_and_keeps_the_base_series_relative_to_the_base(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "load.csv").write_text("hour,total_mw\n0,1\n")
    (tmp_path / "base" / "base.toml").write_text('[scenario]\nname = "b"\nseed = 7\nscale = 0.01\n[series]\nload = "load.csv"\n')
    (tmp_path / "child.toml").write_text('extends = "base/base.toml"\n[scenario]\nname = "c"\nscale = 0.02\n')
    sc = load_scenario(tmp_path / "child.toml")
    assert (sc.scenario.name, sc.scenario.seed, sc.scenario.scale) == ("c", 7, 0.02)
    assert sc.series.load == str((tmp_path / "base" / "load.csv").resolve())
    packaged = tmp_path / "p.toml"
    packaged.write_text('extends = "small"\n[trackers]\ncount = 3\n')
    assert load_scenario(packaged).trackers.count == 3 and load_scenario(packaged).scenario.name == "small"


@pytest.mark.parametrize("text, expected", [
    ('extends = 3\n[scenario]\nname = "x"\n', "a string"),
    ('extends = "no-such-scenario"\n[scenario]\nname = "x"\n', "packaged scenario name"),
    ('extends = "loop.toml"\n[scenario]\nname = "x"\n', "no cycle"),
])
def test_a_bad_extends_names_the_file_and_the_key(tmp_path, text, expected):
    f = tmp_path / "loop.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=expected) as err:
        load_scenario(f)
    assert str(f) in str(err.value) and "extends" in str(err.value)
