"""The actor runtime: actors on ZeroMQ sockets, hosted by nodes (one per OS process)."""

from scowl.runtime.actor import Actor, ActorStats, RemoteError, on
from scowl.runtime.clock import SimClock
from scowl.runtime.node import Node, install_uvloop

__all__ = ["Actor", "ActorStats", "Node", "RemoteError", "SimClock", "install_uvloop", "on"]
