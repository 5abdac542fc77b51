"""`scowl approve RUN --name NAME --public-key=Z85 [--role generator]`: the operator approves
a peer's own CURVE key to join a running grid without the join token (docs/protocol.md,
section 5). The key is enrolled in RUN's table, marked joined; its holder then sends `join`
with an empty token, and the bootstrap admits it by the key it authenticated with."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from scowl.membership import JOINABLE_ROLES

    p = sub.add_parser("approve", help="approve a peer's public key to join a running grid (no join token needed)",
                       description="Enrol a peer the run plan does not name, by the public key it made itself, so the "
                       "bootstrap admits its `join` without the join token. Only for runs with CURVE keys.")
    p.add_argument("run", help="the run directory (`scowl run --out`), holding plan.json and keys/")
    p.add_argument("--name", required=True, help="the peer's name (unique in the run)")
    p.add_argument("--public-key", required=True, help="its CURVE public key, 40 Z85 characters")
    p.add_argument("--role", default=JOINABLE_ROLES[0], choices=JOINABLE_ROLES, help="the role it joins as")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scowl.errors import UsageError
    from scowl.plan import RunPlan
    from scowl.security import Enrolment, EnrolmentError

    plan_path = Path(args.run) / "plan.json"
    if not plan_path.is_file():
        raise UsageError(f"{plan_path}: no run plan (give the directory `scowl run --out` wrote)")
    plan = RunPlan.load(plan_path)
    if not plan.keys_dir:
        raise UsageError(f"{args.run}: this run has no CURVE keys (security off or inproc): approve needs them; use the join token")
    if args.name in {"bootstrap", "broker", "metronome", *plan.names()}:
        raise UsageError(f"--name {args.name!r}: a peer of the run's plan already has that name")
    try:
        Enrolment.load(plan.keys_dir).add(args.name, args.role, args.public_key, joined=True)
    except EnrolmentError as exc:
        raise UsageError(f"--public-key: {exc}") from None
    print(f"approved {args.name} ({args.role}): its key may join {args.run} without the token")
    return 0
