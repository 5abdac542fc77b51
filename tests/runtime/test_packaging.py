"""The import namespace stays clean: actors and broker ship as scowl.actors and scowl.broker."""

import importlib.util
import subprocess
import sys


def test_no_top_level_actors_or_broker_package():
    code = "import importlib.util as u; assert u.find_spec('actors') is None and u.find_spec('broker') is None"
    # run outside the repo root, where the root is not on sys.path
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")


def test_subpackages_import_under_scowl():
    for name in ("scowl.actors", "scowl.broker", "scowl.runtime", "scowl.wire"):
        assert importlib.util.find_spec(name) is not None, name


def test_cli_help_works():
    for cmd in (["scowl-node", "--help"], ["scowl", "--help"]):
        out = subprocess.run([sys.executable, "-m", "scowl.node_cli" if cmd[0] == "scowl-node" else "scowl", "--help"],
                             capture_output=True, text=True, check=True, cwd="/")
        assert "usage" in out.stdout
    out = subprocess.run([sys.executable, "-m", "scowl.node_cli", "--help"], capture_output=True, text=True, cwd="/")
    for role in ("bootstrap", "broker", "tracker", "generator", "consumer", "storage", "metronome"):
        assert role in out.stdout


def test_setup_cfg_lists_every_subpackage():
    """An unlisted subpackage imports in an editable install but is missing from the wheel
    (scowl.security was: the installed scowl-node died on import)."""
    import configparser
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    on_disk = {".".join(p.parent.relative_to(root).parts) for p in (root / "scowl").rglob("__init__.py")}
    assert on_disk - listed == set(), f"add to setup.cfg [options] packages: {sorted(on_disk - listed)}"
