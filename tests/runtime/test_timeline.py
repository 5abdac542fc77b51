"""The opt-in timeline (SCOWL_TIMELINE): what each actor handled and decoded, and when."""

from __future__ import annotations

import csv

import pytest

from scowl import wire
from scowl.runtime import timeline
from tests.runtime.test_actor import Recorder, started


@pytest.mark.parametrize("transport", ["ipc"])
async def test_handled_messages_and_decoded_packets_are_on_the_timeline(zctx, address_factory, tmp_path, monkeypatch):
    line = timeline.Timeline(str(tmp_path))
    monkeypatch.setattr(timeline, "TIMELINE", line)
    server = await started(Recorder("server", address_factory("server")), zctx)
    client = await started(Recorder("client"), zctx)
    try:
        await client.connect("server", server.bound_address)
        server.expect = 3
        for n in range(3):
            client.send("server", wire.Ping(n))
        await server.got.wait()
    finally:
        await client.stop()
        await server.stop()
    line.snapshot()
    line.write()
    (path,) = tmp_path.glob("timeline-*.tsv")
    rows = list(csv.DictReader(path.read_text().splitlines(), delimiter="\t"))
    pings = [r for r in rows if r["actor"] == "server" and r["what"] == "ping"]
    assert len(pings) == 3
    assert all(float(r["start"]) <= float(r["end"]) for r in rows)
    assert any(r["actor"] == "server" and r["what"] == "decode" and int(r["tick"]) > 0 for r in rows)  # (tick: the packet's bytes)
    threads = (tmp_path / path.name.replace("timeline", "threads")).read_text().splitlines()
    assert threads[0] == "thread\tcpu_s" and len(threads) > 1


def test_off_unless_the_environment_names_a_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(timeline.ENV, raising=False)
    assert timeline._from_env() is None
    monkeypatch.setenv(timeline.ENV, str(tmp_path))
    made = timeline._from_env()
    assert made is not None and made.out_dir == str(tmp_path)
