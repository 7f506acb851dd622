"""/compare: the same conversation to several models at once, against the loopback server."""

from __future__ import annotations

import io
import threading

import pytest
from fakes import RecordingView
from fakeserver import FakeServer, Reply, sse_chunks
from rich.console import Console

from chatrepl.adapters.http import HttpBackend
from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.compare import compare
from chatrepl.core.engine import Engine
from chatrepl.core.errors import ApiError
from chatrepl.core.messages import TurnStats
from chatrepl.core.reply import CompareResult
from chatrepl.core.reply import Reply as Answer
from chatrepl.core.settings import Layer, Settings, resolve
from chatrepl.ui.plain import PlainView
from chatrepl.ui.rich_view import RichView


def make_engine(server: FakeServer, view: RecordingView, model: str = "model-a") -> Engine:
    resolved = resolve(Layer("test", {"url": server.url, "model": model}))
    return Engine(resolved, HttpBackend(resolved.settings), view, commands=builtin_commands())


def test_compare_asks_each_model_the_last_question(fake_server: FakeServer) -> None:
    view = RecordingView()
    engine = make_engine(fake_server, view)
    engine.handle("what is SSE?")
    before = list(engine.conversation.messages)
    engine.handle("/compare model-b model-c")
    (results,) = [call[1] for call in view.of("compare")]
    assert [r.model for r in results] == ["model-b", "model-c"]
    assert all(r.text == "You said: what is SSE?" and r.error is None for r in results)
    asked = fake_server.chat_requests[1:]
    assert sorted(r.body["model"] for r in asked) == ["model-b", "model-c"]
    for request in asked:  # the question again, without the first answer
        assert request.body["messages"] == [{"role": "user", "content": "what is SSE?"}]
    assert engine.conversation.messages == before  # a comparison is not a turn


def test_one_model_is_compared_with_the_current_one(fake_server: FakeServer) -> None:
    view = RecordingView()
    engine = make_engine(fake_server, view)
    engine.handle("/compare model-z -- a fresh question")
    (results,) = [call[1] for call in view.of("compare")]
    assert [r.model for r in results] == ["model-a", "model-z"]
    assert results[1].text == "You said: a fresh question"
    assert engine.conversation.messages == []


def test_compare_sends_every_request_before_any_reply_ends() -> None:
    # Each reply is held after its first chunk until all three requests have arrived:
    # one model after another, the second request would never come while the first waits.
    with FakeServer() as server:
        held = [Reply(chunks=sse_chunks("x" * 20), hold_after=1, hold_timeout=10) for _ in range(3)]
        server.enqueue(*held)
        all_arrived: list[bool] = []

        def release_when_all_arrived() -> None:
            all_arrived.append(server.wait_for_requests(3, timeout=5))
            for reply in held:
                reply.release.set()

        releaser = threading.Thread(target=release_when_all_arrived)
        releaser.start()
        backend = HttpBackend(Settings(url=server.url))
        payload = {"messages": [{"role": "user", "content": "q"}], "stream": True}
        results = compare(backend, payload, ["a", "b", "c"])
        releaser.join()
    assert all_arrived == [True]
    assert [r.text for r in results] == ["x" * 20] * 3
    assert sorted(r.body["model"] for r in server.chat_requests) == ["a", "b", "c"]


def test_a_failing_model_is_one_line_and_the_others_still_answer(fake_server: FakeServer) -> None:
    fake_server.enqueue(*[Reply.error(404, "model not found")])
    backend = HttpBackend(Settings(url=fake_server.url))
    payload = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    results = compare(backend, payload, ["nope", "fine"])
    errors = [r for r in results if r.error]
    assert len(errors) == 1 and "404" in errors[0].error
    assert [r.text for r in results if not r.error] == ["You said: hi"]


def test_nothing_to_compare_is_a_clear_error(fake_server: FakeServer) -> None:
    view = RecordingView()
    engine = make_engine(fake_server, view)
    engine.handle("/compare model-b")
    assert view.errors == ["nothing to compare yet: /compare MODEL... -- QUESTION"]
    engine.handle("/compare")
    assert view.errors[-1].startswith("usage: /compare")
    assert fake_server.requests == []


RESULTS = [
    CompareResult("alpha", Answer("# Heading A\n\nfirst answer", "", TurnStats(model="alpha"))),
    CompareResult("beta", Answer("", "", TurnStats(), ApiError("HTTP 404: model not found"))),
]


def test_rich_view_puts_answers_side_by_side() -> None:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    RichView(console).compare(RESULTS)
    lines = console.file.getvalue().splitlines()
    title_line = next(line for line in lines if "alpha" in line)
    assert "beta" in title_line  # both titles on one row: columns, not a list
    assert any("Heading A" in line and "model not found" in line for line in lines)
    assert "first answer" in console.file.getvalue()


def test_plain_view_prints_answers_in_turn() -> None:
    out, err = io.StringIO(), io.StringIO()
    PlainView(out, err).compare(RESULTS)
    assert out.getvalue() == "=== alpha ===\n# Heading A\n\nfirst answer\n=== beta ===\n"
    assert "beta: HTTP 404: model not found" in err.getvalue()


def test_ctrl_c_cancels_a_comparison_and_closes_its_requests() -> None:
    with FakeServer() as server:
        # two chunks, then a pause; after it, 400 more chunks unless the client leaves
        slow = Reply(chunks=sse_chunks("y" * 1600, 4), hold_after=2, delay=0.005)
        server.enqueue(slow)
        backend = HttpBackend(Settings(url=server.url))
        payload = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        timer = threading.Timer(0.5, lambda: __import__("_thread").interrupt_main())
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            compare(backend, payload, ["a"])
        slow.release.set()  # the server goes on writing: a cancelled worker must hang up
        assert slow.finished.wait(10)
    assert slow.disconnected.is_set()
    assert len(slow.sent_at) < len(slow.chunks or [])
