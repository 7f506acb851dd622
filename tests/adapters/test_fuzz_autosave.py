"""Fuzzing a whole session: any text at all (lone surrogates, NUL, control characters),
typed as messages or as command arguments, goes through the engine and the real session
files. Nothing raises; the file always reads back as exactly the conversation in memory."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import RecordingView
from fuzzing import ANY_TEXT, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from chatrepl.adapters.storage import FileSessionStore, read_transcript
from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.engine import Engine
from chatrepl.core.messages import Finish, ReasoningDelta, StreamEvent, TextDelta
from chatrepl.core.settings import Layer, resolve
from chatrepl.core.text import repair
from chatrepl.core.transcript import settings_of

pytestmark = pytest.mark.fuzz

# commands that touch nothing but the session (no file names to fuzz into the real disk)
COMMANDS = [
    "/model",
    "/temperature",
    "/max_tokens",
    "/system",
    "/undo",
    "/retry",
    "/clear",
    "/settings",
    "/help",
    "/t",
    "/max",
    "/m",
    "/nosuch",
]


class EchoBackend:
    """Answers each request with the given reply text (and reasoning)."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.payloads: list[dict[str, Any]] = []

    def stream(self, payload: dict[str, Any]) -> Iterator[StreamEvent]:
        self.payloads.append(payload)
        yield ReasoningDelta(self.reply[:3])
        for start in range(0, len(self.reply), 7):
            yield TextDelta(self.reply[start : start + 7])
        yield Finish("stop")

    def list_models(self) -> list[str]:
        return []


LINES = st.one_of(
    ANY_TEXT,
    st.builds(lambda c, a: f"{c} {a}", st.sampled_from(COMMANDS), ANY_TEXT),
    st.builds(lambda a: f"//{a}", ANY_TEXT),
)


@fuzz_settings
@given(st.lists(LINES, min_size=1, max_size=6), ANY_TEXT)
def test_any_text_through_turns_and_autosave_round_trips(lines: list[str], reply: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = FileSessionStore(Path(folder) / "sessions")
        backend = EchoBackend(reply or "ok")
        view = RecordingView()
        engine = Engine(
            resolve(Layer("test", {"model": "m"})),
            backend,
            view,
            commands=builtin_commands(),
            store=store,
        )
        for line in lines:
            engine.handle(line)  # never raises
        for payload in backend.payloads:  # what was sent can be encoded as JSON UTF-8
            for message in payload["messages"]:
                message["content"].encode("utf-8")
        assert not any(error.startswith("autosave failed") for error in view.errors)
        if store.current is None:
            return
        loaded = read_transcript(store.current)
        assert loaded.conversation == engine.conversation
        assert loaded.settings == settings_of(engine.settings)
        for message in engine.conversation.messages:
            assert message.content == repair(message.content)
