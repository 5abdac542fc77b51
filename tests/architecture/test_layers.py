"""The architecture as a contract: no import cycles, and dependencies point down the layers.

    commands / cli                    the command line (nothing else imports it)
    run, roles, sweep, deploy, bench  composing and running days
    actors, broker                    the peers: move messages, call policy and physics
    report                            HTML, plots, text tables
    analysis                          pure functions over what runs leave behind
    runtime                           actors on ZeroMQ sockets (knows no grid)
    wire                              every message, typed
    balance                           policy: rebalancing, dispatch, demand response, storage
    model                             physics and reference data of the grid
    config, streams, errors           the scenario, the named random streams, the exceptions

The graph is read from the source (tests/architecture/imports.py); function-local imports
count; `if TYPE_CHECKING:` imports count for cycles, not for the layer rules."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("scowl_import_graph", Path(__file__).with_name("imports.py"))
assert _spec is not None and _spec.loader is not None
imports = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = imports
_spec.loader.exec_module(imports)

ANYWHERE_ABOVE = ("scowl.run", "scowl.roles", "scowl.sweep", "scowl.deploy", "scowl.bench", "scowl.commands", "scowl.cli")
PEERS = ("scowl.actors", "scowl.broker")

#: package -> packages it must never import (prefix match on module names)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "scowl.model": ("scowl.runtime", "scowl.wire", "scowl.balance", "scowl.analysis", "scowl.report", *PEERS, *ANYWHERE_ABOVE),
    "scowl.balance": ("scowl.runtime", "scowl.wire", "scowl.analysis", "scowl.report", *PEERS, *ANYWHERE_ABOVE),
    "scowl.wire": ("scowl.runtime", "scowl.model", "scowl.balance", "scowl.analysis", "scowl.report", "scowl.config",
                   *PEERS, *ANYWHERE_ABOVE),
    "scowl.runtime": ("scowl.model", "scowl.balance", "scowl.analysis", "scowl.report", "scowl.config", "scowl.plan",
                      *PEERS, *ANYWHERE_ABOVE),
    "scowl.analysis": ("scowl.runtime", "scowl.report", *PEERS, *ANYWHERE_ABOVE),
    "scowl.report": ("scowl.runtime", *PEERS, *ANYWHERE_ABOVE),
    "scowl.config": ("scowl.runtime", "scowl.wire", "scowl.balance", "scowl.analysis", "scowl.report", *PEERS, *ANYWHERE_ABOVE),
}
#: the only modules allowed to import the command line
COMMAND_LINE = ("scowl.cli", "scowl.commands", "scowl.__main__")


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_violations(graph: dict[str, dict[str, tuple[int, bool]]]) -> list[str]:
    found = []
    for module, edges in sorted(graph.items()):
        for target, (line, _top) in sorted(edges.items()):
            for layer, banned in FORBIDDEN.items():
                if _under(module, layer) and any(_under(target, b) for b in banned):
                    found.append(f"{module}:{line} imports {target} ({layer} must not import it)")
            if _under(target, "scowl.commands") or _under(target, "scowl.cli"):
                if not any(_under(module, c) for c in COMMAND_LINE):
                    found.append(f"{module}:{line} imports {target} (nothing below the command line imports it)")
    return found


def test_the_graph_covers_the_whole_package():
    files = imports.module_files()
    for expected in ("scowl.wire.codec", "scowl.runtime.actor", "scowl.actors.tracker", "scowl.broker.broker",
                     "scowl.analysis.results", "scowl.report.plots", "scowl.balance.dispatch"):
        assert expected in files
    assert len(files) > 100


def test_no_import_cycles():
    """Type-only imports count too: a cycle through annotations still ties two modules together."""
    found = imports.cycles(imports.import_graph(type_only=True))
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_dependencies_point_down_the_layers():
    found = layer_violations(imports.import_graph())
    assert found == [], "layer violations:\n" + "\n".join(found)


def test_the_checks_see_a_cycle_and_a_violation():
    """The checks can fail: a made-up graph with a cycle through a function-local import and a
    model module importing the runtime is caught by both."""
    graph = {"scowl.model.a": {"scowl.runtime.actor": (3, True)},
             "scowl.runtime.actor": {"scowl.model.a": (9, False)},
             "scowl.report.x": {"scowl.commands.run": (5, False)}}
    assert imports.cycles(graph) == [["scowl.model.a", "scowl.runtime.actor"]]
    found = layer_violations(graph)
    assert any("scowl.model.a:3 imports scowl.runtime.actor" in f for f in found)
    assert any("scowl.runtime.actor:9 imports scowl.model.a" in f for f in found)
    assert any("nothing below the command line" in f for f in found)


def test_type_checking_imports_count_for_cycles_only():
    src = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from scowl.runtime import Actor\ndef f():\n    import scowl.wire\n"
    tree = ast.parse(src)
    found = imports._imports(tree, "scowl.model.x", False, {"scowl.runtime", "scowl.wire"})
    assert [(name, top) for name, _line, top in found if name.startswith("scowl")] == [("scowl.wire", False)]
    typed = imports._imports(tree, "scowl.model.x", False, {"scowl.runtime", "scowl.wire"}, type_only=True)
    assert sorted(name for name, _line, _top in typed if name.startswith("scowl")) == ["scowl.runtime", "scowl.wire"]



def test_the_scenario_reads_only_the_models_reference_data():
    """The model takes a Scenario (its modules annotate with it), so the scenario must not
    reach back into the model beyond its reference data tables (scowl.model.data): that was
    the last cycle (config -> model.mix -> config)."""
    graph = imports.import_graph(type_only=True)
    found = [f"{m}:{line} imports {t}" for m, edges in sorted(graph.items()) if _under(m, "scowl.config")
             for t, (line, _top) in sorted(edges.items()) if _under(t, "scowl.model") and t != "scowl.model.data"]
    assert found == [], "\n".join(found)
