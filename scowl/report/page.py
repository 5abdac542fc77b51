"""The report as one HTML page (inline CSS, PNGs beside it): the eight answers at a glance, one
section per question with its evidence, then reproducibility."""

from __future__ import annotations

import datetime as dt
from html import escape

from scowl.report.answer import Answer

CSS = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-top: 1px solid #ccc; padding-top: 0.8em; margin-top: 1.6em; }
.meta { color: #555; font-size: 13px; }
.answer { font-size: 17px; background: #eef6ee; border-left: 4px solid #3a3; padding: 0.5em 0.8em; }
.reason { font-size: 17px; background: #f6f0e4; border-left: 4px solid #c90; padding: 0.5em 0.8em; }
table { border-collapse: collapse; font-size: 13px; margin: 0.6em 0; }
td, th { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; text-align: left; }
table.num { font-size: 11px; } table.num td { text-align: right; white-space: nowrap; } table.num td:first-child { text-align: left; }
.wide { overflow-x: auto; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 13px; color: #444; }
code { font-size: 12px; background: #f4f4f4; padding: 1px 3px; word-break: break-all; }
ul.details { font-size: 14px; }
"""


def _glance(answers: list[Answer]) -> str:
    rows = "".join(f'<tr><td><a href="#q{a.number}">{a.number}</a></td><td>{escape(a.question)}</td>'
                   f'<td>{escape(a.headline) if a.answered else "<em>not answered:</em> " + escape(a.reason)}</td></tr>'
                   for a in answers)
    return f"<table><tr><th>#</th><th>question</th><th>answer</th></tr>{rows}</table>"


def _section(a: Answer) -> str:
    parts = [f'<h2 id="q{a.number}">{a.number}. {escape(a.question)}</h2>']
    if a.answered:
        parts.append(f'<p class="answer">{escape(a.headline)}</p>')
    else:
        parts.append(f'<p class="reason"><strong>Not answered:</strong> {escape(a.reason)}</p>')
    if a.details:
        parts.append('<ul class="details">' + "".join(f"<li>{escape(d)}</li>" for d in a.details) + "</ul>")
    if a.table_html:
        parts.append(f'<div class="wide">{a.table_html}</div>')
    for f in a.figures:
        parts.append(f'<figure><img src="{escape(f.file)}" alt="{escape(f.caption)}"><figcaption>{escape(f.caption)}. '
                     f'Reproduce the runs: <code>{escape(f.command)}</code>, then the report command below.</figcaption></figure>')
    if a.sources:
        parts.append('<p class="meta">From: ' + ", ".join(f"<code>{escape(s)}</code>" for s in a.sources) + "</p>")
    return "\n".join(parts)


def _table(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(r.get(k, '')))}</td>" for k in keys) + "</tr>" for r in rows)
    return f'<div class="wide"><table><tr>{head}</tr>{body}</table></div>'


def render(answers: list[Answer], doc: dict) -> str:
    answered = sum(a.answered for a in answers)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Scowl evaluation report</title><style>{CSS}</style></head>
<body>
<h1>Scowl evaluation report</h1>
<p class="meta">The seed notebook's eight evaluation questions, in its order; {answered} of 8 answered from the runs given.
Made {now} by <code>{escape(doc['command'])}</code>.</p>
{_glance(answers)}
{"".join(_section(a) for a in answers)}
<h2 id="repro">Reproducibility</h2>
<p>Each input, the config and seed it ran, the version of the code, and the command that reproduces it.
Run those commands, then <code>{escape(doc['command'])}</code> redraws every figure here.</p>
{_table(doc['inputs'])}
<h3>Machines</h3>
{_table(doc['machines'])}
<p class="meta">CPU figures are wall-clock measurements on a possibly shared machine: other work on it lowers rates and raises
CPU shares; compare runs made together.</p>
</body></html>
"""
