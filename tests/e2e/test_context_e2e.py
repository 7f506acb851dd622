"""The context meter in a real terminal: it climbs, turns amber, warns, and a message
that no longer fits waits for /trim and /retry.

prompt_toolkit draws its bottom toolbar only once the terminal has told it where the
cursor is, so this terminal answers cursor-position requests (`answer_cpr`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeserver import FakeServer
from terminal import Terminal, chat_env

WORDS = "one two three four five six seven eight nine ten"


@pytest.fixture
def term(fake_server: FakeServer, tmp_path: Path) -> Iterator[Terminal]:
    config = tmp_path / "config.toml"
    config.write_text('[models."model-a"]\ncontext = 100\n')
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="model-a", CHATREPL_CONFIG=str(config))
    terminal = Terminal([], env, answer_cpr=True)
    terminal.wait_for(" turns · ")  # the toolbar is drawn
    yield terminal
    terminal.close()


def meter(term: Terminal) -> tuple[str, int]:
    """The meter on the toolbar (`26 / 100 · 26 %`) and its percentage."""
    found = re.search(r"\d+ / 100 · (\d+) %", "".join(c.data for c in term.toolbar_cells()))
    assert found, "no meter on the toolbar"
    return found.group(0), int(found.group(1))


def meter_cells(term: Terminal) -> list:  # type: ignore[type-arg]
    text, _ = meter(term)
    cells = term.toolbar_cells()
    start = "".join(c.data for c in cells).index(text)
    return cells[start : start + len(text)]


def squeezed(text: str) -> str:
    """Text without whitespace: a long line wraps on screen wherever the terminal ends."""
    return "".join(text.split())


def say(term: Terminal, text: str) -> None:
    term.type(text)
    term.wait_for(f"You said: {text}")
    term.wait_for_prompt()


def test_the_meter_climbs_turns_amber_warns_and_holds_what_does_not_fit(term: Terminal) -> None:
    say(term, f"1 {WORDS}")
    # what the fake server counted: 11 words in, 15 pieces out
    term.wait_for("model-a · 26 / 100 · 26 % · ")
    assert all(c.reverse for c in meter_cells(term))  # in the toolbar's own colours
    shares = []
    for n in (2, 3, 4):
        say(term, f"{n} {WORDS}")
        shares.append(meter(term)[1])
    assert shares == sorted(shares) and shares[-1] > 80  # it climbs, past the warning line
    screen = term.wait_for("the conversation fills ")
    assert squeezed("/compact summarises the older turns, /trim drops them") in squeezed(screen)
    assert all(not c.reverse and c.bg != "default" for c in meter_cells(term))  # amber
    term.type(f"5 {WORDS}")
    screen = term.wait_for("not sent: ~")
    assert squeezed("/trim drops the oldest, then /retry sends it") in squeezed(screen)
    term.type("/trim")
    term.wait_for("trimmed: turns 1-")
    term.type("/retry")
    term.wait_for(f"You said: 5 {WORDS}")
    term.wait_for_prompt()
    assert meter(term)[1] <= 80
