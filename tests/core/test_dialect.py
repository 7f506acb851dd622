"""Dialects: their rules as tables, and the engine keeping to them (nothing is sent that
the server would refuse, and never a request without a model)."""

from __future__ import annotations

import pytest
from fakes import FakeBackend, FakeClock, MemoryStore, RecordingView, reply

from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.comparison import Target
from chatrepl.core.dialect import (
    DIALECTS,
    Detected,
    announced,
    describe_thinking,
    detect,
    parse_dialect,
    parse_think,
    temperature_problem,
    think_problem,
    thinking_options,
)
from chatrepl.core.engine import Engine
from chatrepl.core.errors import CommandError
from chatrepl.core.messages import RateLimitReport, RateLimits, TextDelta
from chatrepl.core.settings import Layer, resolve

# --- the rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "temperature", "ok"),
    [
        ("heroku", 1.0, True),
        ("heroku", 0.0, True),
        ("heroku", 1.01, False),
        ("heroku", 1.5, False),
        ("openai", 1.5, True),
        ("openai", 2.0, True),
        ("llamacpp", 2.0, True),
        ("generic", 1.5, True),
        (None, 1.5, True),
        ("heroku", None, True),
    ],
)
def test_temperature_ranges(name: str | None, temperature: float | None, ok: bool) -> None:
    problem = temperature_problem(name, temperature)
    assert (problem is None) is ok
    if not ok:
        assert problem == f"temperature {temperature:g} is outside Heroku's range, 0 to 1"


ON_HEROKU = {"enabled": True, "budget_tokens": 1024, "include_reasoning": True}


@pytest.mark.parametrize(
    ("name", "think", "options"),
    [
        ("heroku", None, {}),
        ("heroku", "on", {"extended_thinking": ON_HEROKU}),
        ("heroku", "4096", {"extended_thinking": {**ON_HEROKU, "budget_tokens": 4096}}),
        ("heroku", "high", {"reasoning_effort": "high"}),
        ("heroku", "512", {}),  # refused (below 1024): never sent
        ("openai", "on", {"reasoning_effort": "medium"}),
        ("openai", "low", {"reasoning_effort": "low"}),
        ("openai", "4096", {}),
        ("ollama", "high", {"reasoning_effort": "high"}),
        ("generic", "on", {"reasoning_effort": "medium"}),
        ("llamacpp", "on", {"chat_template_kwargs": {"enable_thinking": True}}),
        ("llamacpp", "high", {"chat_template_kwargs": {"reasoning_effort": "high"}}),
        ("vllm", "on", {"chat_template_kwargs": {"enable_thinking": True}}),
        ("vllm", "medium", {"reasoning_effort": "medium"}),
    ],
)
def test_how_each_dialect_is_asked_for_reasoning(
    name: str, think: str | None, options: dict
) -> None:
    assert thinking_options(name, think) == options


@pytest.mark.parametrize(
    ("name", "think", "problem"),
    [
        ("heroku", "1024", None),
        ("heroku", "1023", "Heroku's thinking budget is at least 1024 tokens, not 1023"),
        ("heroku", "on", None),
        ("openai", "2048", "a thinking budget in tokens is Heroku's extended_thinking; "),
        ("llamacpp", "2048", "a thinking budget in tokens is Heroku's extended_thinking; "),
        ("openai", "high", None),
        (None, None, None),
    ],
)
def test_what_a_dialect_cannot_do_is_refused(
    name: str | None, think: str | None, problem: str | None
) -> None:
    got = think_problem(name, think)
    assert got is None if problem is None else got is not None and got.startswith(problem)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("off", None),
        ("OFF", None),
        (None, None),
        (False, None),
        (True, "on"),
        ("on", "on"),
        (" High ", "high"),
        ("2048", "2048"),
        (2048, "2048"),
        ("007", "7"),
    ],
)
def test_parse_think(raw: object, value: str | None) -> None:
    assert parse_think(raw) == value


@pytest.mark.parametrize("raw", ["max", "-5", "0", "1.5", 1.5, [], "lots"])
def test_parse_think_refuses(raw: object) -> None:
    with pytest.raises(ValueError, match="off, on, low, medium, high"):
        parse_think(raw)


def test_parse_dialect() -> None:
    assert [parse_dialect(n.upper()) for n in DIALECTS] == list(DIALECTS)
    with pytest.raises(ValueError, match="one of heroku, openai"):
        parse_dialect("azure")


