"""Least privilege for Maniac keys (rules MG4xx).

- `yamlsafe`: YAML to plain values with a line for every YAML path, safely;
- `scopes`: maniac-guard's own scope catalog (`rules/scopes.yaml`);
- `declarations`: recognising and validating key declarations (JSON Schema);
- `policy`: the built-in and user policies, waivers, evaluation;
- `infer`: which scopes Python code needs (libcst);
- `check`: one declaration file to findings (used by `scan` and `policy`).
"""
