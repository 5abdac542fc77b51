"""`scowl report RUN_DIR... --out DIR`: one HTML page answering the seed's eight questions from
day runs, scale sweeps and partition-size sweeps."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="an HTML report answering the seed's eight evaluation questions from runs and sweeps",
                       description="Read each RUN_DIR (a `scowl run` directory with summary.json, partitioned when its summary "
                       "has a partition section; a `scowl sweep` directory with sweep.json; or a partition-size sweep with "
                       "partition_sweep.json) and write DIR/index.html with its PNGs and DIR/answers.json: each question "
                       "with its number, the plot behind it, the runs it came from and the commands that reproduce it, "
                       "or the reason the given runs cannot answer it.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run, sweep or partition-sweep directories")
    p.add_argument("--out", required=True, help="report directory (index.html, *.png, answers.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scowl.report import build_report

    doc = build_report(args.run_dirs, args.out)
    for a in doc["answers"]:
        print(f"{a['number']}. {a['question']}\n   " + (a["headline"] if a["answered"] else "not answered: " + a["reason"]))
    print(f"\nreport in {doc['index']}")
    return 0