def test_describe_thinking() -> None:
    assert describe_thinking("heroku", "on") == "on (extended_thinking, budget 1024 tokens)"
    assert describe_thinking("openai", "low") == "low (reasoning_effort=low)"
    assert describe_thinking("llamacpp", "on") == "on (chat_template_kwargs.enable_thinking=True)"
    assert describe_thinking("heroku", None) == "off"


@pytest.mark.parametrize(
    ("url", "heroku_variables", "name", "why"),
    [
        ("https://us.inference.heroku.com", False, "heroku", "host *.inference.heroku.com"),
        ("https://eu.inference.heroku.com/v1/", False, "heroku", "host *.inference.heroku.com"),
        ("https://US.Inference.Heroku.com", False, "heroku", "host"),
        ("http://127.0.0.1:5000", True, "heroku", "Heroku's add-on variables"),
        ("https://inference.heroku.com.evil.example", False, "generic", "default"),
        ("https://api.heroku.com", False, "generic", "default"),
        ("https://api.openai.com/v1", False, "openai", "host api.openai.com"),
        ("http://localhost:11434", False, "ollama", "port 11434"),
        ("http://localhost:8080", False, "generic", "default"),
        ("http://[::1", False, "generic", "default"),
        (None, False, "generic", "default"),
    ],
)
def test_detect_from_the_url(url: str | None, heroku_variables: bool, name: str, why: str) -> None:
    found = detect(url, heroku_variables=heroku_variables)
    assert found.name == name and why in found.why


LLAMACPP_MODELS = {
    "models": [{"name": "smollm2", "model": "smollm2"}],
    "object": "list",
    "data": [{"id": "smollm2", "object": "model", "owned_by": "llamacpp"}],
}


@pytest.mark.parametrize(
    ("body", "server", "name"),
    [
        ({"data": [{"id": "x"}]}, "llama.cpp", "llamacpp"),  # the header, seen on llama.cpp
        (LLAMACPP_MODELS, None, "llamacpp"),  # recorded from llama.cpp's server
        ({"data": [{"id": "Qwen/Qwen3-8B", "owned_by": "vllm", "root": "x"}]}, None, "vllm"),
        ({"data": [{"id": "llama3.2:latest", "owned_by": "library"}]}, None, "ollama"),
        ([{"model_id": "claude-4-5-haiku", "type": ["text-to-text"]}], None, "heroku"),
        ({"data": [{"id": "gpt-4o", "owned_by": "openai"}]}, "nginx", None),
        ([], None, None),
        ("junk", None, None),
    ],
)
def test_announced_by_the_model_listing(body: object, server: str | None, name: str | None) -> None:
    found = announced(body, server)
    assert (found.name if found else None) == name


# --- the engine keeps to the rules ----------------------------------------------------


def engine(**values: object) -> tuple[Engine, FakeBackend, RecordingView]:
    backend = FakeBackend(clock=FakeClock(), models=["m1", "m2"])
    view = RecordingView()
    values = {"url": "https://us.inference.heroku.com", **values}
    sources = {k: f"flag --{k}" for k in values}
    if "dialect" in values:
        sources["dialect"] = "detected: host *.inference.heroku.com"
    resolved = resolve(Layer("flag", values, sources))
    e = Engine(resolved, backend, view, commands=builtin_commands(), store=MemoryStore())
    return e, backend, view


def test_no_model_means_nothing_is_sent_and_the_message_waits_for_retry() -> None:
    e, backend, view = engine()
    outcome = e.handle("hello")
    assert backend.payloads == []
    assert isinstance(outcome.error, CommandError)
    assert view.errors == [
        "no model chosen: /model NAME picks one (/models lists them) — /retry resends your message"
    ]
    assert e.conversation.pending_user == "hello"
    backend.enqueue(reply("hi"))
    e.handle("/model m2")
    e.handle("/retry")
    assert backend.payloads[0]["model"] == "m2"
    assert [m["content"] for m in backend.payloads[0]["messages"]] == ["hello"]


def test_one_shot_has_no_retry_hint() -> None:
    e, _, view = engine()
    e.interactive = False
    e.handle("hello")
    assert view.errors == ["no model chosen: /model NAME picks one (/models lists them)"]


