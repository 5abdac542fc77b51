"""Shared fixtures: a ZeroMQ context that must terminate, and transports to parametrize over."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
import zmq
import zmq.asyncio

# the runs shared by the report, sweep and deploy tests live in tests/fixtures (one definition, made once per session)
sys.path.insert(0, str(Path(__file__).with_name("fixtures")))
pytest_plugins = ["pytester", "shared_runs"]


def open_sockets(ctx: zmq.Context) -> list[str]:
    """The sockets of `ctx` nobody closed (every socket a context makes is registered with it)."""
    return sorted(f"{zmq.SocketType(s.type).name} socket" for s in list(ctx._sockets) if not s.closed)


@pytest.fixture
def zctx():
    """An asyncio ZeroMQ context; the test fails (an error at teardown) if it leaves a socket
    open. The leaked sockets are counted BEFORE the context is destroyed: destroy(linger=0)
    would close them and hide the leak (tests/test_leak_check.py shows the check firing)."""
    ctx = zmq.asyncio.Context()
    yield ctx
    from scowl.security.zap import stop_authority

    stop_authority(ctx)  # the context's ZAP authority (secure runs) is the context's, not the test's
    leaked = open_sockets(ctx)
    ctx.destroy(linger=0)  # never hang the suite on a leaked socket; the leak is already counted
    if leaked:
        pytest.fail(f"the test left {len(leaked)} ZeroMQ socket(s) open: {', '.join(leaked)}", pytrace=False)


@pytest.fixture(params=["inproc", "ipc", "tcp"])
def transport(request):
    return request.param


@pytest.fixture
def address_factory(transport, tmp_path_factory, monkeypatch):
    """Makes fresh bind addresses for the parametrized transport (random tcp ports, short ipc paths).
    Over ipc and tcp the actors of one test share a ZeroMQ context, so they would link over inproc
    (scowl.runtime.local, tested in tests/runtime/test_local_links.py): these tests cross the wire."""
    if transport != "inproc":
        from scowl.runtime import local

        monkeypatch.setattr(local, "ENABLED", False)
    counter = iter(range(1_000_000))
    ipc_dir = tempfile.mkdtemp(prefix="scowl-", dir="/tmp")

    def make(name: str = "a") -> str:
        n = next(counter)
        if transport == "inproc":
            return f"inproc://{name}-{os.getpid()}-{id(counter)}-{n}"
        if transport == "ipc":
            return f"ipc://{ipc_dir}/{name}{n}"
        return "tcp://127.0.0.1:*"

    yield make
