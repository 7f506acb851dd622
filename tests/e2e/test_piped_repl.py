"""`chatrepl | tee log` and `chatrepl > log`: the keyboard is on a terminal, stdout is
not. The prompt and toolbar are drawn on the terminal (/dev/tty), and stdout gets the
conversation as plain text. The screen is read through the emulator (cursor-position
requests answered, so the toolbar is drawn), the log from its file."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from fakeserver import FakeServer
from terminal import Terminal, chat_env

# each line of a message quoted, as in a mail; a blank line before each one but the first
LOG_WANTED = (
    "> hello there\nYou said: hello there\n\n> second\n> line two\nYou said: second\nline two\n"
)


def converse(term: Terminal) -> None:
    term.wait_for("0 turns")
    term.type("hello there")
    term.wait_for("1 turn")  # in the toolbar, once the reply is in
    term.type("/model")
    term.wait_for("model: m")
    term.type("second\x1b\rline two")  # Esc Enter: a newline in the message
    term.wait_for("2 turns")
    time.sleep(0.3)
    term.pump()


def settled_log(path: Path, end: str = "line two\n") -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not path.read_text().endswith(end):
        time.sleep(0.05)
    return path.read_text()


@pytest.mark.parametrize("shell", ["CHATREPL | tee {log}", "CHATREPL > {log}"])
def test_the_prompt_is_drawn_on_the_terminal_and_stdout_gets_the_conversation(
    fake_server: FakeServer, tmp_path: Path, started: list[Terminal], shell: str
) -> None:
    log = tmp_path / "log"
    term = Terminal(
        [],
        chat_env(fake_server.url, INFERENCE_MODEL_ID="m"),
        rows=20,
        cols=100,
        answer_cpr=True,
        shell=shell.format(log=log),
    )
    started.append(term)
    converse(term)
    text = log.read_text() if log.exists() else ""
    assert settled_log(log) == LOG_WANTED, text  # no escape codes, no `>` lines, no banner
    screen = term.screen.display
    bottom = screen[-1]
    assert bottom.startswith(" m · ") and "2 turns" in bottom  # the toolbar, at the bottom
    lines = term.text().split("\n")  # scrollback too: the prompt makes room for its menu
    assert lines[0].startswith("chatrepl ") and "Ctrl-D to quit" in lines[0]  # the banner
    assert lines.count("> hello there") == 1  # once: tee's copy replaced the prompt's
    assert lines.count("> /model") == 1 and "model: m" in lines
    if "tee" in shell:  # tee shows the log on the terminal, in order
        first = lines.index("> hello there")
        assert lines[first + 1] == "You said: hello there"
        assert lines[first + 2].startswith("m · first token")  # the stats line, after it
    else:  # a file: the replies are only in it, as a line under the banner says
        assert "You said: hello there" not in lines
        assert lines[1] == "(the replies go to stdout, not to this screen)"
    term.child.sendeof()
    assert term.exit_code() == 0
    assert settled_log(log) == LOG_WANTED  # nothing added on the way out


@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid(1)")
def test_without_a_controlling_terminal_one_line_says_where_the_prompt_went(
    fake_server: FakeServer, tmp_path: Path, started: list[Terminal]
) -> None:
    # setsid: a new session, so /dev/tty cannot be opened, though stdin is still the pty
    log = tmp_path / "log"
    environment = chat_env(fake_server.url, INFERENCE_MODEL_ID="m")
    term = Terminal([], environment, shell=f"setsid CHATREPL > {log}")
    started.append(term)
    screen = term.wait_for("no /dev/tty")
    assert "stdout is not a terminal and there is no /dev/tty to draw the prompt on" in screen
    term.type("hello there")
    deadline = time.monotonic() + 10
    while "You said: hello there" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "You said: hello there" in log.read_text()  # as before: the prompt is in it too


def test_a_narrow_pane_with_no_color_piping_to_tee_shows_nothing_cut(
    fake_server: FakeServer, tmp_path: Path, started: list[Terminal]
) -> None:
    # the "done when": a narrow tmux pane, NO_COLOR=1, `chatrepl | tee log`
    log = tmp_path / "log"
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="claude-4-5-sonnet", NO_COLOR="1")
    term = Terminal([], env, rows=60, cols=60, answer_cpr=True, shell=f"CHATREPL | tee {log}")
    started.append(term)
    term.wait_for("0 turns")
    term.type("hello there")
    term.wait_for("1 turn")
    term.type("/help")
    term.wait_for("Ctrl-Z")
    term.type("/settings")
    term.wait_for_after("/settings", "profile ")
    time.sleep(0.3)
    screen = term.text()
    lines = screen.split("\n")
    assert [line for line in lines if len(line) >= 60] == []  # the terminal cut nothing
    assert "/exit, /quit, /q" in screen and "Esc Enter, Alt-Enter" in screen
    retry = next(n for n, line in enumerate(lines) if line.startswith("  /retry, /r "))
    assert lines[retry + 1].startswith("     ")  # its help goes on in its column
    assert not any(c.fg != "default" or c.bg != "default" for c in term.toolbar_cells())
    assert log.read_text() == "> hello there\nYou said: hello there\n"  # the log: no tables


def test_a_dumb_terminal_piping_to_tee_keeps_its_own_lines(
    fake_server: FakeServer, tmp_path: Path, started: list[Terminal]
) -> None:
    log = tmp_path / "log"
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="m", TERM="dumb")
    term = Terminal([], env, shell=f"CHATREPL | tee {log}")
    started.append(term)
    term.wait_for("Ctrl-D to quit")
    time.sleep(0.5)
    term.type("/model")
    term.wait_for("model: m")
    term.type("hello there")
    term.wait_for("You said: hello there")
    assert term.count("/model") == 1  # the terminal shows what was typed; not again
    assert settled_log(log, "hello there\n") == "> hello there\nYou said: hello there\n"