def test_temperature_above_one_on_heroku_is_refused_with_its_range() -> None:
    e, backend, view = engine(model="m1", dialect="heroku")
    e.handle("/temperature 1.5")
    assert view.errors == ["/temperature takes a number from 0 to 1 on Heroku, not '1.5'"]
    assert e.settings.temperature is None and backend.payloads == []
    e.handle("/temperature 0.7")
    assert e.settings.temperature == 0.7


def test_temperature_above_one_elsewhere_is_fine() -> None:
    e, _, view = engine(model="m1", dialect="openai")
    e.handle("/temperature 1.5")
    assert view.errors == [] and e.settings.temperature == 1.5


def test_a_temperature_the_dialect_refuses_is_never_sent() -> None:
    # e.g. restored from a transcript made against another server
    e, backend, view = engine(model="m1", dialect="heroku", temperature=1.7)
    e.handle("hello")
    assert backend.payloads == []
    assert view.errors[0].startswith("temperature 1.7 is outside Heroku's range, 0 to 1")
    with pytest.raises(CommandError, match="outside Heroku's range"):
        e.compare([Target("m1", "m1"), Target("m2", "m2")], "q")


def test_think_on_heroku_sends_extended_thinking() -> None:
    e, backend, view = engine(model="m1", dialect="heroku")
    e.handle("/think on")
    assert view.infos[-1] == "thinking: on (extended_thinking, budget 1024 tokens) [heroku dialect]"
    backend.enqueue(reply("hi"))
    e.handle("hello")
    assert backend.payloads[-1]["extended_thinking"] == ON_HEROKU
    e.handle("/think 3000")
    backend.enqueue(reply("hi"))
    e.handle("again")
    assert backend.payloads[-1]["extended_thinking"]["budget_tokens"] == 3000
    e.handle("/think off")
    backend.enqueue(reply("hi"))
    e.handle("and again")
    assert "extended_thinking" not in backend.payloads[-1]
    assert e.sources["think"] == "/think"


def test_think_refuses_what_the_dialect_cannot_do_and_changes_nothing() -> None:
    e, _, view = engine(model="m1", dialect="openai")
    e.handle("/think 2048")
    assert view.errors == [
        "a thinking budget in tokens is Heroku's extended_thinking; "
        "OpenAI takes /think on or low|medium|high"
    ]
    e.handle("/think lots")
    assert view.errors[-1] == (
        "/think takes off, on, low, medium, high or a number of tokens, not 'lots'"
    )
    assert e.settings.think is None
    e.handle("/think high")
    assert e.settings.think == "high"


def test_a_detected_dialect_never_replaces_one_the_user_chose() -> None:
    e, _, _ = engine(model="m1")
    assert e.settings.dialect is None and e.sources["dialect"] == "default"
    e.detected(Detected("llamacpp", "detected: Server: llama.cpp header"))
    assert (e.settings.dialect, e.sources["dialect"]) == (
        "llamacpp",
        "detected: Server: llama.cpp header",
    )
    chosen, _, _ = engine(model="m1")
    chosen.set("dialect", "vllm", "config x.toml")
    chosen.detected(Detected("llamacpp", "detected: Server: llama.cpp header"))
    assert chosen.settings.dialect == "vllm"


def test_rate_limits_of_the_last_response_are_kept_and_shown() -> None:
    e, backend, view = engine(model="m1")
    e.handle("/limits")
    assert "no rate limits known" in view.infos[-1]
    limits = RateLimits(150, 149, "51s", 800000, 799000, "1m0s")
    backend.enqueue([RateLimitReport(limits), TextDelta("hi")])
    e.handle("hello")
    assert e.rate_limits == limits
    e.handle("/limits")
    _, rows = view.tables[-1]
    assert rows == [
        ("", "remaining", "limit", "resets in"),
        ("requests", "149", "150", "51s"),
        ("tokens", "799,000", "800,000", "1m0s"),
    ]


def test_known_models_are_set_through_the_engine() -> None:
    e, _, _ = engine(model="m1")
    e.set_known_models(["b", "a", "b"])
    assert list(e.known_models) == ["a", "b"]


def test_settings_shows_the_dialect_and_why() -> None:
    e, _, view = engine(model="m1", dialect="heroku")
    e.handle("/settings")
    _, rows = view.tables[-1]
    assert ("dialect", "heroku", "detected: host *.inference.heroku.com") in rows
    assert ("think", "off", "default") in rows
