"""The real chatrepl in a pseudo-terminal against the loopback fake server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply, sse_chunks
from terminal import Terminal, chat_env

KEY = "inf-testkey-0123456789abcdef"
Completed = subprocess.CompletedProcess[str]


@pytest.fixture
def term(fake_server: FakeServer) -> Iterator[Terminal]:
    terminal = Terminal([], chat_env(fake_server.url, INFERENCE_MODEL_ID="model-a"))
    terminal.wait_for_prompt()
    # the model names for Tab completion are fetched in the background (INFERENCE_URL is
    # Heroku's, so /available-models first, then /v1/models): let that finish first
    assert fake_server.wait_for_requests(2)
    yield terminal
    terminal.close()


def say(term: Terminal, text: str, expect: str | None = None) -> str:
    term.type(text)
    return term.wait_for(expect or f"You said: {text}")


def test_three_turns_send_the_whole_conversation(term: Terminal, fake_server: FakeServer) -> None:
    say(term, "first question")
    say(term, "second question")
    say(term, "third question")
    bodies = [r.body for r in fake_server.chat_requests]
    assert len(bodies) == 3
    third = bodies[2]["messages"]
    assert [m["role"] for m in third] == ["user", "assistant", "user", "assistant", "user"]
    assert [m["content"] for m in third] == [
        "first question",
        "You said: first question",
        "second question",
        "You said: second question",
        "third question",
    ]
    assert bodies[2]["model"] == "model-a"
    assert bodies[2]["stream"] is True and bodies[2]["stream_options"] == {"include_usage": True}
    assert "temperature" not in bodies[2] and "max_tokens" not in bodies[2]
    assert fake_server.connections == 1  # one connection reused across turns
    screen = term.text()
    assert "model-a · first token" in screen and "tokens" in screen  # the stats line


def test_slash_commands_change_the_next_request(term: Terminal, fake_server: FakeServer) -> None:
    term.type("/model model-b")
    term.wait_for("model: model-b")
    term.type("/temperature 0.25")
    term.wait_for("temperature: 0.25")
    term.type("/max_tokens 42")
    term.wait_for("max_tokens: 42")
    term.type("/system Be brief.")
    term.wait_for("system: Be brief.")
    say(term, "hello")
    body = fake_server.chat_requests[-1].body
    assert body["model"] == "model-b"
    assert body["temperature"] == 0.25 and body["max_tokens"] == 42
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    term.type("/max_tokens off")
    term.wait_for("max_tokens: off")
    say(term, "again")
    assert "max_tokens" not in fake_server.chat_requests[-1].body
    term.type("/settings")
    screen = term.wait_for("env INFERENCE_URL")
    assert "inf-…cdef" in screen and KEY not in screen
    rows = {
        line.split()[0]: line
        for line in screen.split("> /settings")[1].splitlines()
        if line.split()
    }
    assert "/temperature" in rows["temperature"] and "0.25" in rows["temperature"]
    assert "env INFERENCE_KEY" in rows["key"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("/temperature abc", "/temperature takes a number from 0 to 1 on Heroku, not 'abc'"),
        ("/temperature 5", "/temperature takes a number from 0 to 1 on Heroku, not '5'"),
        ("/max_tokens -3", "/max_tokens takes a positive whole number or 'off', not '-3'"),
        ("/modle x", "unknown command /modle; did you mean /model?"),
    ],
)
def test_bad_values_are_rejected_and_nothing_is_sent(
    term: Terminal, fake_server: FakeServer, command: str, message: str
) -> None:
    term.type(command)
    term.wait_for(message)
    term.type("/settings")
    screen = term.wait_for("env INFERENCE_URL")
    assert fake_server.chat_requests == []
    assert "/temperature" not in screen.split("Settings", 1)[1]  # nothing was changed
    assert "Traceback" not in screen


def test_ctrl_c_mid_stream_keeps_the_partial_reply(term: Terminal, fake_server: FakeServer) -> None:
    hanging = Reply.hanging("Partial answer that hangs")
    fake_server.enqueue(hanging)
    term.type("tell me a story")
    term.wait_for("Partial answer that hangs")
    term.child.sendintr()
    term.wait_for("interrupted")
    assert hanging.disconnected.wait(5), "the connection was not closed on Ctrl-C"
    term.wait_for_prompt()
    say(term, "go on")
    messages = fake_server.chat_requests[-1].body["messages"]
    assert messages[1] == {"role": "assistant", "content": "Partial answer that hangs"}
    assert term.child.isalive()


def test_ctrl_c_leaves_no_copy_of_the_live_region(term: Terminal, fake_server: FakeServer) -> None:
    # A full-width line in the live region and an echoed ^C used to wrap the screen and
    # leave a copy of the region's first line behind.
    text = "First paragraph, long enough to matter.\nSecond line\n\nThe tail that is still arriving"
    chunks = sse_chunks(text, 4, usage=False, done=False, finish=None)
    fake_server.enqueue(Reply(chunks=chunks, hold_after=len(chunks)))
    term.type("story")
    term.wait_for("still arriving")
    time.sleep(0.2)  # let the live region redraw at least once
    term.child.sendintr()
    term.wait_for("interrupted")
    term.wait_for_prompt()
    assert term.count("First paragraph, long enough to matter.") == 1
    assert term.count("still arriving") == 1


def test_http_500_then_retry(term: Terminal, fake_server: FakeServer) -> None:
    fake_server.enqueue(*[Reply.error(500, "upstream exploded")] * 3)  # outlast the retries
    term.type("important question")
    screen = term.wait_for("upstream exploded")
    assert "500" in screen and "/retry" in screen and "Traceback" not in screen
    term.type("/retry")
    term.wait_for("You said: important question")
    requests = fake_server.chat_requests
    assert len(requests) == 4 and requests[0].body == requests[3].body
    say(term, "next")
    roles = [m["role"] for m in fake_server.chat_requests[-1].body["messages"]]
    assert roles == ["user", "assistant", "user"]


def test_refused_connection_keeps_the_message(tmp_path: Path) -> None:
    terminal = Terminal([], chat_env("http://127.0.0.1:9", INFERENCE_MODEL_ID="m"))
    try:
        terminal.wait_for_prompt()
        terminal.type("are you there?")
        screen = terminal.wait_for("/retry resends", timeout=20)
        assert "127.0.0.1:9" in screen and "Traceback" not in screen
        assert terminal.child.isalive()
    finally:
        terminal.close()


def test_401_names_the_variable_and_hides_the_key() -> None:
    with FakeServer(require_key="the-right-key") as server:
        terminal = Terminal([], chat_env(server.url, INFERENCE_MODEL_ID="m"))
        try:
            terminal.wait_for_prompt()
            terminal.type("hello")
            # "refused the key", not "401": the port in the banner may hold "401"
            screen = terminal.wait_for("refused the key")
            assert "401" in screen and "INFERENCE_KEY" in screen and KEY not in screen
        finally:
            terminal.close()


def test_ctrl_c_at_the_prompt_clears_the_line_and_ctrl_d_exits(term: Terminal) -> None:
    term.type("half a thought", enter=False)
    term.wait_for("half a thought")
    term.child.sendintr()
    term.wait_for_prompt()
    assert term.child.isalive()
    term.child.sendcontrol("d")
    assert term.exit_code() == 0


def test_exit_command_and_history_without_key(term: Terminal) -> None:
    say(term, "remember me")
    term.type(f"my key is {KEY}")
    term.wait_for("You said: my key is ***")  # the server echoed it; the screen never shows it
    term.type("/exit")
    assert term.exit_code() == 0
    history = Path(os.environ["XDG_STATE_HOME"]) / "chatrepl" / "history"
    text = history.read_text()
    assert "remember me" in text and KEY not in text


def test_double_slash_sends_a_literal_slash(term: Terminal, fake_server: FakeServer) -> None:
    say(term, "//etc/hosts is a file", "You said: /etc/hosts is a file")
    assert fake_server.chat_requests[-1].body["messages"][-1]["content"] == "/etc/hosts is a file"


# --- one-shot and piped -------------------------------------------------------------


def run(args: list[str], env: dict[str, str], stdin: str | None = "") -> Completed:
    return subprocess.run(
        [sys.executable, "-m", "chatrepl", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_one_shot_prints_raw_text_and_exits_0(fake_server: FakeServer) -> None:
    result = run(["what", "is", "SSE?"], chat_env(fake_server.url))
    assert result.returncode == 0
    assert result.stdout == "You said: what is SSE?\n"
    assert fake_server.chat_requests[0].body["messages"] == [
        {"role": "user", "content": "what is SSE?"}
    ]


def test_piped_stdin_is_the_message(fake_server: FakeServer) -> None:
    result = run([], chat_env(fake_server.url), stdin="from a pipe\n")
    assert result.returncode == 0 and result.stdout == "You said: from a pipe\n"


def test_piped_stdin_follows_the_question(fake_server: FakeServer) -> None:
    result = run(["summarise:"], chat_env(fake_server.url), stdin="some text\n")
    assert result.returncode == 0
    sent = fake_server.chat_requests[0].body["messages"][0]["content"]
    assert sent == "summarise:\n\nsome text"  # the trailing newline of the pipe is dropped


def test_one_shot_api_failure_exits_1_with_the_message_on_stderr(fake_server: FakeServer) -> None:
    fake_server.enqueue(*[Reply.error(503, "overloaded")] * 3)
    result = run(["hi"], chat_env(fake_server.url))
    assert result.returncode == 1
    assert "503" in result.stderr and "overloaded" in result.stderr
    *waits, line = result.stderr.strip().splitlines()
    assert line == "error: HTTP 503: overloaded" and "Traceback" not in result.stderr
    assert [w.split(" — ")[0] for w in waits] == ["HTTP 503", "HTTP 503"]  # each wait shown
    assert result.stdout == ""


def test_one_shot_refused_connection_exits_1() -> None:
    result = run(["-m", "m", "hi"], chat_env("http://127.0.0.1:9"))
    assert result.returncode == 1 and "127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_one_shot_no_stream(fake_server: FakeServer) -> None:
    result = run(["--no-stream", "whole"], chat_env(fake_server.url))
    assert result.returncode == 0 and result.stdout == "You said: whole\n"
    assert fake_server.chat_requests[0].body["stream"] is False


def test_one_shot_in_a_terminal_renders(fake_server: FakeServer) -> None:
    terminal = Terminal(["hello", "there"], chat_env(fake_server.url))
    try:
        terminal.wait_for("You said: hello there")
        assert terminal.exit_code() == 0
    finally:
        terminal.close()


@pytest.mark.parametrize("started", [True, False], ids=["mid-reply", "before-the-reply"])
def test_ctrl_c_in_one_shot_mode_exits_130(fake_server: FakeServer, started: bool) -> None:
    reply = Reply.hanging("Half an answer") if started else Reply(pause=30, body={})
    fake_server.enqueue(reply)
    terminal = Terminal(["--no-save", "hi"], chat_env(fake_server.url))
    try:
        if started:
            terminal.wait_for("Half an answer")
        else:
            assert fake_server.wait_for_requests(1, timeout=10)
        terminal.child.sendintr()
        assert terminal.exit_code() == 130
        assert "Traceback" not in terminal.text()
    finally:
        terminal.close()
