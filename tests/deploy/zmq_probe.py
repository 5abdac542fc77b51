"""A ZeroMQ probe the netns tests start inside host namespaces (run by path, not imported).

    python zmq_probe.py serve ADDRESS    -> prints "READY <port>", echoes on a ROUTER until stdin closes
    python zmq_probe.py client           -> reads commands on stdin, answers one JSON line each:
        connect NAME ENDPOINT            {"ok": true}
        ping NAME COUNT TIMEOUT_MS       {"ok": k, "lost": n, "rtts_ms": [...]}   (one request at a time)
        until_ok NAME LIMIT_MS           {"recovered_s": s or null}               (first reply after a cut)
Every request carries a sequence number, so a late reply to an earlier request is never taken
for the current one. All loops are bounded.
"""

from __future__ import annotations

import json
import sys
import time

import zmq


def serve(address: str) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    s.linger = 0
    port = s.bind_to_random_port(f"tcp://{address}")
    print(f"READY {port}", flush=True)
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    poller.register(sys.stdin, zmq.POLLIN)
    try:
        while True:
            events = dict(poller.poll(1000))
            if s in events:
                while True:
                    try:
                        frames = s.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    s.send_multipart(frames)
            if sys.stdin.fileno() in events and not sys.stdin.readline():
                return
    finally:
        s.close(0)
        ctx.term()


class Client:
    def __init__(self) -> None:
        self.ctx = zmq.Context()
        self.socks: dict[str, zmq.Socket] = {}
        self.seq = 0

    def connect(self, name: str, endpoint: str) -> dict:
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        s.connect(endpoint)
        self.socks[name] = s
        return {"ok": True}

    def _one(self, s: zmq.Socket, timeout_ms: float) -> float | None:
        self.seq += 1
        want = str(self.seq).encode()
        t0 = time.perf_counter()
        try:
            s.send(want, zmq.NOBLOCK)
        except zmq.Again:
            return None
        deadline = t0 + timeout_ms / 1000
        while (left := deadline - time.perf_counter()) > 0:
            if s.poll(max(1, int(left * 1000)), zmq.POLLIN):
                if s.recv() == want:
                    return (time.perf_counter() - t0) * 1000
        return None

    def ping(self, name: str, count: int, timeout_ms: float) -> dict:
        rtts = [r for r in (self._one(self.socks[name], timeout_ms) for _ in range(count)) if r is not None]
        return {"ok": len(rtts), "lost": count - len(rtts), "rtts_ms": rtts}

    def until_ok(self, name: str, limit_ms: float) -> dict:
        t0 = time.perf_counter()
        while (time.perf_counter() - t0) * 1000 < limit_ms:
            if self._one(self.socks[name], 100) is not None:
                return {"recovered_s": time.perf_counter() - t0}
        return {"recovered_s": None}

    def close(self) -> None:
        for s in self.socks.values():
            s.close(0)
        self.ctx.term()


def client() -> None:
    c = Client()
    try:
        for line in sys.stdin:
            cmd, *args = line.split()
            if cmd == "connect":
                out = c.connect(args[0], args[1])
            elif cmd == "ping":
                out = c.ping(args[0], int(args[1]), float(args[2]))
            elif cmd == "until_ok":
                out = c.until_ok(args[0], float(args[1]))
            else:
                out = {"error": line.strip()}
            print(json.dumps(out), flush=True)
    finally:
        c.close()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        client()
