"""Transcript autosave and resume (issue 4). Placeholder wiring until transcripts land."""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatrepl.engine import Engine


def attach(engine: Engine, *, resume: bool, load: str | None, stack: ExitStack) -> None:
    """Restore a conversation and autosave it after every turn."""
    return None
