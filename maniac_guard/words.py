"""Counted nouns for messages: "1 file", "2 files", "1 SDK call"."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`number` and the noun, plural unless the number is one (`plural`: an irregular form)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
