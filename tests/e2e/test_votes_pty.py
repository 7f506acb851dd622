"""Votes and the leaderboard in a real terminal: `chatrepl --leaderboard` on a tty, and
/vote and /leaderboard in the REPL (read through the terminal emulator)."""

from __future__ import annotations

import os

from fakeserver import FakeServer
from terminal import Terminal, chat_env

from chatrepl.adapters.votes_store import VoteFile, votes_path
from chatrepl.core.votes import Side, Vote


def _record(x_wins: int, y_wins: int) -> None:
    store = VoteFile(votes_path(os.environ))
    x = Side("A", "model-x", "model-x", profile="heroku")
    y = Side("B", "model-y", "model-y", profile="heroku")
    for k in range(x_wins + y_wins):
        store.append(Vote(1.78e9 + k, None, 1, "", "q", (x, y), "A" if k < x_wins else "B", True))


def test_the_leaderboard_flag_on_a_terminal_is_a_table(started: list[Terminal]) -> None:
    _record(18, 6)
    term = Terminal(["--leaderboard"], chat_env("http://127.0.0.1:9"))
    started.append(term)
    assert term.exit_code() == 0
    text = term.text()
    assert "heroku:model-x" in text and "heroku:model-y" in text
    assert "95 % interval" in text and "24 blind votes" in text
    rows = [line.split() for line in text.splitlines() if line.strip().startswith(("1 ", "2 "))]
    # 18 wins to 6 is 3:1: a gap of 186 points here (the prior's pull on 24 votes), and
    # enough votes for the intervals to part (9 to 3 shares the first rank)
    assert rows[0][:3] == ["1", "heroku:model-x", "1093"]
    assert rows[1][:3] == ["2", "heroku:model-y", "907"]
    assert rows[0][4:8] == ["24", "18", "6", "0"]
    assert "Traceback" not in text


def test_vote_and_leaderboard_in_the_repl(fake_server: FakeServer, started: list[Terminal]) -> None:
    _record(2, 1)
    term = Terminal(["-m", "model-x"], chat_env(fake_server.url))
    started.append(term)
    term.wait_for_prompt()
    term.type("/vote A")
    term.wait_for("nothing to vote on: /compare --blind MODEL MODEL -- QUESTION first")
    term.type("/leaderboard --since soon")
    term.wait_for("--since takes a date")
    term.type("/lb")
    text = term.wait_for("3 blind votes")
    assert "few votes" in text and "heroku:model-y" in text
    assert "Traceback" not in text
    term.type("/exit")
    assert term.exit_code() == 0
