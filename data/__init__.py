"""Packaged data files (CSV, README): load with importlib.resources.files("scowl.data")."""
