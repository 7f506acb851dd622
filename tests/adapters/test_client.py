"""HttpBackend against a real HTTP server on 127.0.0.1 (tests/fakeserver.py); no mocks."""

from __future__ import annotations

import email.utils
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fakeserver import FakeServer, Reply, sse_chunks, sse_event

from chatrepl.adapters.http import HttpBackend, retry_delay
from chatrepl.core.errors import ApiError, TransportError
from chatrepl.core.messages import (
    Finish,
    Notice,
    ReasoningDelta,
    ServedModel,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatrepl.core.settings import Secret, Settings

KEY = "inf-0123456789abcdef-secret"

MakeBackend = Callable[..., HttpBackend]


@pytest.fixture
def make_backend(fake_server: FakeServer) -> Iterator[MakeBackend]:
    """Build HttpBackends for the fake server (key from $INFERENCE_KEY); closes them after."""
    made: list[HttpBackend] = []

    def make(*, url: str | None = None, key: str | None = KEY, **options: Any) -> HttpBackend:
        settings_options = {k: options.pop(k) for k in ("timeout",) if k in options}
        settings = Settings(
            url=url or fake_server.url,
            key=Secret(key, "INFERENCE_KEY") if key else None,
            timeout=settings_options.get("timeout", 5.0),
        )
        options.setdefault("sleep", lambda _: None)
        backend = HttpBackend(settings, **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


def chat(text: str = "hello", *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": text}],
    }
    payload["stream"] = stream
    if stream:
        payload["stream_options"] = {"include_usage": True}
    return {**payload, **extra}


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --- URLs and auth ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/", "/v1/chat/completions"])
def test_every_url_spelling_posts_to_v1_chat_completions(
    fake_server: FakeServer, make_backend: MakeBackend, suffix: str
) -> None:
    backend = make_backend(url=fake_server.url + suffix)
    assert text_of(list(backend.stream(chat("hi")))) == "You said: hi"
    assert [(r.method, r.path) for r in fake_server.requests] == [("POST", "/v1/chat/completions")]


def test_bearer_key_is_sent_and_a_netrc_cannot_override_it(
    fake_server: FakeServer, make_backend: MakeBackend, isolated_env: Path
) -> None:
    netrc = isolated_env / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password from-netrc\n")
    netrc.chmod(0o600)
    # Control: a hand-set header loses to this netrc in plain requests, so the file is live.
    url = fake_server.url + "/v1/chat/completions"
    requests.post(url, json=chat(), headers={"Authorization": f"Bearer {KEY}"}, timeout=5).close()
    assert fake_server.requests[0].headers["authorization"].startswith("Basic ")

    list(make_backend().stream(chat()))
    assert fake_server.requests[1].headers["authorization"] == f"Bearer {KEY}"


def test_no_key_sends_no_authorization_header(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    list(make_backend(key=None).stream(chat()))
    assert "authorization" not in fake_server.requests[0].headers


def test_refused_key_names_its_variable_and_never_shows_it(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.require_key = "inf-the-right-one"
    backend = make_backend()
    with pytest.raises(ApiError) as caught:
        list(backend.stream(chat()))
    message = str(caught.value)
    assert message == "HTTP 401: the server refused the key from $INFERENCE_KEY (Invalid API Key)"
    assert caught.value.status == 401 and not caught.value.retryable
    assert len(fake_server.requests) == 1  # a refused key is not retried
    # Some servers echo the key back; it must be masked before it reaches the user.
    fake_server.enqueue(Reply.error(401, f"Incorrect API key provided: {KEY}"))
    fake_server.require_key = None
    with pytest.raises(ApiError) as echoed:
        list(backend.stream(chat()))
    assert KEY not in str(echoed.value) and "Incorrect API key" in str(echoed.value)
    assert KEY not in repr(backend) and KEY not in repr(backend.settings)


def test_netrc_is_never_read_with_no_key_or_after_a_same_host_redirect(
    fake_server: FakeServer, make_backend: MakeBackend, isolated_env: Path
) -> None:
    netrc = isolated_env / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password from-netrc\n")
    netrc.chmod(0o600)
    list(make_backend(key=None).stream(chat()))
    assert "authorization" not in fake_server.requests[-1].headers  # not Basic from netrc
    fake_server.enqueue(Reply(status=307, headers={"Location": "/v1/chat/completions?moved=1"}))
    list(make_backend().stream(chat()))
    first, second = fake_server.requests[-2:]
    assert second.path == "/v1/chat/completions" and second.body == first.body  # followed
    assert second.headers["authorization"] == f"Bearer {KEY}"  # the key, not netrc's login


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_not_followed(
    fake_server: FakeServer, make_backend: MakeBackend, status: int
) -> None:
    with FakeServer() as elsewhere:
        target = elsewhere.url.replace("127.0.0.1", "localhost") + "/collect"
        fake_server.enqueue(Reply(status=status, headers={"Location": target}))
        with pytest.raises(TransportError) as caught:
            list(make_backend().stream(chat("my secret plans")))
        assert elsewhere.requests == []  # the conversation went nowhere else
    message = str(caught.value)
    assert f"redirected the request to {target} (HTTP {status}); not followed" in message
    assert len(fake_server.requests) == 1 and KEY not in message


def test_a_same_origin_redirect_that_would_turn_a_post_into_a_get_is_refused(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.enqueue(Reply(status=302, headers={"Location": "/elsewhere"}))
    with pytest.raises(TransportError, match=r"/elsewhere \(HTTP 302\); not followed"):
        list(make_backend().stream(chat()))
    assert len(fake_server.requests) == 1


def test_proxies_come_from_the_environment_mapping(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    with FakeServer() as proxy:  # a plain-http proxy gets the absolute URL as its path
        env = {"http_proxy": proxy.url, "no_proxy": "example.invalid"}
        list(make_backend(env=env).stream(chat()))
        assert len(proxy.requests) == 1 and fake_server.requests == []
        bypass = {"HTTP_PROXY": proxy.url, "NO_PROXY": "localhost,127.0.0.1"}
        list(make_backend(env=bypass).stream(chat()))
        assert len(proxy.requests) == 1 and len(fake_server.requests) == 1


ECHOES = {
    "error event": lambda echo: Reply(chunks=[sse_event({"error": {"message": echo}})]),
    "200 error body": lambda echo: Reply(body={"error": echo}),
    "malformed event": lambda echo: Reply(chunks=[b"data: {not json " + echo.encode() + b"\n\n"]),
    "not JSON": lambda echo: Reply(body=b"oops " + echo.encode(), content_type="application/json"),
    "HTML 500": lambda echo: Reply(
        status=500, body="<html>" + "x" * 130 + echo + "</html>", content_type="text/html"
    ),
    "in the reply": lambda echo: Reply.text(f"Your header was {echo}.", chunk_size=3),
    "404 URL": lambda echo: Reply.error(404, echo),
}


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
@pytest.mark.parametrize("fault", list(ECHOES))
def test_an_echoed_authorization_header_never_shows_the_key(
    fake_server: FakeServer, make_backend: MakeBackend, fault: str, stream: bool
) -> None:
    echo = f"Authorization: Bearer {KEY}"
    fake_server.enqueue(ECHOES[fault](echo))
    seen: list[StreamEvent] = []
    try:
        seen.extend(make_backend(max_retries=0).stream(chat(stream=stream)))
        shown = text_of(seen)
    except (ApiError, TransportError) as exc:
        shown = text_of(seen) + str(exc)
    assert shown
    for size in (8, len(KEY)):
        assert not any(KEY[i : i + size] in shown for i in range(len(KEY) - size + 1)), shown


def test_unknown_model_404_says_the_model_may_not_exist(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.enqueue(Reply.error(404, "model 'nope' not found"))
    with pytest.raises(ApiError, match=r"HTTP 404: model 'nope' may not exist.*not found"):
        list(make_backend().stream(chat(model="nope")))


def test_error_without_json_body_shows_a_text_snippet(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    html = "<html><body>\n  Bad   Gateway from the proxy </body></html>"
    fake_server.enqueue(Reply(status=502, body=html, content_type="text/html"))
    with pytest.raises(ApiError) as caught:
        list(make_backend(max_retries=0).stream(chat()))
    assert "HTTP 502" in str(caught.value) and "Bad Gateway from the proxy" in str(caught.value)
    assert "\n" not in str(caught.value) and caught.value.retryable


# --- streaming --------------------------------------------------------------------


def test_deltas_arrive_in_order_with_finish_and_usage(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    events = list(make_backend().stream(chat("héllo wörld")))
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(texts) == "You said: héllo wörld"  # in as many deltas as reads
    assert events[-2:] == [Finish("stop"), UsageReport(Usage(2, 6, 8))]
    sent = fake_server.requests[0]
    assert sent.body == chat("héllo wörld")
    assert sent.headers["accept"] == "text/event-stream"


def _event(delta: Any, **extra: Any) -> bytes:
    return sse_event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}], **extra})


FINISH = sse_event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
DONE = b"data: [DONE]\n\n"

QUIRKS = {
    "llama.cpp content null": [
        _event({"role": "assistant", "content": None}),
        _event({"content": "Hello"}),
    ],
    "vLLM choices null": [
        sse_event({"choices": None, "usage": None}),
        _event({"content": "Hello"}),
    ],
    "Azure prompt_filter_results": [
        sse_event({"choices": [], "prompt_filter_results": [{"prompt_index": 0}]}),
        _event({"content": "Hel"}),
        _event({"content": "lo"}),
    ],
    "ping comments": [
        b": ping\n\n",
        _event({"content": "Hel"}),
        b": ping\n\n",
        _event({"content": "lo"}),
    ],
    "CRLF line ends": [
        _event({"content": "Hel"}).replace(b"\n", b"\r\n"),
        b"data: ",
        b'{"choices":[{"delta":{"content":"lo"}}]}\r',
        b"\n\r\n",
    ],
}


@pytest.mark.parametrize("chunks", list(QUIRKS.values()), ids=list(QUIRKS))
def test_quirky_streams_from_real_servers(
    fake_server: FakeServer, make_backend: MakeBackend, chunks: list[bytes]
) -> None:
    fake_server.enqueue(Reply(chunks=[*chunks, FINISH, DONE]))
    events = list(make_backend().stream(chat()))
    assert text_of(events) == "Hello"
    assert events[-1] == Finish("stop")


def test_think_tags_split_across_deltas_come_out_as_reasoning(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    parts = ["<thi", "nk>ponder", "</th", "ink>Answer"]
    fake_server.enqueue(Reply(chunks=[*(_event({"content": p}) for p in parts), FINISH, DONE]))
    events = list(make_backend().stream(chat()))
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "ponder"
    assert text_of(events) == "Answer"


def test_closing_a_think_split_stream_closes_the_request(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    hanging = Reply.hanging("<think>long thoughts")
    fake_server.enqueue(hanging)
    events = make_backend().stream(chat())
    next(events)
    events.close()  # type: ignore[attr-defined]
    assert hanging.disconnected.wait(5)


def test_error_event_after_a_200_raises_api_error(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    error = {"error": {"message": "context length exceeded", "type": "invalid_request_error"}}
    fake_server.enqueue(Reply(chunks=[_event({"content": "Par"}), sse_event(error)]))
    seen: list[StreamEvent] = []
    with pytest.raises(ApiError, match="context length exceeded"):
        seen.extend(make_backend().stream(chat()))
    assert len(fake_server.requests) == 1


def test_bare_error_line_raises_api_error(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.enqueue(Reply(chunks=[b"error: slot unavailable\n\n"]))
    with pytest.raises(ApiError, match="slot unavailable"):
        list(make_backend().stream(chat()))


def test_a_stream_cut_without_finish_or_done_is_an_error_after_its_text(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.enqueue(Reply.text("Cut short", finish=None, usage=False, done=False))
    seen: list[StreamEvent] = []
    with pytest.raises(TransportError, match=r"closed mid-reply \(no finish reason, no \[DONE\]\)"):
        seen.extend(make_backend().stream(chat()))
    assert text_of(seen) == "Cut short"
    assert not any(isinstance(e, Finish) for e in seen)


@pytest.mark.parametrize(
    ("reply", "complete"),
    [
        (Reply.text("Done", usage=False, done=False), True),  # a finish reason, no [DONE]
        (Reply.text("Done", finish=None, usage=False), True),  # [DONE], no finish reason
        (Reply.text("Done", finish=None, usage=True, done=False), False),
    ],
    ids=["finish only", "done only", "usage only"],
)
def test_a_stream_is_complete_with_a_finish_reason_or_done(
    fake_server: FakeServer, make_backend: MakeBackend, reply: Reply, complete: bool
) -> None:
    fake_server.enqueue(reply)
    if complete:
        assert text_of(list(make_backend().stream(chat()))) == "Done"
    else:
        with pytest.raises(TransportError, match="closed mid-reply"):
            list(make_backend().stream(chat()))


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(chunks=[]), "answered 200 with an empty stream"),
        (
            Reply(chunks=[b"<html><title>Sign in to Hotel WiFi</title>"], content_type="text/html"),
            "answered 200 with a web page (text/html), not a chat reply (a captive portal or "
            "a proxy's login page?): <html><title>Sign in to Hotel WiFi</title>",
        ),
        (
            Reply(chunks=[b"hello there, not SSE"], content_type="text/plain"),
            "answered 200 with no event stream (text/plain), not a chat reply: hello there",
        ),
        (Reply(body=[]), "sent JSON that is not a chat reply: []"),
        (Reply(body=b"null"), "sent JSON that is not a chat reply: null"),
        (Reply(body={"id": "x"}), 'sent JSON that is not a chat reply: {"id": "x"}'),
        (Reply(body=b""), "sent a reply that is not JSON: an empty body"),
    ],
    ids=["empty stream", "captive portal", "plain text", "[]", "null", "no choices", "empty"],
)
def test_a_200_that_is_no_reply_is_an_error_naming_what_arrived(
    fake_server: FakeServer, make_backend: MakeBackend, reply: Reply, words: str
) -> None:
    fake_server.enqueue(reply)
    with pytest.raises(TransportError) as caught:
        list(make_backend().stream(chat()))
    assert words in str(caught.value)


def test_close_delimited_stream_delivers_the_first_event_before_the_server_finishes(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    # No chunked encoding: the body ends when the server closes. The server sends the role
    # chunk and the first delta, then waits for the test to release it; a client that
    # buffers would hit its 3 s read timeout instead of yielding (and the test fails).
    reply = Reply(chunks=sse_chunks("First and the rest"), chunked=False, hold_after=2)
    fake_server.enqueue(reply)
    events = make_backend(timeout=3.0).stream(chat())
    assert next(events) == ServedModel("fake-model")  # the role chunk names its model
    first = next(events)
    assert first == TextDelta("Firs")
    # the server notes a write just after making it: the client may be quicker than that
    deadline = time.monotonic() + 2
    while len(reply.sent_at) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(reply.sent_at) == 2 and not reply.finished.is_set()
    reply.release.set()
    assert text_of([first, *events]) == "First and the rest"
    assert reply.finished.wait(2)


def test_gzip_compressed_stream_is_decoded(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.enqueue(Reply.text("Squeezed through gzip", gzip=True))
    events = list(make_backend().stream(chat()))
    assert text_of(events) == "Squeezed through gzip"
    assert Finish("stop") in events


def test_connection_is_reused_across_turns(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    backend = make_backend()
    for turn in range(3):
        assert text_of(list(backend.stream(chat(f"turn {turn}")))) == f"You said: turn {turn}"
    assert len(fake_server.requests) == 3
    assert fake_server.connections == 1
    # A stream that ends by closing cannot be reused: the count does move when it must.
    fake_server.enqueue(Reply.text("closing", chunked=False))
    list(backend.stream(chat()))
    list(backend.stream(chat()))
    assert fake_server.connections == 2


def test_closing_the_generator_aborts_the_request(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    reply = Reply.hanging("Partial answer")
    fake_server.enqueue(reply)
    events = make_backend().stream(chat())
    assert next(events) == ServedModel("fake-model")
    first = next(events)
    assert isinstance(first, TextDelta) and first.text.startswith("Part")
    started = time.monotonic()
    events.close()  # what the engine does on Ctrl-C
    assert time.monotonic() - started < 0.5
    assert reply.disconnected.wait(3), "the server never saw the client leave"


def test_ctrl_c_during_a_blocked_read_drops_the_connection(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    reply = Reply.hanging("Wait")
    fake_server.enqueue(reply)
    events = make_backend().stream(chat())
    assert next(events) == ServedModel("fake-model")
    assert next(events) == TextDelta("Wait")
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            next(events)  # blocks in read1 until the signal lands
    finally:
        timer.cancel()
    events.close()
    assert reply.disconnected.wait(3)


# --- failures and retries ---------------------------------------------------------


def test_retries_500_and_429_honouring_retry_after(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    sleeps: list[float] = []
    fake_server.enqueue(
        Reply.error(500, "boom"),
        Reply.error(429, "slow down", headers={"Retry-After": "2"}),
        Reply.text("Finally"),
    )
    events = list(make_backend(sleep=sleeps.append).stream(chat()))
    assert text_of(events) == "Finally"
    assert len(fake_server.requests) == 3
    assert 0.375 <= sleeps[0] <= 0.5  # backoff 0.5 s less up to 25 % jitter
    assert sleeps[1] == 2.0
    assert fake_server.connections == 1  # small error bodies are read, not dropped
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices == [
        f"HTTP 500 — retrying in {sleeps[0]:.1f} s (1/2)",
        "rate limited — waiting 2.0 s (Retry-After)",  # a 429 says whose wait it is
    ]
    assert isinstance(events[0], Notice) and isinstance(events[1], Notice)  # before the reply


def test_a_retry_after_over_a_minute_is_reported_not_waited(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    sleeps: list[float] = []
    fake_server.enqueue(Reply.error(429, "slow down", headers={"Retry-After": "120"}))
    with pytest.raises(ApiError) as caught:
        list(make_backend(sleep=sleeps.append).stream(chat()))
    assert str(caught.value) == "HTTP 429: rate limited (slow down); the server asks to wait 120 s"
    assert caught.value.retry_after == 120
    assert sleeps == [] and len(fake_server.requests) == 1


def test_max_retries_comes_from_the_settings(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.enqueue(*[Reply.error(503, "busy")] * 6)
    settings = Settings(url=fake_server.url, max_retries=4, timeout=5.0)
    with HttpBackend(settings, sleep=lambda _: None) as backend, pytest.raises(ApiError):
        list(backend.stream(chat()))
    assert len(fake_server.requests) == 5


def test_ctrl_c_during_a_retry_wait_stops_at_once(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt  # what a real sleep does when Ctrl-C arrives

    fake_server.enqueue(Reply.error(503, "busy"))
    seen: list[StreamEvent] = []
    with pytest.raises(KeyboardInterrupt):
        seen.extend(make_backend(sleep=interrupted).stream(chat()))
    assert [type(e) for e in seen] == [Notice]
    assert len(fake_server.requests) == 1


def test_gives_up_after_two_retries_with_a_retryable_error(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    sleeps: list[float] = []
    fake_server.enqueue(*[Reply.error(503, "overloaded", headers={"retry-after-ms": "250"})] * 4)
    with pytest.raises(ApiError, match="HTTP 503: overloaded") as caught:
        list(make_backend(sleep=sleeps.append).stream(chat()))
    assert caught.value.retryable and caught.value.status == 503
    assert sleeps == [0.25, 0.25]
    assert len(fake_server.requests) == 3


@pytest.mark.parametrize(
    ("reply", "requests_made"),
    [
        (Reply.error(500, "no", headers={"x-should-retry": "false"}), 1),
        (Reply.error(400, "bad request"), 1),
        (Reply.error(400, "try again", headers={"x-should-retry": "true"}), 2),
        (Reply.error(409, "conflict"), 2),
    ],
    ids=["should-retry false", "400", "should-retry true", "409"],
)
def test_which_statuses_are_retried(
    fake_server: FakeServer, make_backend: MakeBackend, reply: Reply, requests_made: int
) -> None:
    fake_server.enqueue(reply)
    backend = make_backend()
    if requests_made == 1:
        with pytest.raises(ApiError):
            list(backend.stream(chat()))
    else:  # the retry gets the default reply
        assert text_of(list(backend.stream(chat()))) == "You said: hello"
    assert len(fake_server.requests) == requests_made


def test_no_retry_once_a_200_stream_has_started(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.enqueue(Reply.text("Half of a reply", drop_after=3))
    seen: list[StreamEvent] = []
    with pytest.raises(TransportError, match=r"127\.0\.0\.1:\d+ broke mid-reply"):
        seen.extend(make_backend().stream(chat()))
    assert text_of(seen) == "Half of "  # role chunk, "Half", " of ", then the cut
    assert len(fake_server.requests) == 1


def test_malformed_chunked_encoding_is_a_transport_error(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    # chunked=False writes the bytes raw; the header then claims a framing they break.
    bad = Reply(
        chunks=[b"zz\r\nnot a chunk\r\n"], chunked=False, headers={"Transfer-Encoding": "chunked"}
    )
    fake_server.enqueue(bad)
    with pytest.raises(TransportError, match=r"127\.0\.0\.1"):
        list(make_backend().stream(chat()))


def test_refused_connection_names_the_host_after_retrying(make_backend: MakeBackend) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and is closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    backend = make_backend(url=f"http://127.0.0.1:{port}", sleep=sleeps.append)
    with pytest.raises(TransportError) as caught:
        list(backend.stream(chat()))
    assert (
        str(caught.value)
        == f"cannot reach 127.0.0.1:{port}: connection refused (is the server running?)"
    )
    assert len(sleeps) == 2
    assert KEY not in str(caught.value)


def test_read_timeout_mid_stream_is_a_transport_error(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    reply = Reply.hanging("Slow")
    fake_server.enqueue(reply)
    seen: list[StreamEvent] = []
    with pytest.raises(
        TransportError, match=r"stopped sending mid-reply for 0.3 s \(read timeout\)"
    ):
        seen.extend(make_backend(timeout=0.3).stream(chat()))
    assert text_of(seen) == "Slow"
    assert len(fake_server.requests) == 1
    reply.release.set()


def test_a_request_whose_headers_never_come_is_not_retried(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.enqueue(Reply(pause=2.0), Reply(pause=2.0))
    with pytest.raises(TransportError, match=r"sent no response within 0.2 s of the request"):
        list(make_backend(timeout=0.2, max_retries=2).stream(chat()))
    assert not fake_server.wait_for_requests(2, timeout=0.5)


def test_headers_then_silence_is_named_as_before_the_first_token(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    reply = Reply(chunks=[b": ping\n\n"], hold_after=1)
    fake_server.enqueue(reply)
    with pytest.raises(TransportError, match=r"sent no reply for 0.3 s after its headers"):
        list(make_backend(timeout=0.3).stream(chat()))
    reply.release.set()


def test_retry_delay_reads_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_delay(0, {"retry-after": when}) <= 30
    assert retry_delay(3, {"retry-after": "600"}, rand=lambda: 0.0) == 4.0  # over 60 s: ignored
    assert retry_delay(9, {}, rand=lambda: 1.0) == 6.0  # capped at 8 s, less 25 %


# --- non-streaming and models ---------------------------------------------------------


def test_non_streaming_reply(fake_server: FakeServer, make_backend: MakeBackend) -> None:
    events = list(make_backend().stream(chat("one shot", stream=False)))
    assert events == [
        ServedModel("fake-model"),
        TextDelta("You said: one shot"),
        Finish("stop"),
        UsageReport(Usage(2, 4, 6)),
    ]
    assert fake_server.requests[0].headers["accept"] == "application/json"


def test_json_reply_to_a_stream_request_is_understood(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.enqueue(Reply.completion("not streamed after all"))
    assert text_of(list(make_backend().stream(chat()))) == "not streamed after all"


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        (["gpt-x", "gpt-y"], ["gpt-x", "gpt-y"]),
        (  # llama.cpp's /v1/models carries both shapes
            {
                "models": [{"name": "smol.gguf", "model": "smol.gguf"}],
                "object": "list",
                "data": [{"id": "smol.gguf", "object": "model", "owned_by": "llamacpp"}],
            },
            ["smol.gguf"],
        ),
    ],
    ids=["openai", "llama.cpp"],
)
def test_list_models(
    fake_server: FakeServer, make_backend: MakeBackend, models: Any, expected: list[str]
) -> None:
    fake_server.models = models
    assert make_backend().list_models() == expected
    assert fake_server.requests[0].path == "/v1/models"


def test_list_models_falls_back_to_herokus_available_models(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.models = None
    fake_server.available_models = [
        {"model_id": "claude-4-sonnet", "type": ["text-to-text"], "regions": ["us"]},
        {"model_id": "cohere-embed-multilingual", "type": ["text-to-embedding"]},
        {"model_id": "gpt-oss-120b", "type": ["text-to-text", "tool"]},
    ]
    assert make_backend().list_models() == ["claude-4-sonnet", "gpt-oss-120b"]
    assert [r.path for r in fake_server.requests] == ["/v1/models", "/available-models"]
    fake_server.available_models = None
    with pytest.raises(ApiError, match="lists no models"):
        make_backend().list_models()


def test_fake_server_survives_clients_that_hang_up(fake_server: FakeServer) -> None:
    reply = Reply.hanging("x")
    fake_server.enqueue(reply)
    with socket.create_connection(("127.0.0.1", fake_server.port)) as raw:
        raw.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        raw.recv(100)
    assert reply.disconnected.wait(3)
    response = requests.get(fake_server.url + "/v1/models", timeout=5)
    assert response.json()["data"][0]["id"] == "fake-model"


# --- what the server says about the context window ---------------------------------


def test_context_window_from_llamacpps_props(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    props = {"default_generation_settings": {"n_ctx": 4096, "params": {}}, "total_slots": 2}
    fake_server.enqueue(Reply(body=props), path="/props")
    assert make_backend().context_window("smollm2") == 4096
    request = fake_server.requests[0]
    assert request.path == "/props" and request.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("models", "window"),
    [
        # llama.cpp's /v1/models: the window is in each entry's meta
        ({"data": [{"id": "smollm2", "meta": {"n_ctx": 8192, "n_ctx_train": 8192}}]}, 8192),
        # vLLM
        ({"data": [{"id": "other"}, {"id": "fake-model", "max_model_len": 32768}]}, 32768),
        # OpenRouter, LM Studio
        ({"data": [{"id": "fake-model", "context_length": 200000}]}, 200000),
        # OpenAI lists no window
        ({"data": [{"id": "fake-model", "owned_by": "openai"}]}, None),
    ],
    ids=["llama.cpp", "vllm", "openrouter", "openai"],
)
def test_context_window_from_the_model_list(
    fake_server: FakeServer, make_backend: MakeBackend, models: Any, window: int | None
) -> None:
    fake_server.enqueue(Reply(body=models), path="/v1/models")
    assert make_backend().context_window("fake-model") == window
    assert [r.path for r in fake_server.requests] == ["/props", "/v1/models"]


def test_context_window_is_none_when_the_server_says_nothing_or_fails(
    fake_server: FakeServer, make_backend: MakeBackend
) -> None:
    fake_server.models = None  # /props and /v1/models both 404, as on Heroku
    assert make_backend().context_window("claude-4-5-sonnet") is None
    fake_server.enqueue(Reply(body=b"<html>not json</html>"), path="/props")
    fake_server.enqueue(Reply.error(500, "boom"), path="/v1/models")
    assert make_backend().context_window("m") is None
    assert make_backend(url="http://127.0.0.1:9").context_window("m") is None  # refused
