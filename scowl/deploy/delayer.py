"""A userspace latency injector for kernels without netem: holds each queued packet for a delay
chosen by its IPv4 source, then accepts it.

Run inside a host namespace; iptables sends the packets to delay to it:
    iptables -t mangle -A PREROUTING -s PEER -j NFQUEUE --queue-num 7 --queue-bypass
    python -m scowl.deploy.delayer --queue 7 [--seed N]
It is driven over stdin, one command a line, and answers each on stdout:
    set SRC MS JITTER   ->  ok set SRC     (delay packets from SRC by MS +- JITTER milliseconds)
    unset SRC           ->  ok unset SRC   (packets from SRC pass at once)
    stats               ->  {"held": n, "passed": n, ...}
    quit / end of input ->  releases every held packet and exits
It prints `ready queue=N` once bound. Packets of one source leave in arrival order (jitter never
reorders them, which would make TCP retransmit spuriously). Every draw comes from one seeded
random stream.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import selectors
import signal
import socket
import sys
import time
import warnings

HEADER_BYTES = 20  # only the IPv4 header is copied to userspace


class Delayer:
    def __init__(self, queue: int, seed: int = 0, max_len: int = 16384) -> None:
        from netfilterqueue import COPY_PACKET, NetfilterQueue

        self.delays: dict[bytes, tuple[float, float]] = {}
        self.last_due: dict[bytes, float] = {}
        self.held: list[tuple[float, int, object]] = []
        self.rng = random.Random(seed)
        self.counter = 0
        self.passed = 0
        self.delayed = 0
        self.nfq = NetfilterQueue()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # "rcvbuf limit is now ..." is harmless
            self.nfq.bind(queue, self._on_packet, max_len=max_len, mode=COPY_PACKET, range=HEADER_BYTES)

    def _on_packet(self, pkt) -> None:
        src = pkt.get_payload()[12:16]
        delay = self.delays.get(src)
        if delay is None:
            pkt.accept()
            self.passed += 1
            return
        ms, jitter = delay
        now = time.monotonic()
        due = now + max(0.0, ms + (self.rng.uniform(-jitter, jitter) if jitter else 0.0)) / 1000.0
        due = max(due, self.last_due.get(src, 0.0))
        self.last_due[src] = due
        self.counter += 1
        heapq.heappush(self.held, (due, self.counter, pkt))

    def release(self, everything: bool = False) -> None:
        now = time.monotonic()
        while self.held and (everything or self.held[0][0] <= now):
            _, _, pkt = heapq.heappop(self.held)
            pkt.accept()  # type: ignore[attr-defined]
            self.delayed += 1

    def command(self, line: str) -> str | None:
        parts = line.split()
        if not parts:
            return ""
        if parts[0] == "set" and len(parts) == 4:
            self.delays[socket.inet_aton(parts[1])] = (float(parts[2]), float(parts[3]))
            return f"ok set {parts[1]}"
        if parts[0] == "unset" and len(parts) == 2:
            self.delays.pop(socket.inet_aton(parts[1]), None)
            return f"ok unset {parts[1]}"
        if parts[0] == "stats":
            return json.dumps({"held": len(self.held), "delayed": self.delayed, "passed": self.passed,
                               "sources": sorted(socket.inet_ntoa(s) for s in self.delays)})
        if parts[0] == "quit":
            return None
        return f"error unknown command {line.strip()!r}"

    def serve(self, stdin, stdout) -> None:
        sel = selectors.DefaultSelector()
        fd = self.nfq.get_fd()
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, "nfq")
        sel.register(stdin, selectors.EVENT_READ, "ctl")
        buf = b""
        try:
            while True:
                timeout = max(0.0, self.held[0][0] - time.monotonic()) if self.held else None
                for key, _ in sel.select(timeout):
                    if key.data == "nfq":
                        self.nfq.run(block=False)
                        continue
                    chunk = os.read(stdin.fileno(), 4096)
                    if not chunk:
                        return
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        reply = self.command(line.decode())
                        if reply is None:
                            return
                        stdout.write(reply + "\n")
                        stdout.flush()
                self.release()
        finally:
            self.release(everything=True)
            self.nfq.unbind()
            sel.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scowl.deploy.delayer", description=__doc__.splitlines()[0])
    p.add_argument("--queue", type=int, default=7)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-len", type=int, default=16384, help="packets the kernel may hold for us")
    args = p.parse_args(argv)

    def stop(signum, frame):  # a TERM releases held packets on the way out
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    d = Delayer(args.queue, args.seed, args.max_len)
    print(f"ready queue={args.queue}", flush=True)
    try:
        d.serve(sys.stdin.buffer, sys.stdout)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
