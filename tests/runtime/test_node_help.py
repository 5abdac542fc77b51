"""`scowl-node --help` tells the truth: every example it prints runs as printed (with a free
port and a real run directory in place of PORT and RUN), and options a role would ignore are
refused with the reason instead of being silently dropped."""

from __future__ import annotations

import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

from scowl.node_cli import DEMO_ROLES, GRID_ROLES, build_parser


def _examples() -> list[list[str]]:
    help_text = build_parser().format_help()
    lines = help_text.split("examples:\n", 1)[1].splitlines()
    return [shlex.split(line.split("#", 1)[0]) for line in lines if line.strip().startswith(("scowl ", "scowl-node "))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(argv: list[str], port: int, run: Path) -> list[str]:
    argv = [a.replace("PORT", str(port)).replace("RUN", str(run)) for a in argv]
    module = {"scowl": "scowl", "scowl-node": "scowl.node_cli"}[argv[0]]
    return [sys.executable, "-m", module, *argv[1:]]


def _ready(proc: subprocess.Popen) -> list[str]:
    line = proc.stdout.readline().split()
    return line


def _stop(procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_help_lists_only_options_the_roles_use_and_every_role():
    text = build_parser().format_help()
    assert "--config" not in text and "--host " not in text
    for role in (*GRID_ROLES, *DEMO_ROLES):
        assert f"  {role} " in text


def test_every_example_in_help_runs_as_printed(tmp_path):
    examples = _examples()
    assert [e[:3] for e in examples] == [["scowl", "run", "configs/small.toml"], ["scowl-node", "--role", "bootstrap"],
                                         ["scowl-node", "--role", "tracker"], ["scowl-node", "--role", "echo"],
                                         ["scowl-node", "--role", "ping"]]
    run, port = tmp_path / "run", _free_port()
    # 1. the whole day over tcp processes
    day = subprocess.run(_command(examples[0], port, run) + ["--quiet"], check=False, capture_output=True, text=True, timeout=150)
    assert day.returncode == 0, day.stderr[-2000:]
    assert (run / "plan.json").exists() and (run / "summary.json").exists()
    # 2-3. grid roles of that plan, as printed (the tracker needs the broker and metronome it links to)
    procs = []
    try:
        boot = subprocess.Popen(_command(examples[1], port, run), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(boot)
        assert _ready(boot)[:2] == ["READY", "bootstrap"]
        for role in ("broker", "metronome"):
            proc = subprocess.Popen([sys.executable, "-m", "scowl.node_cli", "--role", role, "--deployment", str(run / "plan.json")],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(proc)
            assert _ready(proc)[:2] == ["READY", role]
        tracker = subprocess.Popen(_command(examples[2], port, run), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(tracker)
        assert _ready(tracker)[:2] == ["READY", "tracker-0"]
    finally:
        _stop(procs)
    # 4-5. the demo pair
    echo = subprocess.Popen(_command(examples[3], port, run), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _ready(echo) == ["READY", "echo", f"tcp://127.0.0.1:{port}"]
        ping = subprocess.run(_command(examples[4], port, run), check=False, capture_output=True, text=True, timeout=60)
        assert ping.returncode == 0, ping.stderr
        assert "echo counted 1000 pings, 0 rejected" in ping.stdout
    finally:
        _stop([echo])


def test_options_a_role_would_ignore_are_refused_with_the_reason(tmp_path):
    def node(*argv):
        return subprocess.run([sys.executable, "-m", "scowl.node_cli", *argv], check=False, capture_output=True, text=True, timeout=30)

    out = node("--role", "tracker", "--deployment", str(tmp_path / "plan.json"), "--bind", "tcp://127.0.0.1:7100")
    assert out.returncode == 2 and "--bind are for the demo roles" in out.stderr
    out = node("--role", "tracker")
    assert out.returncode == 2 and "needs --deployment PLAN" in out.stderr
    out = node("--role", "echo", "--deployment", "plan.json")
    assert out.returncode == 2 and "--deployment applies to the grid roles" in out.stderr
