"""The peers of the grid, one module per role (installed as scowl.actors)."""
