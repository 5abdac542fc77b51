"""Shared fixtures: a ZeroMQ context that must terminate, and transports to parametrize over."""

from __future__ import annotations

import os
import tempfile

import pytest
import zmq
import zmq.asyncio


@pytest.fixture
def zctx():
    """An asyncio ZeroMQ context; the test fails loudly if a socket is left open."""
    ctx = zmq.asyncio.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture(params=["inproc", "ipc", "tcp"])
def transport(request):
    return request.param


@pytest.fixture
def address_factory(transport, tmp_path_factory):
    """Makes fresh bind addresses for the parametrized transport (random tcp ports, short ipc paths)."""
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
