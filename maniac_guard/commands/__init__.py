"""The commands, one module each; each returns an exit code. `cli.py` only
wires click to them. Nothing below this package imports it."""
