"""The metronome's `gone` (peers whose connection closed): a peer marks missed only grid peers it knows
(review5: its own name, the metronome's or unknown names stayed "unreachable" to the day's end, 200,000 of
them after one Gone). The small day in-process, real sockets; the metronome's Gone of tick 5 names such
names beside no live peer, so the day is the unattacked one's."""

from __future__ import annotations

import json

import pandas as pd

from scowl import wire
from scowl.actors.metronome import Metronome
from scowl.api import load_scenario
from scowl.run import run_scenario
from scowl.sweep import scenario_toml


def test_a_gone_naming_no_grid_peer_marks_nobody_missed(tmp_path, monkeypatch):
    real = Metronome.publish
    sent: list[int] = []

    def publish(self, msg):
        real(self, msg)
        if isinstance(msg, wire.Tick) and msg.tick == 5:
            sent.append(msg.tick)
            real(self, wire.Gone(5, ["metronome", "broker", "nobody", *(f"n{i}" for i in range(1000))]))

    monkeypatch.setattr(Metronome, "publish", publish)
    cfg = tmp_path / "small.toml"
    cfg.write_text(scenario_toml(load_scenario("small")))
    run_scenario(str(cfg), str(tmp_path / "day"), show_progress=False)
    state = pd.read_parquet(tmp_path / "day" / "state.parquet")
    trackers = state[state["role"] == "tracker"]
    assert sent == [5] and trackers["tick"].max() > 5
    assert (trackers["unreachable"] == 0).all(), trackers.groupby("tick")["unreachable"].max().loc[5:].tolist()
    finals = json.loads((tmp_path / "day" / "finals.json").read_text())
    assert not any(k.startswith("rejected") for f in finals.values() for k in f)  # (from the metronome: allowed)
