"""HttpBackend against a loopback server that behaves like Heroku (tests/herokuserver.py).

Also the dialect-independent recoveries: a refused parameter of ours is dropped and
remembered, a user's never is; a 429 without Retry-After waits for the rate-limit reset
and says so; error bodies of every shape become one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakeserver import FakeServer, Reply
from herokuserver import CHAT_MODELS, KEY, HerokuServer

from chatrepl.adapters.endpoints import EndpointMemory, endpoint_key
from chatrepl.adapters.http import HttpBackend
from chatrepl.core.dialect import Detected
from chatrepl.core.errors import ApiError
from chatrepl.core.messages import (
    Notice,
    RateLimitReport,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from chatrepl.core.settings import Secret, Settings

Make = Callable[..., HttpBackend]


@pytest.fixture
def make() -> Iterator[Make]:
    made: list[HttpBackend] = []

    def build(server: FakeServer, *, dialect: str | None = "heroku", **options: Any) -> HttpBackend:
        settings = Settings(url=server.url, key=Secret(KEY, "INFERENCE_KEY"), dialect=dialect)
        options.setdefault("sleep", lambda _: None)
        backend = HttpBackend(settings, **options)
        made.append(backend)
        return backend

    yield build
    for backend in made:
        backend.close()


def chat(model: str | None = "claude-4-5-haiku", **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    payload["stream_options"] = {"include_usage": True}
    if model:
        payload["model"] = model
    return {**payload, **extra}


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --- models ---------------------------------------------------------------------------


def test_heroku_lists_only_chat_models_and_asks_available_models_first(
    heroku_server: HerokuServer, make: Make
) -> None:
    backend = make(heroku_server)
    assert backend.list_models() == CHAT_MODELS
    (request,) = heroku_server.requests
    assert request.path == "/available-models"
    assert backend.announced == Detected(
        "heroku", "detected: /available-models (Heroku's model list)"
    )


def test_a_generic_dialect_falls_back_from_v1_models_to_available_models(
    heroku_server: HerokuServer, make: Make
) -> None:
    backend = make(heroku_server, dialect=None)
    assert backend.list_models() == CHAT_MODELS
    assert [r.path for r in heroku_server.requests] == ["/v1/models", "/available-models"]
    assert backend.announced is not None and backend.announced.name == "heroku"


def test_llamacpp_announces_itself_in_its_listing(fake_server: FakeServer, make: Make) -> None:
    fake_server.models = {
        "object": "list",
        "data": [{"id": "smollm2", "object": "model", "owned_by": "llamacpp"}],
    }
    backend = make(fake_server, dialect=None)
    assert backend.list_models() == ["smollm2"]
    assert backend.announced == Detected("llamacpp", "detected: /v1/models owned_by llamacpp")


# --- a turn, as Heroku answers it ------------------------------------------------------


def test_stream_options_refused_is_retried_without_it_and_never_sent_again(
    heroku_server: HerokuServer, make: Make
) -> None:
    remembered: list[str] = []
    backend = make(heroku_server, on_refused=remembered.append)
    events = list(backend.stream(chat()))
    assert Notice("the server refused stream_options; retrying without it") in events
    assert text_of(events) == "You said: hi"
    first, second = heroku_server.chat_requests
    assert "stream_options" in first.body and "stream_options" not in second.body
    assert remembered == ["stream_options"]
    # the next turn does not even try
    events = list(backend.stream(chat()))
    assert not any(isinstance(e, Notice) for e in events)
    assert "stream_options" not in heroku_server.chat_requests[-1].body
    assert len(heroku_server.chat_requests) == 3


def test_a_refusal_remembered_from_an_earlier_run_is_not_sent(
    heroku_server: HerokuServer, make: Make
) -> None:
    backend = make(heroku_server, refused={"stream_options"})
    assert text_of(list(backend.stream(chat()))) == "You said: hi"
    (request,) = heroku_server.chat_requests
    assert "stream_options" not in request.body


def test_usage_on_a_choices_chunk_with_reasoning_and_cached_tokens(
    heroku_server: HerokuServer, make: Make
) -> None:
    budget = {"enabled": True, "budget_tokens": 2048, "include_reasoning": True}
    events = list(
        make(heroku_server, refused={"stream_options"}).stream(chat(extended_thinking=budget))
    )
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert reasoning == "Thinking with a budget of 2048 tokens."
    (usage,) = [e.usage for e in events if isinstance(e, UsageReport)]
    assert usage.reasoning_tokens == 9 and usage.cached_tokens == 3
    assert usage.completion_tokens and usage.completion_tokens > usage.reasoning_tokens


def test_non_streamed_reasoning_comes_from_message_reasoning(
    heroku_server: HerokuServer, make: Make
) -> None:
    budget = {"enabled": True, "budget_tokens": 1024, "include_reasoning": True}
    payload = {**chat(extended_thinking=budget), "stream": False}
    del payload["stream_options"]
    events = list(make(heroku_server).stream(payload))
    assert [e for e in events if isinstance(e, ReasoningDelta)] == [
        ReasoningDelta("Thinking with a budget of 1024 tokens.")
    ]
    assert text_of(events) == "You said: hi"


def test_rate_limit_headers_are_reported_and_kept(heroku_server: HerokuServer, make: Make) -> None:
    backend = make(heroku_server, refused={"stream_options"})
    events = list(backend.stream(chat()))
    (report,) = [e for e in events if isinstance(e, RateLimitReport)]
    assert report.limits.limit_requests == 150 and report.limits.reset_requests == "51s"
    assert report.limits.remaining_tokens == 799_000
    assert backend.rate_limits == report.limits


def test_a_429_without_retry_after_waits_for_the_reset_header_and_says_so(
    heroku_server: HerokuServer, make: Make
) -> None:
    sleeps: list[float] = []
    backend = make(heroku_server, refused={"stream_options"}, sleep=sleeps.append)
    heroku_server.limit_next(reset="12s")
    events = list(backend.stream(chat()))
    assert sleeps == [12.0]
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices == ["rate limited — waiting 12 s (x-ratelimit-reset-requests)"]
    assert text_of(events) == "You said: hi"
    assert "retry-after" not in {k.lower() for k in heroku_server.requests[0].reply.headers}


def test_a_reset_beyond_a_minute_is_not_waited_for_and_the_error_says_when(
    heroku_server: HerokuServer, make: Make
) -> None:
    sleeps: list[float] = []
    backend = make(heroku_server, refused={"stream_options"}, sleep=sleeps.append)
    heroku_server.limit_next(reset="5m0s")
    with pytest.raises(ApiError) as info:
        list(backend.stream(chat()))
    assert sleeps == []
    assert str(info.value) == (
        "HTTP 429: rate limited; the limit resets in 5m0s "
        "(Rate limit exceeded. Please try again later.)"
    )


def test_a_429_with_a_sub_second_reset_waits_that_long(
    heroku_server: HerokuServer, make: Make
) -> None:
    sleeps: list[float] = []
    heroku_server.limit_next(reset="250ms")
    events = list(
        make(heroku_server, refused={"stream_options"}, sleep=sleeps.append).stream(chat())
    )
    assert sleeps == [0.25]
    assert Notice("rate limited — waiting 0.2 s (x-ratelimit-reset-requests)") in events


def test_a_429_with_retry_after_says_so(fake_server: FakeServer, make: Make) -> None:
    sleeps: list[float] = []
    fake_server.enqueue(Reply.error(429, "slow", headers={"Retry-After": "3"}), Reply.text("ok"))
    events = list(make(fake_server, dialect=None, sleep=sleeps.append).stream(chat()))
    assert sleeps == [3.0]
    assert Notice("rate limited — waiting 3.0 s (Retry-After)") in events


@pytest.mark.parametrize(
    ("payload", "line"),
    [
        (chat(model=None), "HTTP 400: model is required"),
        (
            chat(model="claude-9"),
            "HTTP 403: this key has no access to model 'claude-9' "
            "(/models lists the ones it has) (You do not have access to that model)",
        ),
        (
            chat(temperature=1.5),
            "HTTP 400: the server refused temperature, which /temperature set "
            "(temperature must be between 0.0 and 1.0)",
        ),
    ],
)
def test_heroku_refusals_are_one_line_naming_what_to_change(
    heroku_server: HerokuServer, make: Make, payload: dict, line: str
) -> None:
    with pytest.raises(ApiError) as info:
        list(make(heroku_server, refused={"stream_options"}).stream(payload))
    assert str(info.value) == line


def test_a_refused_parameter_the_user_set_is_never_dropped(
    fake_server: FakeServer, make: Make
) -> None:
    refusal = {"error": {"message": "unrecognized request argument supplied: extended_thinking"}}
    fake_server.enqueue(Reply(status=400, body=refusal))
    thinking = {"enabled": True, "budget_tokens": 1024, "include_reasoning": True}
    with pytest.raises(ApiError) as info:
        list(make(fake_server, dialect=None).stream(chat(extended_thinking=thinking)))
    assert str(info.value) == (
        "HTTP 400: the server refused extended_thinking, which /think set "
        "(unrecognized request argument supplied: extended_thinking)"
    )
    assert len(fake_server.chat_requests) == 1  # not retried


def test_a_second_refusal_is_not_retried_again(fake_server: FakeServer, make: Make) -> None:
    refusal = {"error": "stream_options: unknown field"}
    fake_server.enqueue(Reply(status=400, body=refusal), Reply(status=400, body=refusal))
    with pytest.raises(ApiError, match="stream_options: unknown field"):
        list(make(fake_server, dialect=None).stream(chat()))
    assert len(fake_server.chat_requests) == 2


@pytest.mark.parametrize(
    ("reply", "line"),
    [
        (
            Reply(status=502, body="<html><head><title>502 Bad Gateway</title></head></html>"),
            "HTTP 502: 502 Bad Gateway",
        ),
        (Reply(status=503, body=b""), "HTTP 503: Service Unavailable"),
        (Reply(status=500, body={"detail": "Internal error"}), "HTTP 500: Internal error"),
        (
            Reply(status=500, body=json.dumps({"error": json.dumps({"message": "inner"})})),
            "HTTP 500: inner",
        ),
    ],
)
def test_error_bodies_of_every_shape_are_one_line(
    fake_server: FakeServer, make: Make, reply: Reply, line: str
) -> None:
    reply.headers["x-should-retry"] = "false"
    fake_server.enqueue(reply)
    with pytest.raises(ApiError) as info:
        list(make(fake_server, dialect=None).stream(chat()))
    assert str(info.value) == line


def test_a_flat_error_mid_stream_is_an_error(fake_server: FakeServer, make: Make) -> None:
    chunks = [
        b'data: {"choices": [{"index": 0, "delta": {"content": "par"}}]}\n\n',
        b'data: {"object": "error", "message": "model overloaded", "code": 503}\n\n',
    ]
    fake_server.enqueue(Reply(chunks=chunks))
    got: list[StreamEvent] = []
    with pytest.raises(ApiError, match="model overloaded") as info:
        for event in make(fake_server, dialect=None).stream(chat()):
            got.append(event)
    assert text_of(got) == "par" and info.value.status == 503


# --- the memory of endpoints ------------------------------------------------------------


def test_endpoint_memory_round_trips_and_survives_a_broken_file(tmp_path: Any) -> None:
    memory = EndpointMemory(tmp_path / "state" / "endpoints.json")
    url = "https://user:pw@US.inference.heroku.com/"
    assert memory.model(url) is None and memory.refused(url) == frozenset()
    assert memory.remember_model(url, "claude-4-5-haiku")
    assert memory.remember_refused(url, "stream_options")
    assert memory.remember_refused(url, "stream_options")
    assert memory.model("https://us.inference.heroku.com/v1") == "claude-4-5-haiku"
    assert memory.refused("https://us.inference.heroku.com") == {"stream_options"}
    assert memory.model("https://eu.inference.heroku.com") is None
    text = memory.path.read_text()
    assert "user" not in text and "pw" not in text
    assert memory.path.stat().st_mode & 0o777 == 0o600
    memory.path.write_text("{ not json")
    assert memory.model(url) is None
    assert memory.remember_model(url, "kimi-k2-5")
    assert memory.model(url) == "kimi-k2-5"


def test_endpoint_key() -> None:
    assert endpoint_key("https://a:b@Host.example/v1/") == "https://host.example/v1"
    assert endpoint_key("http://127.0.0.1:8080") == "http://127.0.0.1:8080/v1"


def test_a_listing_that_fails_falls_through_to_the_other(
    fake_server: FakeServer, make: Make
) -> None:
    # INFERENCE_URL pointing at a server that is not Heroku: its /available-models
    # wants a key or does not exist, its /v1/models answers
    fake_server.enqueue(Reply.error(401, "Invalid API Key"), path="/available-models")
    assert make(fake_server).list_models() == ["fake-model"]
    assert [r.path for r in fake_server.requests] == ["/available-models", "/v1/models"]


def test_when_both_listings_fail_the_first_failure_is_raised(
    fake_server: FakeServer, make: Make
) -> None:
    fake_server.models = None
    fake_server.enqueue(Reply.error(401, "Invalid API Key"), path="/available-models")
    with pytest.raises(ApiError, match="HTTP 401"):
        make(fake_server).list_models()
