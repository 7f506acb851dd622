"""Path completion in a real terminal, as in a shell: a folder completes with a trailing
/ and the next Tab lists (and then enters) what it holds; after /load, /attach and @."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeserver import FakeServer
from terminal import Terminal, chat_env

TAB = "\t"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "projects" / "deeper").mkdir(parents=True)
    (tmp_path / "projects" / "alpha.json").write_text("{}")
    (tmp_path / "projects" / "beta.json").write_text("{}")
    (tmp_path / "projects" / "deeper" / "gamma.md").write_text("# g")
    return tmp_path


@pytest.fixture
def term(fake_server: FakeServer, tree: Path) -> Iterator[Terminal]:
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="model-a")
    terminal = Terminal([], env, cwd=str(tree), answer_cpr=True)
    terminal.wait_for_prompt()
    yield terminal
    terminal.close()


def prompt_line(term: Terminal, settle: float = 0.4) -> str:
    """The line the prompt is on, once the screen has settled."""
    time.sleep(settle)
    term.pump()
    return term.screen.display[term.screen.cursor.y].rstrip()


def screen(term: Terminal) -> str:
    term.pump()
    return "\n".join(term.screen.display)


@pytest.mark.parametrize("typed", ["/load proj", "/attach proj", "compare @proj"])
def test_tab_completes_a_folder_with_a_slash_and_tab_again_lists_it(
    term: Terminal, typed: str
) -> None:
    term.type(typed, enter=False)
    time.sleep(0.3)
    term.child.send(TAB)
    assert prompt_line(term).endswith(f"{typed[:-4]}projects/")
    term.child.send(TAB)  # a second Tab: into the folder, its entries listed
    time.sleep(0.4)
    shown = screen(term)
    assert prompt_line(term, 0).endswith(f"{typed[:-4]}projects/")  # not back to what was typed
    for entry in ("alpha.json", "beta.json", "deeper/"):
        assert entry in shown, shown
    term.child.send("de")
    time.sleep(0.3)
    term.child.send(TAB)
    assert prompt_line(term).endswith(f"{typed[:-4]}projects/deeper/")
    term.child.send(TAB)
    time.sleep(0.4)
    assert "gamma.md" in screen(term)


def test_a_completed_path_loads(term: Terminal, tree: Path) -> None:
    from chatrepl.core import transcript
    from chatrepl.core.conversation import Conversation
    from chatrepl.core.messages import Message

    chat = Conversation([Message("user", "from a folder"), Message("assistant", "yes")])
    (tree / "projects" / "alpha.json").write_text(transcript.dumps(chat, {"model": "model-a"}))
    term.type("/load proj", enter=False)
    time.sleep(0.3)
    for key in (TAB, TAB, "al", TAB):
        term.child.send(key)
        time.sleep(0.4)
    assert prompt_line(term).endswith("/load projects/alpha.json")
    term.child.send("\r")
    term.wait_for("loaded “from a folder” · 1 turn")
