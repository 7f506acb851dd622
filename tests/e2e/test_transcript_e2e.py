"""Transcripts end to end: the real chatrepl in a pseudo-terminal against the fake server.

A session is killed with SIGKILL and resumed with --continue; bad files fail at startup
with exit 2 and one line, and leave a running conversation alone; --no-save writes nothing.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply
from terminal import Terminal, chat_env

from chatrepl.adapters.storage import read_transcript


def sessions_dir() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "chatrepl" / "sessions"


def saved_turns(timeout: float = 10.0, *, at_least: int) -> Path:
    """Wait until the newest session file holds `at_least` turns; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(sessions_dir().glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
        if files and read_transcript(files[-1]).conversation.turns >= at_least:
            return files[-1]
        time.sleep(0.05)
    raise AssertionError(f"no session with {at_least} turns in {sessions_dir()}")


@pytest.fixture
def start(fake_server: FakeServer) -> Iterator:
    terminals: list[Terminal] = []

    def spawn(*args: str, prompt: bool = True, cols: int = 100) -> Terminal:
        env = chat_env(fake_server.url, INFERENCE_MODEL_ID="model-a", COLUMNS=str(cols))
        terminal = Terminal(list(args), env, cols=cols)
        terminals.append(terminal)
        if prompt:
            terminal.wait_for_prompt()
        return terminal

    yield spawn
    for terminal in terminals:
        terminal.close()


def say(term: Terminal, text: str) -> None:
    term.type(text)
    term.wait_for(f"You said: {text}")


def test_sigkill_mid_reply_then_continue_sends_every_earlier_message(
    start, fake_server: FakeServer
) -> None:
    term = start()
    for text in ("first question", "second question", "third question"):
        say(term, text)
    path = saved_turns(at_least=3)
    hanging = Reply.hanging("A reply that never ends")
    fake_server.enqueue(hanging)
    term.type("fourth question")
    term.wait_for("A reply that never ends")
    os.kill(term.child.pid, signal.SIGKILL)  # mid-stream: nothing may be half-written
    term.exit_code()
    assert not [p for p in sessions_dir().iterdir() if p.suffix != ".jsonl"]
    assert read_transcript(path).conversation.turns == 3

    again = start("--continue")
    again.wait_for("continuing “first question” · 3 turns · last: “third question”")
    say(again, "after the crash")
    sent = fake_server.chat_requests[-1].body["messages"]
    assert [m["content"] for m in sent] == [
        "first question",
        "You said: first question",
        "second question",
        "You said: second question",
        "third question",
        "You said: third question",
        "after the crash",
    ]
    assert fake_server.chat_requests[-1].body["model"] == "model-a"
    saved_turns(at_least=4)
    assert sorted(sessions_dir().iterdir()) == [path]  # the same conversation, continued


def _bad(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.json"
    if case == "not-json":
        path.write_text("hello, I am not a transcript")
    elif case == "truncated":
        path.write_text('{"format": "chatrepl.transcript", "version": 1, "messages": [{"ro')
    elif case == "binary":
        path.write_bytes(os.urandom(200) + b"\xff")
    elif case == "folder":
        path.mkdir()
    elif case == "version":
        path.write_text('{"format": "chatrepl.transcript", "version": 99, "messages": []}')
    return path  # "missing": never created


@pytest.mark.parametrize(
    "case", ["not-json", "truncated", "binary", "folder", "missing", "version"]
)
def test_load_of_a_bad_file_exits_2_with_one_line(start, tmp_path: Path, case: str) -> None:
    path = _bad(tmp_path, case)
    term = start("--load", str(path), prompt=False, cols=400)  # no wrapping of long paths
    assert term.exit_code() == 2
    lines = [line for line in term.text().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"chatrepl: {path}: ")
    assert "Traceback" not in term.raw.decode(errors="replace")


def test_slash_load_of_a_bad_file_leaves_the_conversation_intact(
    start, fake_server: FakeServer, tmp_path: Path
) -> None:
    term = start()
    say(term, "keep this")
    for case in ("truncated", "folder", "missing"):
        path = _bad(tmp_path, case)
        term.type(f"/load {path}")
        term.wait_for(f"{path}: ")
    say(term, "still here?")
    sent = fake_server.chat_requests[-1].body["messages"]
    assert [m["content"] for m in sent] == ["keep this", "You said: keep this", "still here?"]
    assert term.child.isalive()


def test_save_export_sessions_and_load_n(start, fake_server: FakeServer, tmp_path: Path) -> None:
    term = start()
    say(term, "alpha topic")
    term.type(f"/save {tmp_path}/chat.json")
    term.wait_for("saved 2 messages")
    term.type(f"/export {tmp_path}/chat.md")
    term.wait_for("exported 2 messages")
    term.type("/clear")
    term.wait_for("new conversation")
    say(term, "beta topic")
    saved_turns(at_least=1)
    term.type("/sessions")
    screen = term.wait_for("beta topic")
    assert "alpha topic" in screen and "model-a" in screen
    term.type("/load 2")  # the older one: alpha
    term.wait_for("loaded “alpha topic” · 1 turn · last: “alpha topic” → “You said: alpha")
    say(term, "back to alpha")
    sent = [m["content"] for m in fake_server.chat_requests[-1].body["messages"]]
    assert sent == ["alpha topic", "You said: alpha topic", "back to alpha"]
    for name in ("chat.json", "chat.md"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    loaded = read_transcript(tmp_path / "chat.md")
    assert [m.content for m in loaded.conversation.messages] == [
        "alpha topic",
        "You said: alpha topic",
    ]
    json.loads((tmp_path / "chat.json").read_text())


def test_no_save_writes_nothing(start, fake_server: FakeServer) -> None:
    term = start("--no-save")
    say(term, "do not keep this")
    say(term, "nor this")
    term.type("/exit")
    assert term.exit_code() == 0
    data = Path(os.environ["XDG_DATA_HOME"])
    assert not data.exists() or not [p for p in data.rglob("*") if p.is_file()]
    again = start("--continue", prompt=False)
    assert again.exit_code() == 2
    assert "no saved conversation to continue" in again.text()


def test_continue_and_load_show_a_one_line_recap_cut_to_the_width(
    fake_server: FakeServer,
) -> None:
    """Where you left off, in one line of a narrow terminal: the title, the turn count
    and the last exchange, shortened; the toolbar is drawn (cursor requests answered)."""
    cols = 80
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="model-a", COLUMNS=str(cols))
    first = Terminal([], env, cols=cols, answer_cpr=True)
    try:
        first.wait_for_prompt()
        say(first, "what does the retry policy do")
        first.type("and when the server sends a Retry-After header longer than a minute?")
        first.wait_for_after("You said: and when", "a minute?")  # the reply wraps
        first.type("/exit")
        assert first.exit_code() == 0
    finally:
        first.close()
    saved_turns(at_least=2)
    again = Terminal(["--continue"], env, cols=cols, answer_cpr=True)
    try:
        again.wait_for_prompt()
        lines = again.text().split("\n")
        (recap,) = [line for line in lines if line.startswith("continuing")]
        assert recap.startswith("continuing “what does the…” · 2 turns · last: “and when")
        assert "→ “You" in recap
        assert recap.endswith("…”") and len(recap) <= cols - 1  # cut, on one line
        following = lines[lines.index(recap) + 1]
        # nothing wrapped onto a second line: the banner or the prompt comes next
        assert not following.strip() or following.startswith(("chatrepl ", ">"))
        again.type("/load 1")
        screen = again.wait_for_after("/load 1", "loaded “what does")
        (loaded,) = [line for line in screen.split("\n") if line.startswith("loaded")]
        assert "· 2 turns · last: “and" in loaded and len(loaded) <= cols - 1
    finally:
        again.close()
