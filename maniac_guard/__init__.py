"""maniac-guard: find, fix and verify leaked Maniac API keys."""

__version__ = "0.1.0"
