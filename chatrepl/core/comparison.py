"""What a comparison is, as values: the targets asked, their replies, and what became of it.

These are the seams between the parts of the comparison workflow: model specs resolve to
`Target`s (core/specs.py), the fan-out streams one reply per target (core/compare.py) into
a `Comparison`, the live view shows it (ui/compare_view.py), `/pick` keeps one of its
replies, and `/vote` records a vote about it (core/votes.py). Each of those modules adds
behaviour around these values; the values themselves stay plain.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatrepl.core.messages import Message
from chatrepl.core.reply import CompareResult

LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class Target:
    """One column of a comparison: a model, the endpoint it lives on, and its settings.

    `spec` is what the user typed (`heroku:claude-4-5-sonnet@temperature=0.2`);
    `profile` None means the session's own endpoint; `overrides` maps setting names
    (as in the settings table: `temperature`, `max_tokens`, ...) to their values.
    """

    spec: str
    model: str
    profile: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def header(self) -> str:
        """The column's heading: the model, its endpoint and every setting it overrides."""
        head = f"{self.profile}:{self.model}" if self.profile else self.model
        if not self.overrides:
            return head
        return head + " · " + ", ".join(f"{k}={v}" for k, v in self.overrides.items())


@dataclass(slots=True)
class Comparison:
    """One comparison: the shared messages, the question, each target and its reply.

    `order` is the display order (indexes into `targets`); it is the identity unless the
    comparison is blind. A blind comparison shows `LABELS[position]` instead of the model
    until `revealed`.
    """

    history: list[Message]
    question: str
    targets: list[Target]
    results: list[CompareResult] = field(default_factory=list)
    order: list[int] = field(default_factory=list)
    blind: bool = False
    revealed: bool = True
    picked: int | None = None  # index into targets
    turn: int = 0  # the conversation's user-turn number this comparison answers
    # the question was typed with the comparison (`-- QUESTION`, `/compare on`), so it is
    # not in the conversation yet: /pick adds it as the user turn; False: the last user
    # message was asked again, and /pick replaces its reply. The engine sets it when the
    # comparison becomes its `last_comparison` (core/picking.py).
    asked: bool = False
    voted: str | None = None  # the outcome /vote (or /pick) recorded: one vote per comparison

    def __post_init__(self) -> None:
        if not self.order:
            self.order = list(range(len(self.targets)))

    def label(self, index: int) -> str:
        """What target `index` is called on screen: its blind letter, or its header."""
        if self.blind and not self.revealed:
            return LABELS[self.order.index(index)]
        return self.targets[index].header

    def letter(self, index: int) -> str:
        """Target `index`'s letter in display order (A is the leftmost column)."""
        return LABELS[self.order.index(index)]

    def find(self, name: str) -> int | None:
        """The target a user means by a column number (1-based, display order), a letter,
        a spec or a model name; None when nothing or more than one matches."""
        text = name.strip()
        if text.isdigit():
            position = int(text) - 1
            return self.order[position] if 0 <= position < len(self.order) else None
        for key in ("spec", "header", "model"):  # a model called "a" beats letter A
            hits = [i for i, t in enumerate(self.targets) if _key(t, key) == text]
            if len(hits) == 1:
                return hits[0]
        if len(text) == 1 and text.upper() in LABELS[: len(self.targets)]:
            return self.order[LABELS.index(text.upper())]
        return None


def _key(target: Target, key: str) -> str:
    return target.header if key == "header" else str(getattr(target, key))


def blind_order(count: int, *, previous: Sequence[int] = (), rng: random.Random) -> list[int]:
    """A shuffled display order, never the same as `previous` (flipped for each question)."""
    order = list(range(count))
    if count < 2:
        return order
    while True:
        rng.shuffle(order)
        if list(previous) != order:
            return order
