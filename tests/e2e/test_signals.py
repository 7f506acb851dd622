"""Signals, suspend, odd keys and huge pastes, in a real pseudo-terminal.

chatrepl runs under `sh -c 'stty -g >before; python -m chatrepl; stty -g >after'`, so the
terminal modes are compared exactly as a user's shell would find them; the screen
(through pyte) shows whether the cursor is visible and bracketed paste was turned off.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pyte
import pytest
from fakeserver import FakeServer, Reply
from terminal import COLS, ROWS, Terminal, _default_signals, chat_env

BRACKETED_PASTE = 2004 << 5  # how pyte records the private mode ?2004


class WrappedTerminal(Terminal):
    """chatrepl under a shell that records `stty -g` before and after it runs."""

    def __init__(self, args: list[str], env: dict[str, str], folder: Path) -> None:
        self.folder = folder
        self.screen = pyte.HistoryScreen(COLS, ROWS, history=5000)
        self.stream = pyte.ByteStream(self.screen)
        command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "chatrepl", *args])
        script = (
            f"stty -g > {folder}/before; {command}; echo $? > {folder}/status; "
            f"stty -g > {folder}/after"
        )
        self.child = pexpect.spawn(
            "/bin/sh", ["-c", script], env=env, dimensions=(ROWS, COLS), preexec_fn=_default_signals
        )
        self.raw = b""
        self.answer_cpr, self._tail = False, b""

    def chatrepl_pid(self, timeout: float = 10) -> int:
        """The pid of chatrepl itself (the shell's child)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self.child.pid}/task/{self.child.pid}/children")
            pids = children.read_text().split() if children.exists() else []
            if pids:
                return int(pids[0])
            time.sleep(0.02)
        raise AssertionError("chatrepl did not start")

    def finish(self, timeout: float = 15) -> int:
        """Wait for the shell to end; chatrepl's exit status."""
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            self.pump()
        self.pump()
        assert not self.child.isalive(), f"still running:\n{self.text()}"
        return int((self.folder / "status").read_text())

    def modes_restored(self) -> bool:
        before = (self.folder / "before").read_text()
        return before.strip() != "" and before == (self.folder / "after").read_text()


@pytest.fixture
def wrapped(fake_server: FakeServer, tmp_path: Path) -> Iterator[WrappedTerminal]:
    term = WrappedTerminal([], chat_env(fake_server.url, INFERENCE_MODEL_ID="m"), tmp_path)
    term.wait_for_prompt()
    yield term
    term.close()


def last_session() -> list[dict]:
    folder = Path(os.environ["XDG_DATA_HOME"]) / "chatrepl" / "sessions"
    newest = max(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    return [json.loads(line) for line in newest.read_text().splitlines()[1:]]


SIGNALS = [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGQUIT, 131)]


@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=["TERM", "HUP", "QUIT"])
def test_a_signal_mid_reply_saves_it_restores_the_terminal_and_exits_128_plus(
    wrapped: WrappedTerminal, fake_server: FakeServer, signum: int, status: int
) -> None:
    fake_server.enqueue(Reply.hanging("Half of the answer"))
    wrapped.type("tell me everything")
    wrapped.wait_for("Half of the answer")
    os.kill(wrapped.chatrepl_pid(), signum)
    assert wrapped.finish() == status
    assert wrapped.modes_restored()
    assert not wrapped.screen.cursor.hidden and BRACKETED_PASTE not in wrapped.screen.mode
    assert "Traceback" not in wrapped.text()
    user, reply = last_session()
    assert user == {"role": "user", "content": "tell me everything"}
    assert reply["content"] == "Half of the answer" and reply["stats"]["interrupted"] is True


