"""Every envelope a tracker sends carries a larger `seq` than the one before (docs/protocol.md:
requests are matched to replies by it). A tracker's count of continuous rounds since its tick
round (an Assign's `seq`) once shared the envelope counter's attribute, and every round reset it
to 0 (wall4, session 6): its envelopes' seqs repeated each tick."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from scowl.actors.tracker import Tracker
from scowl.run import run_scenario


def test_a_trackers_envelope_seqs_only_grow_across_rounds_and_continuous_rounds(tmp_path, monkeypatch):
    text = Path("configs/small.toml").read_text()
    text = (text.replace('mode = "lockstep"', 'mode = "realtime"').replace("factor = 1.0", "factor = 1500.0")
            .replace("ticks = 36", "ticks = 6"))
    config = tmp_path / "rt.toml"
    config.write_text(text)
    seen: dict[str, list[int]] = defaultdict(list)
    real = Tracker._next_seq

    def next_seq(self):
        seq = real(self)
        seen[self.name].append(seq)
        return seq

    monkeypatch.setattr(Tracker, "_next_seq", next_seq)
    run_scenario(str(config), str(tmp_path / "out"), show_progress=False)
    assert seen and all(len(s) > 10 for s in seen.values())
    for name, seqs in seen.items():
        repeats = sum(b <= a for a, b in zip(seqs, seqs[1:]))
        assert repeats == 0, (name, repeats, len(seqs))
