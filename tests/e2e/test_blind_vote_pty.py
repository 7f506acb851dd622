"""The blind comparison a user votes on, in a real terminal against the loopback server:
`/compare --blind` hides the names, `/vote A` records the vote and shows them, the next
question flips the order, and the votes file holds what the screen said."""

from __future__ import annotations

import json
import os
import re

from fakeserver import FakeServer
from terminal import Terminal, chat_env

from chatrepl.adapters.votes_store import votes_path

QUESTION = "which is better #demo"


def _revealed_a(text: str) -> str:
    """The model the reveal table names as column A."""
    found = re.search(r"A · (model-[xy])", text)
    assert found, text
    return found.group(1)


def test_blind_compare_then_vote_in_a_terminal(
    fake_server: FakeServer, started: list[Terminal]
) -> None:
    # the session's own model is another one: its name is on screen from the start
    term = Terminal(["-m", "model-s"], chat_env(fake_server.url), cols=120, rows=40)
    started.append(term)
    term.wait_for_prompt()
    command = f"/compare --blind model-x model-y -- {QUESTION}"
    term.type(command)
    shown = term.wait_for_after(command, "shown after /vote")  # below the typed line
    assert "You said: which is better #demo" in shown
    assert "model-x" not in shown and "model-y" not in shown  # names hidden until the vote
    assert re.search(r"^A +│ B", shown, re.M)  # the columns say A and B instead

    term.type("/vote A")
    after = term.wait_for_after("/vote A", "vote recorded")
    first_a = _revealed_a(after)
    first_b = "model-y" if first_a == "model-x" else "model-x"
    assert f"B · {first_b}" in after
    assert f"vote recorded: A ({first_a}) beat B ({first_b})" in after
    (line,) = [json.loads(text) for text in votes_path(os.environ).read_text().splitlines()]
    assert line["winner"] == first_a and line["outcome"] == "A" and line["blind"] is True
    assert [s["model"] for s in line["sides"]] == [first_a, first_b]
    assert line["prompt"] == QUESTION and line["tags"] == ["demo"]
    assert all(s["text_length"] == len(f"You said: {QUESTION}") for s in line["sides"])
    assert "inf-testkey" not in votes_path(os.environ).read_text()

    term.type("/vote B")
    term.wait_for("this comparison already has its vote (A)")

    # a new question flips the order: what was A is B now
    command = "/compare --blind model-x model-y -- and now?"
    term.type(command)
    term.wait_for_after(command, "shown after /vote")
    term.type("/vote B")
    again = term.wait_for_after(command, "vote recorded")
    assert f"B · {first_a}" in again
    second = json.loads(votes_path(os.environ).read_text().splitlines()[1])
    assert second["winner"] == first_a and second["outcome"] == "B"

    term.type("/leaderboard")
    board = term.wait_for("2 blind votes")
    assert re.search(rf"1 +{first_a} .* few votes", board)
    term.type("/exit")
    assert term.exit_code() == 0
