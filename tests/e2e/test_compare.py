"""/compare: the same conversation to several models at once, against the loopback server."""

from __future__ import annotations

import _thread
import io
import itertools
import random
import threading
from collections.abc import Callable

import pytest
from fakes import RecordingView
from fakeserver import FakeServer, Recorded, Reply, sse_chunks

from chatrepl.adapters.http import HttpBackend
from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.compare import Job, fan_out
from chatrepl.core.comparison import Target
from chatrepl.core.engine import Engine
from chatrepl.core.errors import CommandError
from chatrepl.core.settings import Layer, Settings, resolve
from chatrepl.ui.plain import PlainView


def make_engine(server: FakeServer, view: object, model: str = "model-a") -> Engine:
    resolved = resolve(Layer("test", {"url": server.url, "model": model}))
    backend = HttpBackend(resolved.settings)
    return Engine(resolved, backend, view, commands=builtin_commands())  # type: ignore[arg-type]


def targets(*names: str) -> list[Target]:
    return [Target(name, name) for name in names]


def by_model(server: FakeServer, replies: dict[str, Callable[[], Reply]]) -> None:
    """Answer each request with the reply made for its model (the echo otherwise)."""

    def respond(request: Recorded) -> Reply | None:
        make = replies.get(str((request.body or {}).get("model")))
        return make() if make is not None else None

    server.respond = respond


def test_compare_asks_each_model_the_last_question(fake_server: FakeServer) -> None:
    view = RecordingView()
    engine = make_engine(fake_server, view)
    engine.handle("what is SSE?")
    before = list(engine.conversation.messages)
    engine.handle("/compare model-b model-c")
    ((_, comparison),) = view.of("end_compare")
    assert comparison is engine.last_comparison
    assert [t.model for t in comparison.targets] == ["model-b", "model-c"]
    assert comparison.question == "what is SSE?" and comparison.history == []
    results = comparison.results
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
    ((_, comparison),) = view.of("end_compare")
    assert [t.model for t in comparison.targets] == ["model-a", "model-z"]
    assert comparison.results[1].text == "You said: a fresh question"
    assert engine.conversation.messages == []


def test_every_request_starts_before_any_reply_ends() -> None:
    # Each reply is held after its first chunk until all four requests have arrived:
    # one model after another, the second request would never come while the first waits.
    with FakeServer() as server:
        held = [Reply(chunks=sse_chunks("x" * 20), hold_after=1, hold_timeout=10) for _ in range(4)]
        server.enqueue(*held)

        def release_when_all_arrived() -> None:
            server.wait_for_requests(4, timeout=5)
            for reply in held:
                reply.release.set()

        releaser = threading.Thread(target=release_when_all_arrived)
        releaser.start()
        view = RecordingView()
        comparison = make_engine(server, view).compare(targets("a", "b", "c", "d"), "q")
        releaser.join()
        requests = server.chat_requests
    assert [r.text for r in comparison.results] == ["x" * 20] * 4
    assert sorted(r.body["model"] for r in requests) == ["a", "b", "c", "d"]
    # server-side timestamps: the last request arrived before any reply's second chunk left
    last_arrival = max(r.received_at for r in requests)
    assert all(last_arrival < reply.sent_at[1] for reply in held)


def test_a_failing_and_a_stalled_model_hold_back_none_of_the_healthy_ones() -> None:
    with FakeServer() as server:
        stalled = Reply.hanging("Partial answ", hold_timeout=30)
        by_model(
            server,
            {
                "bad": lambda: Reply.error(404, "model not found"),
                "stuck": lambda: stalled,
            },
        )
        view = RecordingView()
        engine = make_engine(server, view)

        def interrupt_once_the_others_ended() -> None:
            # the healthy and the failing model end while the stalled one still streams
            for _ in range(500):
                if len(view.of("compare_done")) == 3:
                    break
                threading.Event().wait(0.01)
            ended.extend(call[1] for call in view.of("compare_done"))
            _thread.interrupt_main()

        ended: list[int] = []
        watcher = threading.Thread(target=interrupt_once_the_others_ended)
        watcher.start()
        comparison = engine.compare(targets("ok1", "bad", "stuck", "ok2"), "hi")
        watcher.join()
        stalled.release.set()
    assert sorted(ended) == [0, 1, 3]  # everyone but the stalled one, before Ctrl-C
    ok1, bad, stuck, ok2 = comparison.results
    assert ok1.text == ok2.text == "You said: hi"
    assert not ok1.reply.interrupted and ok1.error is None
    assert bad.error is not None and "404" in bad.error and "model not found" in bad.error
    assert stuck.text == "Partial answ" and stuck.reply.interrupted  # kept, marked
    assert engine.last_comparison is comparison


