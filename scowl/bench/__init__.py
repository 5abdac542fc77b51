"""Benchmarks that print their figures (`scowl bench NAME [--json]`), one module each.

Each module exposes `add_arguments(parser)` and `measure(args) -> dict` (a flat-ish dict
of figures) and `render(figures) -> str` (the human table)."""
