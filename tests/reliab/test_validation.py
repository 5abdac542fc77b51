"""Bad input is refused before anything runs: NaN/inf anywhere in a scenario, impossible
combinations, negative counts on the command line, too few file descriptors for the sockets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scowl.config import load_scenario, override
from scowl.errors import ConfigError
from scowl.limits import check_sockets, raise_fd_limit

SMALL = "configs/small.toml"


@pytest.mark.parametrize("section,key,line", [
    ("scenario", "safety_threshold", "safety_threshold = 0.10"),
    ("scenario", "scale", "scale = 0.0004"),
    ("pacing", "factor", "factor = 1.0"),
    ("network", "latency_ms", "latency_ms = 1.0"),
])
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_refused_naming_file_and_key(tmp_path, section, key, line, bad):
    from pathlib import Path

    text = Path(SMALL).read_text()
    assert line in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(line, f"{key} = {bad}"))
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert err.value.path == str(path) and err.value.key == f"{section}.{key}"
    assert "finite" in str(err.value)


@pytest.mark.parametrize("key", ["weather.cloudiness", "generation.nuclear_factor", "storage.ev_charge_kw",
                                 "response.heartbeat_timeout_s", "weather.cloud_correlation_minutes"])
def test_nan_in_every_section_the_issue_named(key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.") + ".*finite"):
        override(load_scenario(SMALL), {key: float("nan")})


def test_impossible_combinations_are_refused():
    base = load_scenario(SMALL)
    with pytest.raises(ConfigError, match="scenario.scale.*at least one consumer"):
        override(base, {"scenario.scale": 1e-9})
    with pytest.raises(ConfigError, match="storage.ev_departure_hour"):
        override(base, {"storage.ev_arrival_hour": 7.5, "storage.ev_departure_hour": 7.5})


@pytest.mark.parametrize("argv,flag", [
    (["run", SMALL, "--populations", "-3"], "--populations"),
    (["run", SMALL, "--populations", "0"], "--populations"),
    (["sweep", SMALL, "--trackers", "-1"], "--trackers"),
    (["sweep", SMALL, "--scales", "nan"], "--scales"),
    (["partition-sweep", SMALL, "--sizes", "-2", "--out", "x"], "--sizes"),
])
def test_negative_counts_on_the_command_line_exit_2(argv, flag):
    proc = subprocess.run([sys.executable, "-m", "scowl", *argv], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert flag in proc.stderr and "expected" in proc.stderr


def test_fd_limit_is_raised_and_shortage_is_said():
    import resource

    soft, _hard = raise_fd_limit()
    assert soft == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert check_sockets(10, "this run") is None
    msg = check_sockets(10**7, "a run of 50 trackers in one process")
    assert msg is not None and "ulimit -n" in msg and "50 trackers" in msg


def test_a_low_soft_fd_limit_is_lifted_to_the_hard_one():
    code = ("import resource; s,h=resource.getrlimit(resource.RLIMIT_NOFILE); resource.setrlimit(resource.RLIMIT_NOFILE,(256,h));"
            "from scowl.limits import raise_fd_limit; print(raise_fd_limit()[0] == h or h == resource.RLIM_INFINITY)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "True"
