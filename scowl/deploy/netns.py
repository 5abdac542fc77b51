"""Emulated hosts on one machine: a Linux network namespace per host, all on one bridge that
lives in a switch namespace of its own, so nothing shows in (or touches) the root namespace.

    with NetnsCluster(deployment) as cluster:          # up() on enter, down() on exit
        cluster.exec("h1", ["ip", "addr"])              # run and wait
        p = cluster.spawn("h2", [...], log=path)        # own session, tracked, killed at down()
        cluster.faults.partition(["h3"], ["h1"])        # see scowl.deploy.faults

Names carry a per-run id: `sc<6 hex>_sw` is the switch and `sc<6 hex>-<host>` a host, so
parallel runs and leftovers are told apart; `/run/scowl-deploy/<id>.json` records the owner
pid. `down()` (idempotent) kills every process in the namespaces and deletes them; it also runs
on SIGTERM/SIGHUP (turned into SystemExit), on SIGINT (KeyboardInterrupt) and at exit.
`cleanup()` removes what earlier runs left behind, by prefix.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from scowl.deploy.description import Deployment
from scowl.deploy.netns_faults import NetnsFaults
from scowl.errors import ScowlError

STATE_DIR = Path("/run/scowl-deploy")
NS_PATTERN = re.compile(r"^sc([0-9a-f]{6})[-_]")
BRIDGE = "br0"
STOP_GRACE_S = 2.0


class NetnsError(ScowlError):
    """A namespace command failed, or namespaces cannot be used here (names the command and why)."""


def unavailable_reason() -> str | None:
    """Why namespace hosts cannot run on this machine, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (run as root; CI does)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"'{tool}' is not installed (bash deploy/ci-prereqs.sh installs it)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"'ip netns' is unavailable: {probe.stderr.strip()}"
    return None


def _run(argv: list[str], *, check: bool = True, input: str | None = None, timeout: float = 30.0):
    res = subprocess.run(argv, capture_output=True, text=True, input=input, timeout=timeout)
    if check and res.returncode != 0:
        raise NetnsError(f"`{' '.join(argv)}` failed ({res.returncode}): {res.stderr.strip() or res.stdout.strip()}")
    return res


def list_namespaces() -> list[str]:
    out = _run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _mac(address: str) -> str:
    """A fixed MAC per address (02:00:0a:c8:00:0i), so a re-created host is not black-holed by
    its peers' neighbour caches."""
    return "02:00:" + ":".join(f"{int(o):02x}" for o in address.split("."))


