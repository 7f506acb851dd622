"""Colour in a real terminal: NO_COLOR (set and not empty) keeps the markdown laid out
without colour, an empty NO_COLOR changes nothing, --plain is raw text, --color and
FORCE_COLOR choose for themselves, and TERM=dumb gets readable text."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply
from terminal import Terminal, chat_env

MARKDOWN = (
    "# Heading one\n\nSome **bold** words.\n\n- first item\n- second item\n\n"
    "```python\ndef f(x):\n    return x * 2\n```\n\nDone.\n"
)
# an SGR sequence that sets a colour: 30-37, 38;…, 40-47, 48;…, 90-97, 100-107
COLOUR = re.compile(rb"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


@pytest.fixture
def run(fake_server: FakeServer) -> Iterator:
    started: list[Terminal] = []

    def start(args: list[str], **env: str) -> Terminal:
        term = Terminal(args, chat_env(fake_server.url, INFERENCE_MODEL_ID="m", **env))
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()


def ask(term: Terminal, fake_server: FakeServer) -> str:
    term.wait_for_prompt()
    fake_server.enqueue(Reply.text(MARKDOWN))
    term.type("show me")
    return term.wait_for("Done.")


def reply_bytes(term: Terminal) -> bytes:
    """What the program wrote from the question's echo to the end of the reply."""
    return term.raw.rpartition(b"show me")[2].partition(b"Done.")[0]


def test_no_color_lays_out_markdown_without_colour(run, fake_server: FakeServer) -> None:
    term = run([], NO_COLOR="1")
    screen = ask(term, fake_server)
    assert "Heading one" in screen and "# Heading one" not in screen
    assert "```" not in screen and "**" not in screen
    assert "• first item" in screen and "def f(x):" in screen
    assert not COLOUR.search(reply_bytes(term)), reply_bytes(term)


def test_an_empty_no_color_is_ignored(run, fake_server: FakeServer) -> None:
    term = run([], NO_COLOR="")
    screen = ask(term, fake_server)
    assert "# Heading one" not in screen and "```" not in screen
    assert COLOUR.search(reply_bytes(term))  # the code block is highlighted


def test_plain_stays_raw_text(run, fake_server: FakeServer) -> None:
    term = run(["--plain"], NO_COLOR="1")
    screen = ask(term, fake_server)
    assert "# Heading one" in screen and "```python" in screen and "**bold**" in screen


def test_color_never_is_no_color_and_always_beats_no_color(run, fake_server: FakeServer) -> None:
    never = run(["--color", "never"])
    screen = ask(never, fake_server)
    assert "# Heading one" not in screen and not COLOUR.search(reply_bytes(never))
    always = run(["--color", "always"], NO_COLOR="1")
    ask(always, fake_server)
    assert COLOUR.search(reply_bytes(always))


def test_a_dumb_terminal_gets_laid_out_text_without_escapes(run, fake_server: FakeServer) -> None:
    term = run([], TERM="dumb")
    term.wait_for("Ctrl-D to quit")
    time.sleep(0.5)  # no toolbar on a dumb terminal to tell that the prompt is up
    fake_server.enqueue(Reply.text(MARKDOWN))
    term.type("show me")
    screen = term.wait_for("Done.")
    assert "Heading one" in screen and "```" not in screen and "def f(x):" in screen
    assert b"\x1b[" not in reply_bytes(term)


def one_shot(fake_server: FakeServer, *args: str, **env: str) -> str:
    fake_server.enqueue(Reply.text(MARKDOWN))
    environment = chat_env(fake_server.url, INFERENCE_MODEL_ID="m", **env)
    result = subprocess.run(
        [sys.executable, "-m", "chatrepl", *args, "show me"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_a_pipe_gets_the_reply_as_it_came_unless_colour_is_forced(fake_server: FakeServer) -> None:
    assert one_shot(fake_server) == MARKDOWN
    assert one_shot(fake_server, NO_COLOR="1") == MARKDOWN
    assert one_shot(fake_server, FORCE_COLOR="") == MARKDOWN  # empty: not set
    for forced in (one_shot(fake_server, FORCE_COLOR="1"), one_shot(fake_server, "--color=always")):
        assert "```" not in forced and "# Heading one" not in forced
        assert COLOUR.search(forced.encode())
        assert "\x1b[?25l" not in forced  # no live region (its cursor hiding) in a pipe


WORDS = "one two three four five six seven eight nine ten"


@pytest.mark.parametrize(
    ("args", "env", "amber"),
    [
        ([], {}, True),
        ([], {"NO_COLOR": "1"}, False),
        (["--color", "always"], {"NO_COLOR": "1"}, True),
        (["--color", "never"], {}, False),
    ],
)
def test_the_toolbar_warning_follows_the_colour_choice(
    fake_server: FakeServer, tmp_path: Path, args: list[str], env: dict[str, str], amber: bool
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[models."model-a"]\ncontext = 100\n')
    environment = chat_env(
        fake_server.url, INFERENCE_MODEL_ID="model-a", CHATREPL_CONFIG=str(config), **env
    )
    term = Terminal(args, environment, answer_cpr=True)
    try:
        term.wait_for(" turns · ")
        for n in range(1, 5):
            term.type(f"{n} {WORDS}")
            term.wait_for(f"You said: {n} {WORDS}")
        term.wait_for("the conversation fills ")
        cells = term.toolbar_cells()
        found = re.search(r"\d+ / 100 · \d+ %", "".join(c.data for c in cells))
        assert found is not None
        meter = cells[found.start() : found.end()]
        coloured = [c.bg for c in meter if c.bg != "default" or c.fg != "default"]
        assert bool(coloured) == amber  # amber, or (NO_COLOR) set apart without colour
        if not amber:
            assert all(not c.reverse for c in meter)  # still unlike the rest of the bar
    finally:
        term.close()
