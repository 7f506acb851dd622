"""What /compact and /trim leave out of a request, and the summary request /compact makes.

Both only ever cut at the start of a turn (a user message), so what is sent still
begins with the user and alternates as chat templates expect, and both always keep the
last turn. Nothing is deleted: the conversation keeps every message and a `Compaction`
record says which of them a request leaves out (see core/conversation.py).

/compact asks the model itself to summarise the turns it leaves out. When those turns
are too big for one request, they go in slices that each fit half the window, and each
slice's request carries the summary so far ("fold"), so any length can be compacted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatrepl.core.context import MESSAGE_OVERHEAD, estimate
from chatrepl.core.messages import Message

DEFAULT_KEEP = 2  # turns /compact keeps as they are, unless they alone would not fit
SLACK = 0.25  # of the window, kept free in a summary request for the estimate's error
SUMMARY_MAX_TOKENS = 1024  # the cap on a summary (an eighth of a small window at most)

SUMMARY_SYSTEM = (
    "You compress chat histories. Write a summary of the conversation you are given that "
    "lets an assistant carry on without it: keep every decision, fact, name, number, file "
    "and code identifier, the user's goals and preferences, and open questions; leave out "
    "greetings and filler. Write in the conversation's language, as short notes. Reply "
    "with the summary only."
)
_NOTE = "Summary of the earlier part of this conversation (written when it was compacted):"


def summary_note(summary: str) -> str:
    """The system note a summary is sent as."""
    return f"{_NOTE}\n\n{summary.strip()}"


def turn_starts(messages: Sequence[Message], start: int = 0) -> list[int]:
    """The indices of the user messages from `start` on: where a cut may fall."""
    return [i for i in range(start, len(messages)) if messages[i].role == "user"]


@dataclass(frozen=True, slots=True)
class Cut:
    """Leave messages[start:upto] out (turns `first`..`last`, 1-based)."""

    start: int
    upto: int
    first: int
    last: int
    kept_turns: int


def plan_cut(
    messages: Sequence[Message],
    *,
    start: int,
    keep: int | None = None,
    size_from: Callable[[int], int] | None = None,
    budget: int | None = None,
) -> Cut | None:
    """Where to cut: keep the last `keep` turns, or (with `budget`) the most recent turns
    that fit in it together (`size_from(i)`: the tokens of messages[i:] as sent). None
    when there is nothing before the kept turns to leave out."""
    starts = turn_starts(messages, start)
    if not starts:
        return None
    if keep is not None:
        keep = max(1, min(keep, len(starts)))
        upto = starts[-keep]
    else:
        assert size_from is not None and budget is not None
        upto = starts[-1]  # the last turn stays, whatever it weighs
        for index in reversed(starts[:-1]):
            if size_from(index) > budget:
                break
            upto = index
    if upto <= start:
        return None
    before = sum(1 for m in messages[:start] if m.role == "user")
    left_out = sum(1 for i in starts if i < upto)
    kept = sum(1 for i in starts if i >= upto)
    return Cut(start, upto, before + 1, before + left_out, kept)


def _speaker(message: Message) -> str:
    return {"user": "User", "assistant": "Assistant"}.get(message.role, "System")


def _clip(text: str, budget: int) -> str:
    """A message too big for one summary request: its head and tail, the middle marked."""
    limit = max(200, budget * 4)  # about `budget` tokens of text
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - 2 * half:,} characters left out …]\n{text[-half:]}"


def slices(messages: Sequence[Message], *, budget: int | None) -> list[str]:
    """The messages as "User: …" / "Assistant: …" text, cut into pieces of about
    `budget` tokens each (one piece when the window is unknown)."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for message in messages:
        text = message.content if budget is None else _clip(message.content, budget)
        block = f"{_speaker(message)}: {text}"
        tokens = estimate(block) + MESSAGE_OVERHEAD
        if budget is not None and current and size + tokens > budget:
            pieces.append("\n\n".join(current))
            current, size = [], 0
        current.append(block)
        size += tokens
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def summary_prompt(piece: str, previous: str | None, *, part: int, parts: int) -> str:
    """The user message of one summary request."""
    head = ""
    if previous:
        head = (
            "Here is the summary so far of the conversation before this part:\n\n"
            f"{previous.strip()}\n\nFold what follows into it and reply with the whole, "
            "updated summary.\n\n"
        )
    label = f" (part {part} of {parts})" if parts > 1 else ""
    return f"{head}The conversation{label}:\n\n{piece}\n\n(end of the conversation)"


def summary_cap(window: int | None) -> int:
    """The max_tokens of a summary request: 1,024, or an eighth of a small window."""
    return SUMMARY_MAX_TOKENS if window is None else max(64, min(SUMMARY_MAX_TOKENS, window // 8))


def slice_budget(window: int | None) -> int | None:
    """How much conversation text one summary request may carry: the window less the
    instructions, the summary so far, the summary to come, and slack for the estimate."""
    if window is None:
        return None
    cap = summary_cap(window)
    room = window - estimate(SUMMARY_SYSTEM) - 2 * cap - int(window * SLACK) - 64
    return max(64, room)
