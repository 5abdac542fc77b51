"""`scowl bench speed` and the machine-speed facts `scowl bench day` records beside its figures
(scowl.bench.speed): the steal share from /proc/stat's counters, and the reference workload."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scowl.bench import speed


def test_steal_share_is_stolen_time_over_all_cpu_time_between_two_readings():
    before = {"user": 100, "nice": 0, "system": 50, "idle": 800, "iowait": 0, "irq": 0, "softirq": 0, "steal": 50}
    after = {"user": 160, "nice": 0, "system": 70, "idle": 890, "iowait": 0, "irq": 0, "softirq": 0, "steal": 70}
    assert speed.steal_pct(before, after) == pytest.approx(100.0 * 20 / 190, abs=0.05)
    # unknown counters (not Linux, or an old kernel without steal) say so, never 0
    assert speed.steal_pct({}, after) is None
    assert speed.steal_pct({k: v for k, v in before.items() if k != "steal"}, after) is None
    assert speed.steal_pct(before, before) is None  # (no time passed)


def test_reference_workload_is_the_fastest_of_its_repeats(monkeypatch):
    times = iter([0.30, 0.12, 0.25])
    monkeypatch.setattr(speed, "_workload", lambda: next(times))
    assert speed.reference_s(3) == 0.12
    monkeypatch.undo()
    assert 0 < speed.reference_s(1) < 30  # (the real workload: a fraction of a second on any machine Scowl ran on)


def test_scowl_bench_speed_prints_its_figures():
    out = subprocess.run([sys.executable, "-m", "scowl", "bench", "speed", "--json", "--repeats", "1", "--seconds", "0.1"],
                         capture_output=True, text=True, check=True, timeout=120)
    f = json.loads(out.stdout)
    assert f["reference_s"] > 0 and f["repeats"] == 1
    assert f["steal_pct"] is None or 0 <= f["steal_pct"] <= 100