@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=["TERM", "HUP", "QUIT"])
def test_a_signal_at_the_prompt_restores_the_terminal(
    wrapped: WrappedTerminal, signum: int, status: int
) -> None:
    wrapped.type("saved before the signal")
    wrapped.wait_for("You said: saved before the signal")
    wrapped.wait_for_prompt()
    wrapped.child.send("half-typed")  # raw mode and bracketed paste are on now
    time.sleep(0.1)
    os.kill(wrapped.chatrepl_pid(), signum)
    assert wrapped.finish() == status
    assert wrapped.modes_restored()
    assert not wrapped.screen.cursor.hidden and BRACKETED_PASTE not in wrapped.screen.mode
    assert [m["content"] for m in last_session()] == [
        "saved before the signal",
        "You said: saved before the signal",
    ]


def test_every_ordinary_exit_restores_the_terminal(
    wrapped: WrappedTerminal, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply(body=[]))  # a reply that used to kill the REPL mid-render
    wrapped.type("hi")
    wrapped.wait_for("not a chat reply")
    wrapped.wait_for_prompt()
    wrapped.child.sendeof()
    assert wrapped.finish() == 0
    assert wrapped.modes_restored() and not wrapped.screen.cursor.hidden


def test_a_closed_terminal_mid_reply_saves_the_partial_reply(fake_server: FakeServer) -> None:
    hanging = Reply.hanging("What I had so far")
    fake_server.enqueue(hanging)
    term = Terminal([], chat_env(fake_server.url, INFERENCE_MODEL_ID="m"))
    try:
        term.wait_for_prompt()
        term.type("a question")
        term.wait_for("What I had so far")
        os.close(term.child.child_fd)  # the window closes: the kernel hangs up the terminal
        term.child.child_fd = -1
        assert term.child.ptyproc.wait() == 129
        assert hanging.disconnected.wait(5)
        reply = last_session()[-1]
        assert reply["content"] == "What I had so far" and reply["stats"]["interrupted"] is True
    finally:
        term.close()


