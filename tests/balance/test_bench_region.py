"""`scowl bench region`: a tracker's day of rounds without sockets (scowl.bench.region), at a
small size here; it prints its figures, never asserted against a target."""

from __future__ import annotations

import argparse

import pytest

from scowl.bench import region

pytestmark = pytest.mark.bench


def test_a_region_day_is_measured_per_round(capsys):
    parser = argparse.ArgumentParser()
    region.add_arguments(parser)
    args = parser.parse_args(["--consumers", "20000", "--global-consumers", "80000", "--ticks", "288"])
    f = region.measure(args)
    print(region.render(f))
    assert f["consumers"] == 20000 and f["ticks"] == 288
    assert f["starved_rounds"] > 0 and f["moved"] > f["consumers"]  # the evening's shortfall rotates who starves
    assert 0 < f["round_cpu_ms_median"] <= f["round_cpu_ms_max"]
    assert f["rss_peak_mb"] >= f["rss_registered_mb"] >= f["rss_start_mb"]