class NetnsCluster:
    def __init__(self, deployment: Deployment, *, run_id: str | None = None) -> None:
        self.deployment = deployment
        self.run_id = run_id or secrets.token_hex(3)
        if not re.fullmatch(r"[0-9a-f]{6}", self.run_id):
            raise NetnsError(f"run id {self.run_id!r}: expected 6 lowercase hex digits")
        self.prefix = f"sc{self.run_id}"
        self.switch_ns = f"{self.prefix}_sw"
        self.processes: list[subprocess.Popen] = []
        self._faults = None
        self._is_up = False
        self._saved_handlers: dict[int, object] = {}
        self._lock = threading.RLock()
        self.timings: dict[str, float] = {}

    def ns(self, host: str) -> str:
        self.deployment.host(host)  # raises on an unknown host
        return f"{self.prefix}-{host}"

    @property
    def state_file(self) -> Path:
        return STATE_DIR / f"{self.run_id}.json"

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> NetnsCluster:
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()

    def up(self) -> NetnsCluster:
        reason = unavailable_reason()
        if reason:
            raise NetnsError(reason)
        t0 = time.monotonic()
        self._is_up = True
        self._install_handlers()
        atexit.register(self.down)
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({
            "run_id": self.run_id, "owner_pid": os.getpid(), "deployment": self.deployment.path,
            "switch": self.switch_ns, "hosts": {h.name: self.ns(h.name) for h in self.deployment.hosts}}))
        try:
            sw = self.switch_ns
            _run(["ip", "netns", "add", sw])
            _run(["ip", "-n", sw, "link", "add", BRIDGE, "type", "bridge"])
            _run(["ip", "-n", sw, "link", "set", BRIDGE, "up"])
            for i, h in enumerate(self.deployment.hosts, start=1):
                ns, port = self.ns(h.name), f"v{i}"
                _run(["ip", "netns", "add", ns])
                _run(["ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns])
                _run(["ip", "-n", sw, "link", "set", port, "master", BRIDGE, "up"])
                _run(["ip", "-n", ns, "link", "set", "eth0", "address", _mac(h.address)])
                _run(["ip", "-n", ns, "addr", "add", f"{h.address}/24", "dev", "eth0"])
                _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
                _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        except BaseException:
            self.down()
            raise
        self.timings["up_s"] = time.monotonic() - t0
        return self

    def detach(self) -> None:
        """Leave the hosts up after this process exits (`scowl deploy netns up`); `cleanup(run_id)`
        or `scowl deploy netns down --run ID` removes them."""
        atexit.unregister(self.down)
        self._restore_handlers()
        self._is_up = False
        self.processes.clear()

    def down(self) -> None:
        with self._lock:
            if not self._is_up:
                return
            t0 = time.monotonic()
            self._is_up = False
            try:
                if self._faults is not None:
                    self._faults.close()
                self.stop_processes()
            finally:
                _remove_run(self.run_id, [self.switch_ns] + [self.ns(h.name) for h in self.deployment.hosts])
                atexit.unregister(self.down)
                self._restore_handlers()
            self.timings["down_s"] = time.monotonic() - t0

    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def terminate(signum, frame):
            raise SystemExit(128 + signum)  # unwinds through `with`/finally, so down() runs

        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._saved_handlers[sig] = signal.signal(sig, terminate)

    def _restore_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, handler in self._saved_handlers.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._saved_handlers.clear()

    # -- processes --------------------------------------------------------------------------
    def exec(self, host: str, argv: list[str], *, check: bool = True, input: str | None = None,
             timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Run `argv` on `host` (or in the switch with host="switch") and wait for it."""
        ns = self.switch_ns if host == "switch" else self.ns(host)
        return _run(["ip", "netns", "exec", ns, *argv], check=check, input=input, timeout=timeout)

    def spawn(self, host: str, argv: list[str], *, log: str | Path | None = None, stdin=subprocess.DEVNULL,
              stdout=None, env: dict[str, str] | None = None, cwd: str | Path | None = None) -> subprocess.Popen:
        """Start `argv` on `host` in a session of its own; `down()` kills it. Output goes to `log`
        (stdout and stderr) or to `stdout` (e.g. subprocess.PIPE)."""
        if not self._is_up:
            raise NetnsError(f"spawn on {host}: the cluster {self.prefix} is not up")
        out = open(log, "ab") if log is not None else stdout
        try:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *argv], stdin=stdin, stdout=out,
                                 stderr=subprocess.STDOUT if log is not None else None, env=env, cwd=cwd,
                                 start_new_session=True)
        finally:
            if log is not None:
                out.close()
        self.processes.append(p)
        return p

    def stop_processes(self, grace_s: float = STOP_GRACE_S) -> dict[int, int]:
        """TERM every tracked process group, KILL what is left after `grace_s`; returns pid -> code."""
        live = [p for p in self.processes if p.poll() is None]
        for p in live:
            _signal_group(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for p in live:
            try:
                p.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(p.pid, signal.SIGKILL)
                p.wait(5)
        for p in self.processes:
            _signal_group(p.pid, signal.SIGKILL)  # stragglers left in the group
            for stream in (p.stdin, p.stdout, p.stderr):
                if stream is not None:
                    stream.close()
        codes = {p.pid: p.returncode for p in self.processes}
        self.processes.clear()
        return codes

    # -- faults -----------------------------------------------------------------------------
    @property
    def faults(self):
        if self._faults is None:
            self._faults = NetnsFaults(self)
        return self._faults

    def has_netem(self) -> bool:
        """Whether this kernel has the netem qdisc (tried on a host's loopback)."""
        host = self.deployment.hosts[0].name
        res = self.exec(host, ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], check=False)
        if res.returncode == 0:
            self.exec(host, ["tc", "qdisc", "del", "dev", "lo", "root"], check=False)
        return res.returncode == 0


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _remove_run(run_id: str, namespaces: list[str]) -> list[str]:
    """Kill every process inside the namespaces, delete the switch first (its veths take the
    hosts' eth0 with them, so orphaned sockets cannot keep talking), then the hosts."""
    present = set(list_namespaces())
    doomed = [ns for ns in namespaces if ns in present]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [int(p) for ns in doomed for p in _run(["ip", "netns", "pids", ns], check=False).stdout.split()]
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + (1.0 if sig == signal.SIGTERM else 2.0)
        while pids and time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.02)
        if not pids:
            break
    for ns in sorted(doomed, key=lambda n: not n.endswith("_sw")):
        _run(["ip", "netns", "del", ns], check=False)
    (STATE_DIR / f"{run_id}.json").unlink(missing_ok=True)
    return doomed


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def runs_present() -> dict[str, list[str]]:
    """run id -> its namespaces, for every namespace named like ours."""
    runs: dict[str, list[str]] = {}
    for ns in list_namespaces():
        m = NS_PATTERN.match(ns)
        if m:
            runs.setdefault(m.group(1), []).append(ns)
    return runs


def owner_alive(run_id: str) -> bool:
    try:
        pid = json.loads((STATE_DIR / f"{run_id}.json").read_text())["owner_pid"]
    except (FileNotFoundError, ValueError, KeyError):
        return False
    return pid != os.getpid() and _alive(pid)


def cleanup(run_id: str | None = None, *, force: bool = False) -> dict[str, list[str]]:
    """Remove the namespaces (with their processes, nft tables and iptables rules) of earlier
    runs: all of them, or only `run_id`. A run whose owner process is still alive is kept unless
    `force`. Returns run id -> namespaces removed."""
    removed = {}
    for rid, namespaces in runs_present().items():
        if run_id not in (None, rid) or (owner_alive(rid) and not force):
            continue
        removed[rid] = _remove_run(rid, namespaces)
    for state in STATE_DIR.glob("*.json") if STATE_DIR.exists() else []:
        if run_id in (None, state.stem) and (force or not owner_alive(state.stem)) and state.stem not in runs_present():
            state.unlink(missing_ok=True)
    return removed