def test_ctrl_c_keeps_every_partial_and_closes_every_request() -> None:
    with FakeServer() as server:
        # two chunks, then a pause; after it, 400 more chunks unless the client leaves
        slow = [Reply(chunks=sse_chunks("y" * 1600, 4), hold_after=2, delay=0.005) for _ in "ab"]
        server.enqueue(*slow)
        view = RecordingView()
        engine = make_engine(server, view)

        def interrupt_when_both_began() -> None:
            for _ in range(500):
                if len({call[1] for call in view.of("compare_show")}) == 2:
                    break
                threading.Event().wait(0.01)
            _thread.interrupt_main()

        threading.Thread(target=interrupt_when_both_began).start()
        comparison = engine.compare(targets("a", "b"), "hi")
        for reply in slow:
            reply.release.set()  # the server goes on writing: a cancelled worker hangs up
            assert reply.finished.wait(10)
    for result in comparison.results:
        assert result.text.startswith("y") and result.reply.interrupted
        assert len(result.text) < 1600
    assert all(reply.disconnected.is_set() for reply in slow)
    (ended,) = view.of("end_compare")
    assert ended[1] is comparison  # the table comes after Ctrl-C too


def test_a_target_that_cannot_be_asked_is_its_own_error_line(fake_server: FakeServer) -> None:
    view = RecordingView()
    engine = make_engine(fake_server, view)
    comparison = engine.compare([Target("far:x", "x", profile="far"), *targets("m")], "hi")
    far, m = comparison.results
    assert far.error is not None and "far:x" in far.error
    assert m.text == "You said: hi"


def test_nothing_to_compare_is_a_clear_error(fake_server: FakeServer) -> None:
    view = RecordingView()
    engine = make_engine(fake_server, view)
    engine.handle("/compare model-b")
    assert view.errors == ["nothing to compare yet: /compare MODEL... -- QUESTION"]
    engine.handle("/compare")
    assert view.errors[-1].startswith("usage: /compare")
    assert fake_server.requests == []


def test_blind_columns_hide_the_models_until_revealed(fake_server: FakeServer) -> None:
    out, err = io.StringIO(), io.StringIO()
    engine = make_engine(fake_server, PlainView(out, err))
    engine.rng = random.Random(7)
    first = engine.compare(targets("model-x", "model-y", "model-z"), "hi", blind=True)
    shown = out.getvalue() + err.getvalue()
    assert "model-" not in shown and "first token" not in shown  # no names, no stats
    assert {"## A", "## B", "## C"} <= set(shown.splitlines())
    assert first.blind and not first.revealed
    before = len(out.getvalue())
    engine.reveal()
    assert first.revealed
    revealed = out.getvalue()[before:]
    for index, target in enumerate(first.targets):
        assert f"| {first.letter(index)} · {target.model} |" in revealed
    orders = [first.order]
    for _ in range(5):  # each new blind question gets a new order
        orders.append(
            engine.compare(targets("model-x", "model-y", "model-z"), "hi", blind=True).order
        )
    assert all(a != b for a, b in itertools.pairwise(orders))


def test_fan_out_reports_each_reply_as_it_ends() -> None:
    with FakeServer() as server:
        server.enqueue(Reply.error(404, "boom"))
        backend = HttpBackend(Settings(url=server.url))
        payload = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        done: list[int] = []
        outcome = fan_out(
            [Job("a", lambda: backend.stream({**payload, "model": "a"}))],
            done=lambda i, r: done.append(i),
        )
    assert done == [0] and not outcome.interrupted
    assert outcome.results[0].error is not None and "boom" in outcome.results[0].error


def test_reveal_needs_a_comparison_and_shows_the_names_once(fake_server: FakeServer) -> None:
    view = RecordingView()
    engine = make_engine(fake_server, view)
    with pytest.raises(CommandError, match="nothing to reveal"):
        engine.reveal()
    comparison = engine.compare(targets("m1", "m2"), "hi", blind=True)
    assert [comparison.label(i) for i in comparison.order] == ["A", "B"]
    engine.reveal()
    engine.reveal()  # already revealed: nothing more to show
    assert [call[1] for call in view.of("reveal")] == [comparison]
    assert sorted(comparison.label(i) for i in range(2)) == ["m1", "m2"]
