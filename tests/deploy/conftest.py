"""Leaving nothing behind: a namespace run must end with no namespace, nft table, iptables
rule or child process of its own (shared by every test that brings hosts up)."""

from __future__ import annotations

import subprocess

import psutil
import pytest

from scowl.deploy.netns import STATE_DIR, list_namespaces


class LeakCheck:
    """Snapshot the root namespace's ruleset on creation; `check(run_id)` after the run."""

    def __init__(self) -> None:
        self.before = self.ruleset()

    @staticmethod
    def ruleset() -> str:
        return subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout

    def check(self, run_id: str) -> None:
        left = [ns for ns in list_namespaces() if ns.startswith(f"sc{run_id}")]
        assert left == [], f"namespaces left behind: {left}"
        assert self.ruleset() == self.before, "the root namespace's nft/iptables ruleset changed"
        children = [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
        assert children == [], f"child processes left behind: {[c.cmdline() for c in children]}"
        strays = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
                  if f"sc{run_id}" in " ".join(p.info["cmdline"] or [])]
        assert strays == [], f"processes of run {run_id} left behind: {strays}"
        assert not (STATE_DIR / f"{run_id}.json").exists()


@pytest.fixture(scope="session")
def leak_check():
    """The LeakCheck class: `lc = leak_check()` before bringing hosts up, `lc.check(run_id)` after."""
    return LeakCheck
