"""`scowl protocol [--markdown | --check FILE | --write FILE]`: the wire protocol's message
catalogue, generated from the wire definitions (scowl.protocol_doc)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocol", help="print the wire protocol's message catalogue, or check/refresh docs/protocol.md",
                       description="The wire protocol's message catalogue (every message type, its fields in wire order "
                       "with types and defaults, batch column dtypes, code enumerations), generated from the wire "
                       "definitions. docs/protocol.md explains the rest (sockets, packets, join and tick sequences).")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--markdown", action="store_true", help="print the catalogue as Markdown (the default)")
    mode.add_argument("--check", metavar="FILE", help="exit 1 and say what differs when FILE's catalogue is not this build's")
    mode.add_argument("--write", metavar="FILE", help="replace FILE's generated catalogue section with this build's")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scowl import protocol_doc

    if args.check:
        found = protocol_doc.problems(Path(args.check).read_text(), args.check)
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    if args.write:
        protocol_doc.write(Path(args.write))
        print(f"wrote the message catalogue into {args.write}")
        return 0
    print(protocol_doc.catalogue_markdown(), end="")
    return 0
