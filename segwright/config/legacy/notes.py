"""The translation notes and the state every translation step shares."""

from __future__ import annotations

from typing import Any


def format_notes(notes: list[str]) -> str:
    """The notes as a bulleted block for logs."""
    return "\n".join(f"  - {note}" for note in notes) if notes else "  (nothing changed meaning)"


class _TranslatorBase:
    """One translation's state: pops 0.x keys from ``src`` into ``out`` and collects notes."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.src = values
        self.out: dict[str, Any] = {}
        self.notes: list[str] = []
        self.default_hooks: dict[str, Any] = {}
        self.custom_hooks: list[Any] = []
        self.best: dict[str, Any] = {}
        self.env_cfg: dict[str, Any] = {}
        # translated key path -> the 0.x key it was made from, where guessing would go wrong
        # (two schedulers with the same arguments): read by origins.translated_layers.
        self.made_from: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def note(self, text: str) -> None:
        self.notes.append(text)
