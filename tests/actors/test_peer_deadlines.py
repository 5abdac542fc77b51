"""A lockstep stage's deadline counts only the time its process could have heard the awaited
peer (actors/peer.py StageClock): a busy or unscheduled event loop is not a lost peer, so a
loaded machine does not change a lockstep day."""

from __future__ import annotations

import json
import time

import pytest

from scowl import balance
from scowl.actors.peer import LAG_EXCUSE_S, StageClock
from scowl.api import load_scenario
from scowl.run import run_scenario
from scowl.sweep import scenario_toml


def test_lateness_of_a_check_is_excused_and_jitter_is_not():
    clock = StageClock(armed=100.0)
    assert clock.elapsed(100.0) == 0.0
    clock.next_check(100.2)
    assert clock.elapsed(100.2 + LAG_EXCUSE_S / 2) == pytest.approx(0.2 + LAG_EXCUSE_S / 2)  # jitter: the peer's
    clock.next_check(100.4)
    assert clock.elapsed(103.4) == pytest.approx(0.4)  # 3 s late: the loop's, excused
    clock.next_check(103.6)
    assert clock.elapsed(103.6) == pytest.approx(0.6)


def _day(tmp_path, name: str) -> dict:
    cfg = tmp_path / f"{name}.toml"
    # a heartbeat far below what one blocked round takes: only excused lateness keeps peers
    cfg.write_text(scenario_toml(load_scenario("small").replace(scenario__ticks=8, response__heartbeat_timeout_s=0.05)))
    out = tmp_path / name
    run_scenario(str(cfg), str(out), show_progress=False)
    return json.loads((out / "summary.json").read_text())


def test_a_blocked_event_loop_loses_no_peer_and_changes_no_figure(tmp_path, monkeypatch):
    quiet = _day(tmp_path, "quiet")
    real_round = balance.first_pass

    def slow_round(region, inp):
        time.sleep(0.3)  # the whole process stalls, as on a loaded machine: six heartbeats
        return real_round(region, inp)

    monkeypatch.setattr(balance, "first_pass", slow_round)
    stalled = _day(tmp_path, "stalled")
    lost = [line for line in (tmp_path / "stalled" / "trace-run.log").read_text().splitlines() if ": lost " in line]
    assert lost == [], f"a stalled loop was taken for lost peers: {lost[:3]}"
    for key in ("energy_mwh", "starvation", "blackouts"):
        assert stalled[key] == quiet[key], key
