"""The context meter and overflow against llama.cpp's real server (SmolLM2).

The window is what the server says (`/props` n_ctx), the count is its `usage`, and the
"too long" is its own 400. A second server with a 512-token window keeps the requests
small, so overflowing it costs seconds, not the minutes a 4,096-token prompt takes to
evaluate on a shared 2-core machine.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatrepl.adapters.llamacpp import (
    CONTEXT_TOKENS,
    LocalServer,
    bundled_model_installed,
    start_local_server,
)
from chatrepl.adapters.storage import FileSessionStore, read_transcript
from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.context import Window
from chatrepl.core.engine import Engine
from chatrepl.core.errors import ContextError
from chatrepl.core.settings import Layer, Secret, resolve
from tests.fakes import RecordingView

pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None or not bundled_model_installed(),
        reason="needs pip install '.[local]' and the model (see the README's Install)",
    ),
]

SMALL = 512


@pytest.fixture(scope="module")
def small_llama() -> Iterator[LocalServer]:
    with start_local_server(context=SMALL) as server:
        yield server


class Recorder:
    """The real HttpBackend, counting the chat requests it sends."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.payloads: list[dict[str, Any]] = []

    def stream(self, payload: dict[str, Any]) -> Any:
        self.payloads.append(payload)
        return self.backend.stream(payload)

    def list_models(self) -> list[str]:
        return list(self.backend.list_models())

    def context_window(self, model: str | None) -> int | None:
        return self.backend.context_window(model)  # type: ignore[no-any-return]


def engine_for(
    server: LocalServer, folder: Path, **values: Any
) -> tuple[Engine, Recorder, RecordingView]:
    from chatrepl.adapters.http import HttpBackend

    settings = {
        "url": server.url,
        "key": Secret(server.key, "INFERENCE_KEY"),
        "model": server.model,
        "temperature": 0.0,
        "max_tokens": 16,
        **values,
    }
    resolved = resolve(Layer("test", settings))
    backend = Recorder(HttpBackend(resolved.settings))
    view = RecordingView()
    engine = Engine(
        resolved,
        backend,
        view,
        commands=builtin_commands(),
        store=FileSessionStore(folder),
        probe=backend,
    )
    return engine, backend, view


def test_the_meter_reads_the_servers_window_and_count(tmp_path: Path) -> None:
    with start_local_server() as server:  # the --local server as chatrepl starts it
        engine, _, view = engine_for(server, tmp_path)
        assert engine.window() is None  # nobody has said yet
        engine.handle("Say hello.")
        assert view.errors == []
        usage = engine.conversation.messages[-1].stats.usage
        reading = engine.reading()
        assert reading.window == Window(CONTEXT_TOKENS, "the server")  # /props n_ctx 4096
        assert reading.counted == usage.prompt_tokens + usage.completion_tokens
        assert reading.tokens == reading.counted
        assert reading.text().endswith(" / 4.1k · 1 %") or reading.text().endswith("<1 %")


VOCABULARY = [
    "apple",
    "river",
    "stone",
    "cloud",
    "garden",
    "window",
    "music",
    "paper",
    "silver",
    "forest",
    "candle",
    "ocean",
]


def words(n: int, tag: str) -> str:
    # varied words and a request: SmolLM2 answers "word word word…" with nothing at all,
    # and an empty reply is an error (never kept), which is not what these tests are about
    cycle = (VOCABULARY * (n // len(VOCABULARY) + 1))[:n]
    return f"{tag}: " + " ".join(cycle) + ". Write one sentence about these words."


def test_overflow_before_sending_and_after_the_servers_400_loses_nothing(
    small_llama: LocalServer, tmp_path: Path
) -> None:
    engine, backend, view = engine_for(small_llama, tmp_path)
    engine.handle(words(150, "one"))
    engine.handle(words(150, "two"))
    assert view.errors == [] and engine.window() == Window(SMALL, "the server")
    sent = len(backend.payloads)
    # 1. the estimate says the next request is over 512 tokens: held, not sent
    outcome = engine.handle(words(250, "three"))
    assert isinstance(outcome.error, ContextError)
    assert (
        view.errors[-1].startswith("not sent: ~")
        and "512-token window of smollm2" in view.errors[-1]
    )
    assert len(backend.payloads) == sent
    # 2. /retry alone sends it anyway, and llama.cpp refuses it: recognised, kept
    outcome = engine.handle("/retry")
    assert len(backend.payloads) == sent + 1
    assert isinstance(outcome.error, ContextError)
    assert "exceeds the available context size (512 tokens)" in str(outcome.error)
    assert engine.conversation.pending_user == words(250, "three")
    # 3. /trim, then /retry: the oldest turns stay home and the server answers
    engine.handle("/trim")
    outcome = engine.handle("/retry")
    assert outcome.error is None and outcome.reply is not None
    last = backend.payloads[-1]["messages"]
    assert [m["content"] for m in last if m["role"] == "user"] == [words(250, "three")]
    assert outcome.reply.stats.usage.prompt_tokens < SMALL
    # the session file kept every message, and what was trimmed
    saved = read_transcript(engine.store.current).conversation
    assert [m.content for m in saved.messages if m.role == "user"] == [
        words(150, "one"),
        words(150, "two"),
        words(250, "three"),
    ]
    assert saved.compaction is not None and saved.compaction.how == "trim"


def test_a_compacted_conversation_goes_on_with_the_summary_as_a_system_note(
    small_llama: LocalServer, tmp_path: Path
) -> None:
    engine, backend, view = engine_for(small_llama, tmp_path, system="Be brief.")
    engine.handle("My name is Ada and I like SQLite.")
    engine.handle("What is a database index?")
    engine.handle("/compact 1")
    assert view.errors == []
    record = engine.conversation.compaction
    assert record is not None and record.how == "summary" and record.summary
    assert record.stats is not None and record.stats.usage.completion_tokens <= SMALL // 8
    outcome = engine.handle("Thanks. Who am I?")
    assert outcome.error is None and outcome.reply.content.strip()
    system, *rest = backend.payloads[-1]["messages"]
    assert system["role"] == "system" and record.summary in system["content"]
    assert [m["role"] for m in rest] == ["user", "assistant", "user"]  # the kept turn + this
    assert len(read_transcript(engine.store.current).conversation.messages) == 6
