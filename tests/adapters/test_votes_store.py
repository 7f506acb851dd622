"""The votes file on a real disk: one JSON line per vote, private, durable, and a bad line
that costs nothing but one warning."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from chatrepl.adapters.votes_store import VoteFile, votes_path
from chatrepl.core.errors import TranscriptError
from chatrepl.core.redact import Redactor
from chatrepl.core.votes import Side, Vote

KEY = "inf-0123456789abcdef-secret"


def _vote(prompt: str = "which is better?", outcome: str = "A", at: float = 1.0) -> Vote:
    sides = (Side("A", "alpha", "alpha", served_model="alpha-1"), Side("B", "beta", "beta"))
    return Vote(at, "s.json", 2, "ab" * 32, prompt, sides, outcome, True)


def test_votes_go_to_the_data_folder(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    assert votes_path(env) == tmp_path / "data" / "chatrepl" / "votes.jsonl"


def test_each_vote_is_one_line_appended_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "chatrepl" / "votes.jsonl"
    store = VoteFile(path)
    old = os.umask(0)  # a lax umask: the file and folder are private all the same
    try:
        store.append(_vote(outcome="A"))
        store.append(_vote(outcome="tie", at=2.0))
    finally:
        os.umask(old)
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["outcome"] == "A" and first["sides"][0]["served_model"] == "alpha-1"
    assert json.loads(lines[1])["outcome"] == "tie"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    votes, warning = store.read()
    assert [v.outcome for v in votes] == ["A", "tie"] and warning is None
    assert votes[0] == _vote(outcome="A")


def test_a_corrupt_line_is_skipped_with_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    store = VoteFile(path)
    store.append(_vote(at=1.0))
    with path.open("ab") as f:
        f.write(b'{"not": "a vote"}\n\xff\xfe garbage\n[1, 2]\n{"sides": [{"mod')  # torn tail
    store.append(_vote(at=2.0))  # starts on a line of its own
    votes, warning = store.read()
    assert [v.time for v in votes] == [1.0, 2.0]
    assert warning is not None and "4 lines that are not votes (line 2)" in warning
    assert warning.count("\n") == 0 and str(path) in warning


def test_one_bad_line_says_so_in_the_singular(tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    path.write_text("nonsense\n")
    votes, warning = VoteFile(path).read()
    assert votes == [] and warning is not None and "a line that is not a vote (line 1)" in warning


def test_no_file_is_no_votes(tmp_path: Path) -> None:
    assert VoteFile(tmp_path / "none.jsonl").read() == ([], None)


def test_the_key_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    VoteFile(path, redact=Redactor([KEY])).append(_vote(prompt=f"my key is {KEY}, right?"))
    text = path.read_text()
    assert KEY not in text and KEY[:12] not in text
    assert json.loads(text)["prompt"] == "my key is ***, right?"


def test_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TranscriptError, match=r"^could not record the vote in .*votes.jsonl: "):
        VoteFile(blocker / "votes.jsonl").append(_vote())
