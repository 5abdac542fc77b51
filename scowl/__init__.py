"""Scowl: a peer-to-peer electricity grid of New York State on ZeroMQ actors.

The public face (everything else is internal and may change):

    import scowl
    sc = scowl.load_scenario("small", seed=3)        # a packaged name or a TOML path; an immutable Scenario
    run = scowl.run(sc)                              # the day in this process (works in Jupyter): a Run
    run.summary, run.state("consumer"), run.plot_day()
    runs = scowl.run(sc, seeds=5); runs.intervals()  # several seeds: means with 95 % intervals
    scowl.open_run("runs/small-...")                 # a Run from a directory written earlier

    from scowl import Actor, Node, on, wire          # the actor runtime and the wire protocol
    from scowl import build_grid                     # the grid model
    from scowl import run_scenario, load_run         # the lower-level run and its raw results
"""

from scowl import wire
from scowl.config import Scenario
from scowl.errors import ActorError, ConfigError, ProtocolError, RequestTimeout, ScowlError, UsageError
from scowl.provenance import __version__
from scowl.runtime import Actor, Node, RemoteError, SimClock, on

__all__ = [
    "Actor", "ActorError", "ConfigError", "Node", "ProtocolError", "RemoteError", "RequestTimeout", "Run", "Runs",
    "Scenario", "ScowlError", "SimClock", "UsageError", "build_grid", "load_run", "load_scenario", "on", "open_run",
    "__version__", "run", "run_scenario", "wire",
]


_API = ("Run", "Runs", "load_scenario", "open_run")


def __getattr__(name):  # the heavier pieces load on first use
    # scowl.api needs pandas (~60 MB): loaded on first use, so that a scowl-node process
    # (which imports scowl for its runtime) does not carry it
    if name in _API:
        import scowl.api

        return getattr(scowl.api, name)
    if name == "build_grid":
        from scowl.model import build_grid

        return build_grid
    if name == "run_scenario":
        from scowl.run import run_scenario

        return run_scenario
    if name == "load_run":
        from scowl.analysis.results import load_run

        return load_run
    raise AttributeError(f"module 'scowl' has no attribute {name!r}")


# `scowl.run(...)` runs a day (scowl.api.run). The module scowl/run.py has the same name and
# Python binds a submodule's name on its package when it is imported, so the module itself is
# made callable: `scowl.run(sc)` runs a day, `from scowl.run import run_scenario` still works.
import types  # noqa: E402

import scowl.run as _run_module  # noqa: E402


class _CallableRunModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from scowl.api import run

        return run(*args, **kwargs)


_run_module.__class__ = _CallableRunModule
run = _run_module
