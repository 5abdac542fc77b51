"""Packaged scenario files (TOML): load with importlib.resources.files("scowl.configs")."""
