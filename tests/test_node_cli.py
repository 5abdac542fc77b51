"""scowl-node with several actors in one process (a layout's group): an actor that stops on an
error ends the process with exit 1, so the run sees a death as it would with one actor a
process (real inproc sockets, real event loop)."""

from __future__ import annotations

import asyncio

from scowl.actors.demo import Echo
from scowl.node_cli import _serve
from scowl.runtime import Node


def test_an_actor_that_crashes_in_a_shared_process_stops_the_process(capsys):
    async def day() -> tuple[int, Node]:
        node = Node("node-0")
        healthy, doomed = Echo("echo-a", "inproc://crash-a"), Echo("echo-b", "inproc://crash-b")
        node.add(healthy)
        node.add(doomed)

        async def boom() -> None:
            await doomed.started.wait()
            await asyncio.sleep(0.05)
            raise RuntimeError("injected fault")

        asyncio.get_running_loop().call_later(0.01, lambda: doomed._spawn(boom()))
        return await asyncio.wait_for(_serve(node), 20), node

    rc, node = asyncio.run(day())
    assert rc == 1
    assert all(a.stopped.is_set() for a in node.actors)  # the healthy one was stopped with it
    err = capsys.readouterr().err
    assert "node-0: echo-b stopped on an error (RuntimeError('injected fault')); stopping this process (echo-a)" in err


def test_actors_sharing_a_process_run_until_stopped():
    async def day() -> tuple[int, Node]:
        node = Node("node-1")
        for name in ("echo-c", "echo-d"):
            node.add(Echo(name, f"inproc://share-{name}"))
        asyncio.get_running_loop().call_later(0.3, node.stop)
        return await asyncio.wait_for(_serve(node), 20), node

    rc, node = asyncio.run(day())
    assert rc == 0 and all(a.crashed is None for a in node.actors)
