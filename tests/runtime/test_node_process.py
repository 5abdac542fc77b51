"""Real processes: an echo node and a ping node over tcp, and prompt clean shutdown on signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest


def start_echo():
    proc = subprocess.Popen([sys.executable, "-m", "scowl.node_cli", "--role", "echo", "--bind", "tcp://127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    assert line[:2] == ["READY", "echo"], line
    return proc, line[2]


def stop(proc) -> str:
    """Kill if still running, reap, close the pipes; returns stderr."""
    if proc.poll() is None:
        proc.kill()
    _, err = proc.communicate(timeout=10)
    return err


def test_ping_node_talks_to_echo_node_over_tcp():
    echo, address = start_echo()
    try:
        out = subprocess.run([sys.executable, "-m", "scowl.node_cli", "--role", "ping", "--connect", address, "--count", "5000"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "echo counted 5000 pings, 0 rejected" in out.stdout
    finally:
        stop(echo)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_a_node_promptly_and_cleanly(sig):
    echo, _ = start_echo()
    t0 = time.monotonic()
    echo.send_signal(sig)
    rc = echo.wait(timeout=5)
    elapsed = time.monotonic() - t0
    err = stop(echo)
    assert elapsed < 3, "shutdown took too long"
    assert rc == 128 + sig, err
    assert "Traceback" not in err


def test_unknown_peer_address_fails_with_a_clear_error():
    out = subprocess.run([sys.executable, "-m", "scowl.node_cli", "--role", "ping", "--count", "1"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "needs --connect" in out.stderr
