"""The model the server says answered reaches the reply (a vote records it), against a
real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time

from fakeserver import FakeServer, Reply, sse_chunks

from chatrepl.adapters.http import HttpBackend
from chatrepl.core.messages import ServedModel, TextDelta
from chatrepl.core.reply import ReplyCollector, drain
from chatrepl.core.settings import Settings
from chatrepl.protocol.chunks import parse_stream


def _reply(backend: HttpBackend, model: str) -> str | None:
    payload = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    collector = ReplyCollector(model=model, clock=time.monotonic, wall_clock=time.time)
    reply = drain(lambda: backend.stream(payload), collector)
    assert reply.error is None and reply.text
    return reply.served_model


def test_a_server_that_answers_with_another_model_is_caught(fake_server: FakeServer) -> None:
    # llama-cpp-python answers an unknown name with its default model, silently
    fake_server.enqueue(Reply(chunks=sse_chunks("Hello there", model="default-7b")))
    backend = HttpBackend(Settings(url=fake_server.url, timeout=5.0), sleep=lambda _: None)
    try:
        assert _reply(backend, "asked-for") == "default-7b"
        assert _reply(backend, "echoed") == "echoed"  # the echo server names what it got
    finally:
        backend.close()


def test_one_served_model_event_per_stream_and_text_still_batched() -> None:
    blob = b"".join(sse_chunks("abcdefgh", 2, model="m-1"))
    events = list(parse_stream([blob]))
    assert [e for e in events if isinstance(e, ServedModel)] == [ServedModel("m-1")]
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("abcdefgh")]


def test_a_stream_without_model_names_none() -> None:
    chunk = b'{"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}]}'
    blob = b"data: " + chunk + b"\n\ndata: [DONE]\n\n"
    assert not any(isinstance(e, ServedModel) for e in parse_stream([blob]))


def test_one_served_model_over_many_reads_and_a_change_is_reported() -> None:
    first = sse_chunks("abcdefgh", 2, model="m-1", done=False, finish=None, usage=False)
    reads = first + sse_chunks("ij", 2, model="m-2")
    served = [e for e in parse_stream(reads) if isinstance(e, ServedModel)]
    assert served == [ServedModel("m-1"), ServedModel("m-2")]
