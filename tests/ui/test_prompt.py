"""The prompt adapter: completion, key bindings and the secret-filtering history."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.commands.registry import Command
from chatrepl.ui.prompt import ChatCompleter, PromptReader, SecretFilteringHistory

MODELS = ["claude-4-5-haiku", "claude-4-5-sonnet", "gpt-4o-mini"]
FILE_COMMAND = Command("save", lambda engine, args: None, "save", "[PATH]", completes="paths")


def complete(text: str, tmp_path: Path | None = None) -> list[tuple[str, str]]:
    completer = ChatCompleter([*builtin_commands(), FILE_COMMAND], lambda: MODELS)
    found = completer.get_completions(Document(text, len(text)), CompleteEvent(True))
    return [(c.text, c.display_meta_text) for c in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/mo", ["/model", "/models"]),
        ("/te", ["/temperature"]),
        ("/max", ["/max_tokens"]),
        ("/q", ["/q", "/quit"]),  # an alias completes to itself, a name to itself
        ("/zzz", []),
        ("hello /mo", []),
        ("//mo", []),
    ],
)
def test_command_names_complete(text: str, expected: list[str]) -> None:
    assert [t for t, _ in complete(text)] == expected


def test_command_completion_shows_its_help() -> None:
    metas = dict(complete("/retr"))
    assert metas == {"/retry": "resend the last message, replacing its reply"}


def test_model_names_complete_after_model() -> None:
    assert [t for t, _ in complete("/model claude-4-5-s")] == ["claude-4-5-sonnet"]
    assert [t for t, _ in complete("/m gp")] == ["gpt-4o-mini"]


def test_paths_complete_for_file_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "chat-one.json").write_text("{}")
    (tmp_path / "chat-two.md").write_text("")
    monkeypatch.chdir(tmp_path)
    got = sorted(t for t, _ in complete("/save chat-"))
    assert got == ["one.json", "two.md"]


def test_history_never_stores_a_key(tmp_path: Path) -> None:
    path = tmp_path / "state" / "history"
    history = SecretFilteringHistory(path, lambda: ["my-secret-value-123"])
    history.store_string("hello there")
    history.store_string("my key is inf-abcdefghijklmnopqrstuvwxyz012345")
    history.store_string("export X=sk-proj-ABCDEFGHIJKLMNOPQRSTUV")
    history.store_string("the current key my-secret-value-123 leaked")
    text = path.read_text()
    assert "hello there" in text
    assert "inf-" not in text and "sk-proj" not in text and "my-secret" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def read_with_keys(keys: str, tmp_path: Path) -> str | None:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        reader = PromptReader(
            history_path=tmp_path / "history",
            commands=builtin_commands(),
            models=lambda: MODELS,
            toolbar=lambda: "toolbar",
        )
        pipe.send_text(keys)
        return reader.read()


def test_enter_sends_and_escape_enter_inserts_a_newline(tmp_path: Path) -> None:
    assert read_with_keys("first line\x1b\rsecond line\r", tmp_path) == "first line\nsecond line"


def test_bracketed_paste_with_newlines_stays_one_message(tmp_path: Path) -> None:
    pasted = "\x1b[200~line one\nline two\r\nline three\x1b[201~\r"
    assert read_with_keys(pasted, tmp_path) == "line one\nline two\nline three"


def test_ctrl_d_on_an_empty_line_ends_input(tmp_path: Path) -> None:
    assert read_with_keys("\x04", tmp_path) is None


def test_ctrl_c_clears_the_line(tmp_path: Path) -> None:
    assert read_with_keys("half typed\x03", tmp_path) == ""
