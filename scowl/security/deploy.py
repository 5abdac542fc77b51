"""Keys for a multi-host run (`scowl deploy`): enrol every actor of the plan once, then give
each host only what it needs: the enrolment table and every public key (to pin its peers'),
and the secret keys of its own actors (mode 0600), never another host's.

    python -m scowl.security.deploy PLAN.json OUT_DIR   ->  OUT_DIR/<host>/{enrolment.json, *.key, own *.key_secret}
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

from scowl.plan import RunPlan
from scowl.security.keys import ENROLMENT_FILE, enrol_plan


def host_key_dirs(plan: RunPlan, out_dir: str | Path) -> dict[str, Path]:
    """Enrol the plan's actors in OUT_DIR/all (fresh keys) and split them per host."""
    out = Path(out_dir)
    everyone = out / "all"
    enrol_plan(replace(plan, keys_dir=str(everyone)))
    names = ["bootstrap", "broker", "metronome", *plan.names()]
    dirs: dict[str, Path] = {}
    for host in sorted({plan.hosts.get(n, "local") for n in names}):
        d = out / host
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True, mode=0o700)
        shutil.copy2(everyone / ENROLMENT_FILE, d / ENROLMENT_FILE)
        for key in everyone.glob("*.key"):
            shutil.copy2(key, d / key.name)
        for name in names:
            if plan.hosts.get(name, "local") == host:
                shutil.copy2(everyone / f"{name}.key_secret", d / f"{name}.key_secret")  # copy2 keeps 0600
        dirs[host] = d
    shutil.rmtree(everyone)  # secrets live only in their host's directory
    return dirs


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m scowl.security.deploy PLAN.json OUT_DIR", file=sys.stderr)
        return 2
    for host, d in host_key_dirs(RunPlan.load(args[0]), args[1]).items():
        print(f"{host} {d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