class ShellTerminal(Terminal):
    """An interactive bash in a pty: job control, as a user's shell has it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.screen = pyte.HistoryScreen(COLS, ROWS, history=5000)
        self.stream = pyte.ByteStream(self.screen)
        shell_env = {**env, "PS1": "shell$ "}
        args = ["--norc", "--noprofile", "-i"]
        self.child = pexpect.spawn(
            "bash", args, env=shell_env, dimensions=(ROWS, COLS), preexec_fn=_default_signals
        )
        self.raw = b""
        self.answer_cpr, self._tail = False, b""


def test_ctrl_z_suspends_and_fg_redraws(fake_server: FakeServer) -> None:
    # A process group of its own, under a job-control shell, is what lets Ctrl-Z stop it.
    term = ShellTerminal(chat_env(fake_server.url, INFERENCE_MODEL_ID="m"))
    try:
        term.wait_for("shell$")
        term.type(f"{sys.executable} -m chatrepl")
        term.wait_for_prompt()
        term.child.send("draft")
        time.sleep(0.1)
        term.child.send("\x1a")  # Ctrl-Z
        term.wait_for("Stopped")
        term.type("fg")
        term.wait_for_prompt()
        term.type(" continued")
        term.wait_for("You said: draft continued")
        assert "^Z" not in term.text()
    finally:
        term.close()


def process_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_ctrl_space_does_not_eat_the_rest_of_the_line(
    fake_server: FakeServer,
) -> None:
    term = Terminal([], chat_env(fake_server.url, INFERENCE_MODEL_ID="m"))
    try:
        term.wait_for_prompt()
        term.child.send("abc\x00def")  # terminals send Ctrl-Space as NUL
        term.type(" ghi")
        term.wait_for("You said: abcdef ghi")
        assert fake_server.chat_requests[-1].body["messages"][-1]["content"] == "abcdef ghi"
    finally:
        term.close()


def test_ctrl_c_during_a_retry_wait_stops_it_and_keeps_the_message(
    fake_server: FakeServer,
) -> None:
    fake_server.enqueue(Reply.error(503, "busy", headers={"Retry-After": "30"}))
    term = Terminal([], chat_env(fake_server.url, INFERENCE_MODEL_ID="m"))
    try:
        term.wait_for_prompt()
        term.type("worth waiting for")
        term.wait_for("HTTP 503 — retrying in 30.0 s (1/2)")
        term.child.sendintr()
        term.wait_for("interrupted before the reply began; /retry resends")
        term.wait_for_prompt()
        assert len(fake_server.chat_requests) == 1  # the wait was cut, not sat through
        term.type("/retry")
        term.wait_for("You said: worth waiting for")
    finally:
        term.close()


def test_undo_and_settings_changes_survive_continue(fake_server: FakeServer) -> None:
    term = Terminal([], chat_env(fake_server.url, INFERENCE_MODEL_ID="m"))
    try:
        term.wait_for_prompt()
        for text in ("keep me", "undo me"):
            term.type(text)
            term.wait_for(f"You said: {text}")
        for command, answer in [
            ("/undo", "removed the last exchange"),
            ("/model other-model", "model: other-model"),
            ("/system Be brief.", "system: Be brief."),
        ]:
            term.type(command)
            term.wait_for(answer)
        term.child.sendeof()
        assert term.exit_code() == 0
    finally:
        term.close()
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="m")
    result = pexpect.run(
        f"{sys.executable} -m chatrepl -c 'next'", env=env, withexitstatus=True, timeout=30
    )
    assert result[1] == 0, result[0]
    body = fake_server.chat_requests[-1].body
    assert body["model"] == "other-model"
    assert [m["content"] for m in body["messages"]] == [
        "Be brief.",
        "keep me",
        "You said: keep me",
        "next",
    ]


def test_url_credentials_never_reach_the_screen(fake_server: FakeServer) -> None:
    url = fake_server.url.replace("http://", "http://alice:hunter2-secret@")
    term = Terminal([], chat_env(url, INFERENCE_MODEL_ID="m"))
    try:
        term.wait_for_prompt()
        term.type("/settings")
        screen = term.wait_for("env INFERENCE_URL")
        assert "127.0.0.1" in screen
        assert "hunter2" not in screen and "alice" not in screen
        assert b"hunter2" not in term.raw
    finally:
        term.close()


def test_a_5_mb_bracketed_paste_arrives_whole(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply.text("got it"))
    line = "lorem ipsum dolor sit amet, consectetur adipiscing elit\n"
    text = (line * (5_000_000 // len(line) + 1))[:5_000_000]
    term = Terminal([], chat_env(fake_server.url, INFERENCE_MODEL_ID="m"))
    try:
        term.wait_for_prompt()
        data = memoryview(("\x1b[200~" + text + "\x1b[201~").encode())
        while data:
            data = data[os.write(term.child.child_fd, data[:65536]) :]
            term.pump(0)
        term.child.send("\r")
        term.wait_for("got it", timeout=60)
        assert fake_server.chat_requests[0].body["messages"][-1]["content"] == text.rstrip("\n")
    finally:
        term.close()


SLOW_CLI_IMPORT = """
import sys, time

class SlowCli:
    # Holds the import of chatrepl.app.cli open, as a slow disk or a busy box does.
    def find_spec(self, name, path=None, target=None):
        if name == "chatrepl.app.cli":
            sys.stderr.write("loading the cli\\n")
            sys.stderr.flush()
            time.sleep(20)
        return None

sys.meta_path.insert(0, SlowCli())
"""


@pytest.mark.parametrize("how", [["-m", "chatrepl"], ["console-script"]])
def test_ctrl_c_while_the_cli_still_loads_ends_with_130_and_no_traceback(
    tmp_path: Path, how: list[str]
) -> None:
    # Before `guarded` runs there is no boundary of ours: a SIGINT there used to end
    # Python through its own KeyboardInterrupt (killed by SIGINT, a traceback).
    (tmp_path / "sitecustomize.py").write_text(SLOW_CLI_IMPORT)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    script = Path(sys.executable).with_name("chatrepl")
    command = [str(script)] if how == ["console-script"] else [sys.executable, *how]
    if how == ["console-script"] and not script.exists():
        pytest.skip("no console script next to this Python")
    child = subprocess.Popen(
        [*command, "--version"], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stderr is not None
        assert child.stderr.readline() == b"loading the cli\n"
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130, err.decode()
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
