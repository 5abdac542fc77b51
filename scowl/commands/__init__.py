"""Subcommands of `scowl`, one module each (see scowl.cli)."""
