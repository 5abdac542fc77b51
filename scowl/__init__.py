"""Scowl: a peer-to-peer electricity grid of New York State on ZeroMQ actors.

The public face (everything else is internal and may change):

    from scowl import Actor, Node, on, wire          # the actor runtime and the wire protocol
    from scowl import load_scenario, build_grid      # scenarios and the grid model
    from scowl import run_scenario, load_run         # whole days and their results
"""

from scowl import wire
from scowl.config import Scenario, load_scenario
from scowl.errors import ActorError, ConfigError, ProtocolError, RequestTimeout, ScowlError
from scowl.runtime import Actor, Node, RemoteError, SimClock, on

__all__ = [
    "Actor", "ActorError", "ConfigError", "Node", "ProtocolError", "RemoteError", "RequestTimeout", "Scenario",
    "ScowlError", "SimClock", "build_grid", "load_run", "load_scenario", "on", "run_scenario", "wire",
]
__version__ = "0.1.0"


def __getattr__(name):  # the heavier pieces load on first use
    if name == "build_grid":
        from scowl.model import build_grid

        return build_grid
    if name == "run_scenario":
        from scowl.run import run_scenario

        return run_scenario
    if name == "load_run":
        from scowl.results import load_run

        return load_run
    raise AttributeError(f"module 'scowl' has no attribute {name!r}")
