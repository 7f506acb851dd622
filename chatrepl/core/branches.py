"""Earlier branches of a conversation: what `/edit` keeps and `/branch K` returns to.

The conversation's `messages` are always the active path. Where a message was edited,
a `Fork` at that index keeps the other versions of everything from there on, each a
`Branch` (its messages and the forks further down it, at absolute indices). The active
path takes its place `position` in a fork's numbering, so numbers stay put as the user
switches back and forth. Everything here is a pure function of (messages, forks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chatrepl.core.messages import Message

Forks = Mapping[int, "Fork"]


@dataclass(frozen=True, slots=True)
class Branch:
    """One inactive version of a conversation's tail, from its fork point on."""

    messages: tuple[Message, ...]
    forks: tuple[Fork, ...] = ()  # forks further down this branch (absolute indices)


@dataclass(frozen=True, slots=True)
class Fork:
    """The other versions of the conversation from message `at` on."""

    at: int
    others: tuple[Branch, ...]
    position: int  # where the active path sits among them when listed

    def listed(self, active: Branch | None) -> list[Branch]:
        """Every version in its stable order (the active one, if any, in its place)."""
        full = list(self.others)
        if active is not None:
            full.insert(min(self.position, len(full)), active)
        return full


@dataclass(frozen=True, slots=True)
class BranchRow:
    """One line of /branches."""

    number: int  # what /branch K takes
    turn: int  # the turn the branch starts at (1-based)
    version: int  # 1-based among that turn's versions
    versions: int
    current: bool
    first_line: str
    messages: int


def _tail(messages: Sequence[Message], forks: Forks, at: int) -> Branch | None:
    if at >= len(messages):
        return None  # the active path ends at the fork point (after /undo)
    below = tuple(forks[i] for i in sorted(forks) if i > at)
    return Branch(tuple(messages[at:]), below)


def split_off(
    messages: Sequence[Message], forks: Forks, at: int
) -> tuple[list[Message], dict[int, Fork]]:
    """Keep messages before `at` active; the tail from `at` becomes an earlier branch.

    The version that replaces it (sent next) will be listed last.
    """
    kept = {i: f for i, f in forks.items() if i < at}
    tail = _tail(messages, forks, at)
    existing = forks.get(at)
    if tail is None:
        if existing is not None:
            kept[at] = Fork(at, existing.others, len(existing.others))
        return list(messages[:at]), kept
    others = existing.listed(tail) if existing is not None else [tail]
    kept[at] = Fork(at, tuple(others), len(others))
    return list(messages[:at]), kept


def switch(
    messages: Sequence[Message], forks: Forks, at: int, version: int
) -> tuple[list[Message], dict[int, Fork]]:
    """Make version `version` (0-based, in listed order) of fork `at` the active path."""
    fork = forks[at]
    full = fork.listed(_tail(messages, forks, at))
    chosen = full.pop(version)
    kept = {i: f for i, f in forks.items() if i < at}
    kept[at] = Fork(at, tuple(full), version)
    kept.update({f.at: f for f in chosen.forks})
    return [*messages[:at], *chosen.messages], kept


def prune(messages: Sequence[Message], forks: Forks) -> dict[int, Fork]:
    """The forks still reachable once the active path is `messages` (after /undo)."""
    kept: dict[int, Fork] = {}
    for at, fork in forks.items():
        if at < len(messages):
            kept[at] = fork
        elif at == len(messages):  # the path ends here: its versions stay reachable
            kept[at] = Fork(at, fork.others, len(fork.others))
    return kept


def _first_line(branch: Branch | None) -> str:
    if branch is None:
        return "(nothing yet)"
    text = next((m.content for m in branch.messages if m.content.strip()), "")
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= 60 else line[:59] + "…"


def rows(messages: Sequence[Message], forks: Forks) -> list[BranchRow]:
    """Every version at every fork on the active path, numbered for /branch K."""
    out: list[BranchRow] = []
    for at in sorted(forks):
        if at > len(messages):
            continue
        active = _tail(messages, forks, at)
        fork = forks[at]
        full = fork.listed(active)
        turn = sum(1 for m in messages[:at] if m.role == "user") + 1
        current = min(fork.position, len(fork.others)) if active is not None else -1
        for version, branch in enumerate(full):
            out.append(
                BranchRow(
                    number=len(out) + 1,
                    turn=turn,
                    version=version + 1,
                    versions=len(full),
                    current=version == current,
                    first_line=_first_line(branch),
                    messages=len(branch.messages),
                )
            )
    return out


def locate(messages: Sequence[Message], forks: Forks, number: int) -> tuple[int, int] | None:
    """The (fork index, version) that /branch `number` means, if it exists."""
    for at in sorted(forks):
        if at > len(messages):
            continue
        count = len(forks[at].listed(_tail(messages, forks, at)))
        if number <= count:
            return at, number - 1
        number -= count
    return None
