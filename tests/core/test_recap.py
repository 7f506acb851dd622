"""The one-line recap on resuming: title, turns, the last exchange cut to the width."""

from __future__ import annotations

import pytest

from chatrepl.core.conversation import Conversation
from chatrepl.core.messages import Message
from chatrepl.core.recap import cells, recap, shorten


def talk(*texts: str, name: str | None = None) -> Conversation:
    roles = ("user", "assistant")
    return Conversation([Message(roles[n % 2], t) for n, t in enumerate(texts)], name=name)


def test_title_turns_and_last_exchange_when_it_all_fits() -> None:
    line = recap(
        talk("What is SSE?", "Server-sent events.", "And in Rust?", "Use axum."),
        verb="continuing",
        width=120,
    )
    assert line == ("continuing “What is SSE?” · 2 turns · last: “And in Rust?” → “Use axum.”")


def test_the_name_wins_over_the_first_line() -> None:
    line = recap(talk("hi", "hello", name="SSE notes"), verb="loaded", width=80)
    assert line.startswith("loaded “SSE notes” · 1 turn · last: “hi” → “hello”")


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_long_messages_are_cut_to_the_width(width: int) -> None:
    question = "explain how the retry policy works when the server sends Retry-After " * 3
    answer = "The client waits for the delay the server asks for, up to a minute, and " * 20
    line = recap(talk("first\nsecond line", "x", question, answer), verb="continuing", width=width)
    assert cells(line) <= width - 1 and "\n" not in line
    assert line.startswith("continuing “first” · 2 turns")
    if width >= 60:
        assert "last: “expl" in line and "→ “The c" in line and "…" in line


def test_too_narrow_keeps_title_and_turns() -> None:
    line = recap(talk("q" * 50, "a" * 50), verb="continuing", width=30)
    assert cells(line) <= 29 and line.startswith("continuing “q")


def test_a_message_without_a_reply_says_retry() -> None:
    line = recap(talk("one", "two", "three"), verb="continuing", width=100)
    assert line.endswith("last: “three” (no reply yet — /retry sends it)")
    assert recap(Conversation(), verb="loaded", width=80) == "loaded · 0 turns"


def test_wide_characters_count_two_columns() -> None:
    assert cells("日本語") == 6
    assert shorten("日本語のテキスト", 7) == "日本語…"
    line = recap(talk("質問" * 40, "答え" * 40), verb="continuing", width=60)
    assert cells(line) <= 59
