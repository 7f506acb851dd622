"""The one line shown on resuming a conversation (`-c`, `--load`, `/load`): where you
left off. Pure: the caller says how wide the screen is.

    continuing “SSE notes” · 3 turns · last: “and in Rust?” → “Rust has no bui…”

The name (or the first line of the first message, cut to a fifth of the width) and the
turn count come first; the last exchange gets what is left, the question up to half of
it, and is left out when too little is left to be worth reading.
"""

from __future__ import annotations

import unicodedata

from chatrepl.core.conversation import Conversation

DEFAULT_WIDTH = 100  # not a terminal: a line a log reader can still take in
_MIN_EXCHANGE = 10  # columns: below this the last exchange says nothing useful


def cells(text: str) -> int:
    """Columns `text` takes on a terminal (wide East Asian characters take two)."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
        for c in text
    )


def shorten(text: str, width: int) -> str:
    """`text` on one line, cut with … to at most `width` columns."""
    flat = " ".join(text.split())
    if cells(flat) <= width:
        return flat
    if width <= 0:
        return ""
    out, used = [], 0
    for char in flat:
        size = cells(char)
        if used + size > width - 1:
            break
        out.append(char)
        used += size
    return "".join(out).rstrip() + "…"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _last_exchange(conversation: Conversation) -> tuple[str, str | None] | None:
    """The last user message and the reply to it (None: not answered yet)."""
    messages = conversation.messages
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            after = messages[index + 1 :]
            answer = next((m.content for m in after if m.role == "assistant"), None)
            return messages[index].content, answer
    return None


def recap(conversation: Conversation, *, verb: str, width: int | None) -> str:
    """`verb “title” · N turns · last: “…” → “…”`, at most `width` - 1 columns (the
    last column is left free so no terminal wraps the line)."""
    budget = (width or DEFAULT_WIDTH) - 1
    first = next((m.content for m in conversation.messages if m.content.strip()), "")
    title = conversation.name or first.strip().split("\n", 1)[0]
    # the last exchange says more than the title: the title gets a fifth of the line
    head = f"{verb} “{shorten(title, max(12, budget // 5))}”" if title else verb
    head += f" · {_plural(conversation.turns, 'turn')}"
    last = _last_exchange(conversation)
    if last is None:
        return shorten(head, budget)
    question, answer = last
    question, answer = " ".join(question.split()), " ".join((answer or "").split())
    frame = " · last: “” → “”" if answer else " · last: “” (no reply yet — /retry sends it)"
    room = budget - cells(head) - cells(frame)
    if room < _MIN_EXCHANGE:
        return shorten(head if answer else f"{head} · no reply yet: /retry sends it", budget)
    # the question takes up to half, more when the answer is short; the answer the rest
    asked = min(cells(question), max(room // 2, room - cells(answer)))
    question = shorten(question, asked)
    if not answer:
        return f"{head} · last: “{question}” (no reply yet — /retry sends it)"
    return f"{head} · last: “{question}” → “{shorten(answer, room - cells(question))}”"
