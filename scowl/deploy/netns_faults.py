"""Faults on namespace hosts: partitions as drops in an nftables bridge table of the switch
namespace (the hosts' stacks stay untouched), latency by netem when the kernel has it, else by
the NFQUEUE delayer (scowl.deploy.delayer) started inside each host that needs it.

Latency a<->b of `ms` adds `ms` one way in each direction, so the round trip grows by 2*ms.
With the delayer it is applied at b's ingress for packets from a, and at a's for those from b.
"""

from __future__ import annotations

import select
import subprocess
import sys
import time

from scowl.deploy import rules
from scowl.deploy.faults import FaultError, Faults
from scowl.deploy.schedule import Pair

READY_TIMEOUT_S = 10.0


class NetnsFaults(Faults):
    def __init__(self, cluster) -> None:
        super().__init__(cluster.deployment)
        self.cluster = cluster
        self.backend: str | None = None  # "netem" or "delayer", chosen on first use
        self._delayers: dict[str, subprocess.Popen] = {}
        self._netem: dict[str, dict[str, tuple[float, float]]] = {}
        self._addr = {h.name: h.address for h in cluster.deployment.hosts}
        self.exempt: list[tuple[str, int]] = []  # (address, port) endpoints no fault touches (set before use)

    def _apply_cuts(self, pairs: frozenset[Pair]) -> None:
        addr_pairs = sorted(tuple(sorted(self._addr[h] for h in p)) for p in pairs)
        res = self.cluster.exec("switch", ["nft", "-f", "-"], input=rules.nft_bridge_script(addr_pairs, self.exempt), check=False)
        if res.returncode != 0:
            raise FaultError(f"nft in {self.cluster.switch_ns} failed: {res.stderr.strip()}")

    def _apply_latency(self, a: str, b: str, ms: float, jitter_ms: float) -> None:
        if self.backend is None:
            self.backend = "netem" if self.cluster.has_netem() else "delayer"
        for here, there in ((a, b), (b, a)):
            if self.backend == "netem":
                self._netem_set(here, there, ms, jitter_ms)
            else:
                self._delayer_set(here, there, ms, jitter_ms)

    # -- netem: egress of `here` towards `there` -------------------------------------------
    def _netem_set(self, here: str, there: str, ms: float, jitter_ms: float) -> None:
        table = self._netem.setdefault(here, {})
        if ms or jitter_ms:
            table[self._addr[there]] = (ms, jitter_ms)
        else:
            table.pop(self._addr[there], None)
        for c in rules.netem_set("eth0", table):
            self._exec(here, c)

    # -- delayer: ingress of `here` for packets from `there` -------------------------------
    def _delayer_set(self, here: str, there: str, ms: float, jitter_ms: float) -> None:
        src = self._addr[there]
        if ms or jitter_ms:
            self._ask(here, f"set {src} {ms:g} {jitter_ms:g}")
            self._exec(here, rules.nfqueue_rule("-D", src, self._exempt_ports()))  # never twice
            self._exec(here, rules.nfqueue_rule("-A", src, self._exempt_ports()))
        elif here in self._delayers:
            self._exec(here, rules.nfqueue_rule("-D", src, self._exempt_ports()))
            self._ask(here, f"unset {src}")

    def _exempt_ports(self) -> tuple[int, ...]:
        return tuple(sorted({port for _, port in self.exempt}))

    def _delayer(self, host: str) -> subprocess.Popen:
        p = self._delayers.get(host)
        if p is not None and p.poll() is None:
            return p
        p = self.cluster.spawn(host, [sys.executable, "-m", "scowl.deploy.delayer", "--queue", str(rules.DELAY_QUEUE)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._delayers[host] = p
        line = self._readline(host, p)
        if not line.startswith("ready"):
            raise FaultError(f"delayer on {host} did not start: {line!r} (is netfilterqueue installed? "
                             "bash deploy/ci-prereqs.sh)")
        return p

    def _ask(self, host: str, command: str) -> str:
        p = self._delayer(host)
        assert p.stdin is not None  # started with stdin=PIPE
        p.stdin.write(f"{command}\n".encode())
        p.stdin.flush()
        reply = self._readline(host, p)
        if not reply.startswith("ok"):
            raise FaultError(f"delayer on {host}: {command!r} -> {reply!r}")
        return reply

    @staticmethod
    def _readline(host: str, p: subprocess.Popen) -> str:
        deadline = time.monotonic() + READY_TIMEOUT_S
        assert p.stdout is not None  # started with stdout=PIPE
        fd = p.stdout.fileno()
        buf = b""
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise FaultError(f"delayer on {host}: no answer within {READY_TIMEOUT_S} s")
            chunk = p.stdout.read1(4096) if hasattr(p.stdout, "read1") else p.stdout.read(1)
            if not chunk:
                raise FaultError(f"delayer on {host} exited ({p.poll()}) before answering")
            buf += chunk
        return buf.decode().strip()

    def _exec(self, host: str, c: rules.Cmd) -> None:
        res = self.cluster.exec(host, list(c.argv), check=False)
        if res.returncode != 0 and not c.may_fail:
            raise FaultError(f"on {host}: `{c.shell()}` failed: {res.stderr.strip()}")

    def close(self) -> None:
        """Stop the delayers (they release what they hold); the namespaces' deletion removes
        the rules themselves."""
        for p in self._delayers.values():
            if p.poll() is None and p.stdin:
                try:
                    p.stdin.close()
                except BrokenPipeError:
                    pass
        for p in self._delayers.values():
            try:
                p.wait(2)
            except subprocess.TimeoutExpired:
                pass
        self._delayers.clear()
