"""The engine, driven line by line with a scripted backend and a recording view."""

from __future__ import annotations

import itertools

import pytest
from fakes import FakeBackend, FakeClock, MemoryStore, RecordingView, Tick, reply

from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.conversation import Conversation
from chatrepl.core.engine import Engine
from chatrepl.core.errors import ApiError, TerminatedBySignal, TransportError, UnexpectedError
from chatrepl.core.messages import (
    Finish,
    Message,
    Notice,
    ReasoningDelta,
    TextDelta,
    TurnStats,
    Usage,
    UsageReport,
)
from chatrepl.core.reply import Outcome
from chatrepl.core.settings import Layer, from_env, resolve, resolve_key
from chatrepl.core.transcript import Transcript

KEY = "inf-0123456789abcdefSECRETabcd"
ENV = {"INFERENCE_URL": "https://us.inference.heroku.com", "INFERENCE_KEY": KEY}


class Harness:
    """An engine wired to fakes, plus shortcuts for what tests look at."""

    def __init__(
        self, *, system: str | None = None, interactive: bool = True, **flags: object
    ) -> None:
        self.clock = FakeClock(1000.0)
        self.wall = FakeClock(1_700_000_000.0)
        self.backend = FakeBackend(clock=self.clock, models=["m1", "m2"])
        self.view = RecordingView()
        self.store = MemoryStore()
        values = {"model": "m1", **flags}
        if system is not None:
            values["system"] = system
        resolved = resolve(from_env(ENV), Layer("flag", values, {k: f"flag --{k}" for k in values}))
        self.engine = Engine(
            resolve_key(resolved, ENV),
            self.backend,
            self.view,
            commands=builtin_commands(),
            store=self.store,
            interactive=interactive,
            clock=self.clock,
            wall_clock=self.wall,
        )
        self.outcomes: list[Outcome] = []

    def say(self, *lines: str) -> Outcome:
        for line in lines:
            self.outcomes.append(self.engine.handle(line))
        return self.outcomes[-1]

    @property
    def messages(self) -> list[tuple[str, str]]:
        return [(m.role, m.content) for m in self.engine.conversation.messages]

    @property
    def payload(self) -> dict:
        return self.backend.payloads[-1]


@pytest.fixture
def h() -> Harness:
    return Harness()


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


def _no_two_in_a_row(messages: list[dict]) -> bool:
    roles = [m["role"] for m in messages]
    return all(a != b for a, b in itertools.pairwise(roles))


# --- turns --------------------------------------------------------------------------


@pytest.mark.parametrize("system", [None, "Be terse."])
def test_three_turns_carry_the_whole_history(system):
    h = Harness(system=system)
    for answer in ("a1", "a2", "a3"):
        h.backend.enqueue(reply(answer))
    h.say("q1", "q2", "q3")
    head = [{"role": "system", "content": system}] if system else []
    assert [p["messages"] for p in h.backend.payloads] == [
        [*head, _user("q1")],
        [*head, _user("q1"), _assistant("a1"), _user("q2")],
        [*head, _user("q1"), _assistant("a1"), _user("q2"), _assistant("a2"), _user("q3")],
    ]
    assert h.messages == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
        ("user", "q3"),
        ("assistant", "a3"),
    ]
    assert all(p["model"] == "m1" and p["stream"] is True for p in h.backend.payloads)
    assert all(s.closed for s in h.backend.streams)
    assert h.view.errors == []
    assert h.backend.pending == 0


def test_a_turn_feeds_the_view_in_order(h):
    h.backend.enqueue([TextDelta("Hel"), TextDelta("lo"), Finish("stop")])
    h.say("hi")
    kinds = h.view.kinds()
    assert kinds == ["begin_reply", "show", "show", "end_reply"]
    assert h.view.shown == [TextDelta("Hel"), TextDelta("lo")]
    (stats,) = h.view.ended
    assert stats == h.engine.conversation.messages[-1].stats
    assert stats.finish_reason == "stop"
    assert (stats.model, stats.interrupted, stats.truncated) == ("m1", False, False)


def test_a_committed_turn_is_saved_with_its_reply(h):
    h.backend.enqueue(reply("a"))
    outcome = h.say("q")
    assert [(m.role, m.content) for m in h.store.saved] == [("user", "q"), ("assistant", "a")]
    assert outcome.reply == h.engine.conversation.messages[-1]
    assert h.store.saves[-1][1]["model"] == "m1"


def test_stats_from_the_fake_clock_and_usage(h):
    h.backend.enqueue(
        [
            Tick(0.25),
            TextDelta("a"),
            Tick(1.0),
            TextDelta("b"),
            Finish("stop"),
            Tick(0.25),
            UsageReport(Usage(9, 20, 29)),
        ]
    )
    h.say("q")
    stats = h.engine.conversation.messages[-1].stats
    assert stats.ttft == pytest.approx(0.25)
    assert stats.duration == pytest.approx(1.5)
    assert stats.started_at == 1_700_000_000.0
    assert stats.usage == Usage(9, 20, 29)
    assert stats.tokens_per_second == pytest.approx(20 / 1.25)
    assert stats.finish_reason == "stop"


def test_stats_record_the_settings_the_turn_used():
    h = Harness(temperature=0.4, max_tokens=50)
    h.backend.enqueue(reply("a"))
    h.say("q")
    stats = h.engine.conversation.messages[-1].stats
    assert (stats.model, stats.temperature, stats.max_tokens) == ("m1", 0.4, 50)


def test_an_empty_reply_is_an_error_and_never_committed(h):
    h.backend.enqueue([Tick(2.0), Finish("stop")])
    outcome = h.say("q")
    assert h.messages == [("user", "q")]  # pending for /retry, no empty assistant message
    assert outcome.error is not None and outcome.reply is None
    assert h.view.errors == [
        "the model sent an empty reply (finish reason 'stop') — /retry resends your message"
    ]
    h.backend.enqueue([ReasoningDelta("thinking only"), Finish("length")])
    h.say("/retry")
    assert h.messages == [("user", "q")]
    assert "finish reason 'length'" in h.view.errors[-1]


def test_eof_without_finish_is_truncated(h):
    h.backend.enqueue([TextDelta("half an ans")])
    h.say("q")
    stats = h.engine.conversation.messages[-1].stats
    assert h.messages[-1] == ("assistant", "half an ans")
    assert stats.truncated is True
    assert stats.finish_reason is None
    assert stats.interrupted is False


def test_reasoning_is_shown_kept_and_never_sent_back(h):
    h.backend.enqueue(
        [ReasoningDelta("think "), ReasoningDelta("hard"), TextDelta("42"), Finish("stop")]
    )
    h.backend.enqueue(reply("ok"))
    h.say("q1", "q2")
    assert h.view.reasoning == "think hard"
    first = h.engine.conversation.messages[1]
    assert (first.content, first.reasoning) == ("42", "think hard")
    assert h.payload["messages"] == [_user("q1"), _assistant("42"), _user("q2")]
    assert "think" not in repr(h.payload)


def test_notices_from_the_backend_are_shown_and_never_part_of_the_reply(h):
    h.backend.enqueue(
        [Notice("HTTP 503 — retrying in 1.0 s (1/2)"), TextDelta("ok"), Finish("stop")]
    )
    h.say("q")
    assert h.view.notices == ["HTTP 503 — retrying in 1.0 s (1/2)"]
    assert h.view.kinds() == ["begin_reply", "notice", "show", "end_reply"]
    assert h.engine.conversation.messages[-1].content == "ok"


def test_slash_slash_sends_a_slash_message(h):
    h.backend.enqueue(reply("a"))
    h.say("//model is a command")
    assert h.payload["messages"] == [_user("/model is a command")]
    assert h.engine.settings.model == "m1"


def test_blank_lines_do_nothing(h):
    h.say("", "   ", "\n")
    assert h.backend.payloads == []
    assert h.view.calls == []


# --- setting commands ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("/model gpt-x", "model", "gpt-x"),
        ("/m gpt-x", "model", "gpt-x"),
        ("/temperature 0.2", "temperature", 0.2),
        ("/temperature 0", "temperature", 0.0),
        ("/temperature 2", "temperature", 2.0),
        ("/temp 1", "temperature", 1.0),
        ("/max_tokens 64", "max_tokens", 64),
        ("/max 1", "max_tokens", 1),
    ],
)
def test_setting_commands_change_the_next_payload(h, line, key, value):
    h.say(line)
    assert h.backend.payloads == []  # a command sends nothing
    assert h.view.errors == []
    assert len(h.view.infos) == 1
    assert h.engine.sources[key] == f"/{key}"  # the command's full name, even via an alias
    h.backend.enqueue(reply("a"))
    h.say("q")
    assert h.payload[key] == value
    assert h.engine.conversation.messages[-1].stats.__getattribute__(key) == value


def test_max_tokens_off_removes_the_cap():
    h = Harness(max_tokens=100)
    h.backend.enqueue(reply("a")).enqueue(reply("b"))
    h.say("q1")
    assert h.payload["max_tokens"] == 100
    h.say("/max_tokens off", "q2")
    assert "max_tokens" not in h.payload
    assert h.engine.settings.max_tokens is None
    assert h.view.infos[-1] == "max_tokens: off"


def test_system_command_sets_and_removes_the_system_prompt(h):
    h.backend.enqueue(reply("a")).enqueue(reply("b"))
    h.say("/system You are a pirate.", "q1")
    assert h.payload["messages"][0] == {"role": "system", "content": "You are a pirate."}
    h.say("/system off", "q2")
    assert [m["role"] for m in h.payload["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize(
    ("line", "valid"),
    [
        ("/temperature abc", "a number from 0 to 2"),
        ("/temperature 5", "a number from 0 to 2"),
        ("/temperature 2.01", "a number from 0 to 2"),
        ("/temperature -0.1", "a number from 0 to 2"),
        ("/temperature off", "a number from 0 to 2"),
        ("/max_tokens -3", "a positive whole number or 'off'"),
        ("/max_tokens 1.5", "a positive whole number or 'off'"),
        ("/max_tokens 0", "a positive whole number or 'off'"),
        ("/max_tokens lots", "a positive whole number or 'off'"),
        ("/model two words", "no spaces"),
    ],
)
def test_bad_values_change_nothing_and_send_nothing(line, valid):
    h = Harness(temperature=0.5, max_tokens=100)
    before = (h.engine.settings, h.engine.sources)
    h.say(line)
    assert len(h.view.errors) == 1
    assert valid in h.view.errors[0]
    assert h.view.kinds() == ["error"]
    assert (h.engine.settings, h.engine.sources) == before
    assert h.backend.payloads == []
    # and the next turn still uses the old values
    h.backend.enqueue(reply("a"))
    h.say("q")
    assert (h.payload["temperature"], h.payload["max_tokens"], h.payload["model"]) == (
        0.5,
        100,
        "m1",
    )


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("/model", "model: m1"),
        ("/temperature", "temperature: (not set)"),
        ("/max_tokens", "max_tokens: off"),
        ("/system", "system: off"),
    ],
)
def test_setting_commands_without_args_show_the_value(h, line, shown):
    h.say(line)
    assert h.view.infos == [shown]
    assert h.backend.payloads == []


def test_settings_shows_values_sources_and_a_masked_key(h):
    h.say("/temperature 0.3", "/settings")
    ((title, rows),) = h.view.tables
    assert title == "Settings"
    table = {row[0]: row[1:] for row in rows}
    assert table["temperature"] == ("0.3", "/temperature")
    assert table["url"] == ("https://us.inference.heroku.com", "env INFERENCE_URL")
    assert table["model"] == ("m1", "flag --model")
    assert table["key"] == ("inf-…abcd", "env INFERENCE_KEY")
    assert table["max_tokens"] == ("off", "default")
    assert KEY not in repr(h.view.calls)


def test_models_lists_and_feeds_the_model_hint(h):
    h.say("/models")
    ((title, rows),) = h.view.tables
    assert title == "Models"
    assert rows == [("*", "m1"), ("", "m2")]
    assert list(h.engine.known_models) == ["m1", "m2"]
    h.say("/model m2", "/model nope")
    assert h.view.infos == ["model: m2", "model: nope (not in /models)"]


def test_help_lists_every_command(h):
    h.say("/help")
    ((title, rows), (keys_title, keys)) = h.view.tables
    assert title == "Commands"
    # a command and its aliases on one line
    assert ("/exit, /quit, /q", "leave (Ctrl-D works too)") in rows
    assert sum("/quit" in row[0] for row in rows) == 1
    assert any(row[0].startswith("/help, /h, /?") for row in rows)
    assert keys_title == "Keys"
    named = [row[0] for row in keys]
    for key in ("Enter", "Esc Enter, Alt-Enter", "Tab", "Ctrl-C", "Ctrl-D", "Ctrl-X Ctrl-E"):
        assert key in named
    first_cells = " ".join(row[0] for row in rows)
    for name in (
        "/model",
        "/temperature",
        "/max_tokens",
        "/settings",
        "/undo",
        "/retry",
        "/clear",
        "/exit",
        "//text",
    ):
        assert name in first_cells


def test_unknown_command_is_one_error_and_sends_nothing(h):
    h.say("/modle gpt-x")
    assert h.view.kinds() == ["error"]
    assert "unknown command /modle" in h.view.errors[0]
    assert "/model" in h.view.errors[0]
    assert h.backend.payloads == []
    assert h.engine.settings.model == "m1"


@pytest.mark.parametrize("line", ["/exit", "/quit", "/q", "/EXIT"])
def test_exit_asks_the_loop_to_stop(h, line):
    assert h.say("/help").exit is False
    assert h.say(line).exit is True
    assert h.backend.payloads == []


# --- history commands ---------------------------------------------------------------


def test_undo_drops_the_last_exchange(h):
    h.backend.enqueue(reply("a1")).enqueue(reply("a2")).enqueue(reply("a3"))
    h.say("q1", "q2", "/undo")
    assert h.messages == [("user", "q1"), ("assistant", "a1")]
    assert "2 messages" in h.view.infos[-1]
    h.say("q3")
    assert h.payload["messages"] == [_user("q1"), _assistant("a1"), _user("q3")]


def test_undo_with_nothing_is_an_error(h):
    h.say("/undo")
    assert h.view.kinds() == ["error"]
    assert "nothing to undo" in h.view.errors[0]


def test_clear_starts_over(h):
    old = h.engine.conversation
    h.backend.enqueue(reply("a1")).enqueue(reply("a2"))
    h.say("q1", "/clear", "q2")
    assert h.store.new_sessions == 1  # the next save starts a new file
    assert h.engine.conversation is not old
    assert h.payload["messages"] == [_user("q2")]
    assert h.view.infos == ["new conversation"]


# --- failures -----------------------------------------------------------------------


def test_failed_turn_keeps_the_user_message_pending(h):
    h.backend.fail(ApiError("upstream exploded", status=500, retryable=True))
    outcome = h.say("q1")
    assert h.messages == [("user", "q1")]
    assert h.engine.conversation.pending_user == "q1"
    assert len(h.view.errors) == 1
    assert "upstream exploded" in h.view.errors[0]
    assert "/retry" in h.view.errors[0]
    assert h.view.ended == [None]
    assert h.backend.streams[-1].closed
    assert isinstance(outcome.error, ApiError) and outcome.reply is None
    assert [(m.role, m.content) for m in h.store.saved] == [("user", "q1")]  # kept for /retry


def test_retry_after_a_failure_resends_the_same_payload(h):
    h.backend.fail(ApiError("bad gateway", status=502)).enqueue(reply("a1"))
    h.say("q1", "/retry")
    first, second = h.backend.payloads
    assert first == second
    assert h.messages == [("user", "q1"), ("assistant", "a1")]


def test_retry_after_success_replaces_the_reply(h):
    h.backend.enqueue(reply("a1")).enqueue(reply("a1 again"))
    h.say("q1", "/retry")
    first, second = h.backend.payloads
    assert first == second
    assert h.messages == [("user", "q1"), ("assistant", "a1 again")]


def test_retry_with_nothing_to_retry(h):
    h.say("/retry")
    assert h.view.kinds() == ["error"]
    assert "nothing to retry" in h.view.errors[0]
    assert h.backend.payloads == []


def test_new_message_after_a_failure_goes_together_with_the_pending_one(h):
    h.backend.enqueue(reply("a1"))
    h.backend.fail(TransportError("connection reset"))
    h.backend.enqueue(reply("a3"))
    h.say("q1", "q2", "q3")
    assert h.payload["messages"] == [_user("q1"), _assistant("a1"), _user("q2\n\nq3")]
    for payload in h.backend.payloads:
        assert _no_two_in_a_row(payload["messages"])
    assert h.messages == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2\n\nq3"),
        ("assistant", "a3"),
    ]
    assert h.view.infos == [
        "(sent together with the unanswered message before it; /undo removes both)"
    ]


def test_many_failures_in_a_row_never_stack_or_lose_user_messages(h):
    for _ in range(3):
        h.backend.fail(ApiError("down", status=503))
    h.backend.enqueue(reply("finally"))
    h.say("q1", "q2", "q3", "q4")
    for payload in h.backend.payloads:
        assert _no_two_in_a_row(payload["messages"])
    assert h.messages == [("user", "q1\n\nq2\n\nq3\n\nq4"), ("assistant", "finally")]
    assert len(h.view.errors) == 3


def test_a_loaded_unanswered_message_survives_a_new_one(h):
    loaded = Transcript(Conversation([Message("user", "Hello from the quick start")]))
    h.engine.load(loaded, source="transcript body.json")
    assert h.engine.awaiting_reply
    h.backend.enqueue(reply("hi"))
    h.say("and a joke")
    assert h.payload["messages"] == [_user("Hello from the quick start\n\nand a joke")]


def test_one_shot_mode_prints_no_repl_hints():
    h = Harness(interactive=False)
    h.backend.fail(ApiError("down", status=503))
    h.backend.interrupt_after([])
    h.backend.fail_after([TextDelta("part")], TransportError("reset"))
    h.say("q1")
    h.engine.retry()
    h.engine.retry()
    h.engine.load(Transcript(Conversation([Message("user", "pending")])), source="x")
    h.backend.enqueue(reply("ok"))
    h.say("q2")
    shown = " ".join(h.view.errors + h.view.infos)
    assert "/retry" not in shown and "↑" not in shown and "/undo" not in shown
    assert h.view.errors == ["down", "reset; partial reply kept"]


def test_invalid_utf8_in_a_message_is_repaired_before_it_is_sent_and_saved(h):
    h.backend.enqueue(reply("ok"))
    h.say("caf\udce9 and a lone \ud800 surrogate")  # how Python keeps undecodable bytes
    sent = h.payload["messages"][0]["content"]
    assert sent == "caf\ufffd and a lone \ufffd surrogate"
    sent.encode("utf-8")  # writable
    assert h.store.saved[0].content == sent
    assert "replaced" in h.view.infos[0]


def test_settings_changes_undo_and_clear_are_saved_at_once(h):
    h.backend.enqueue(reply("a1"))
    h.say("q1")
    saves = len(h.store.saves)
    h.say("/model other")
    assert h.store.saves[-1][1]["model"] == "other" and len(h.store.saves) == saves + 1
    h.say("/system Be brief.")
    assert h.store.saves[-1][1]["system"] == "Be brief."
    h.say("/undo")
    assert h.store.saves[-1][0] == []
    h.say("/clear")
    assert h.store.new_sessions == 1 and h.store.saves[-1][0] == []


def test_failure_raised_by_the_request_itself(h):
    # a backend may fail before returning an iterator (e.g. the HTTP status is checked first)
    h.backend.fail(ApiError("service unavailable", status=503), eager=True)
    h.say("q1")
    assert h.engine.conversation.pending_user == "q1"
    assert len(h.view.errors) == 1
    assert "service unavailable" in h.view.errors[0]
    assert "/retry" in h.view.errors[0]
    assert h.view.kinds() == ["begin_reply", "end_reply", "error"]  # the view is not left open
    h.backend.enqueue(reply("a1"))
    h.say("/retry")
    assert h.messages == [("user", "q1"), ("assistant", "a1")]


def test_mid_stream_error_keeps_the_partial_reply(h):
    h.backend.fail_after([TextDelta("part"), TextDelta("ial")], ApiError("overloaded", status=None))
    h.say("q1")
    assert h.messages == [("user", "q1"), ("assistant", "partial")]
    stats = h.engine.conversation.messages[-1].stats
    assert stats.finish_reason == "error"
    assert stats.interrupted is False
    assert len(h.view.errors) == 1
    assert "overloaded" in h.view.errors[0]
    assert "partial reply kept" in h.view.errors[0]
    assert h.view.kinds()[-2:] == ["end_reply", "error"]
    assert h.backend.streams[-1].closed


def test_retry_after_a_partial_reply_replaces_it(h):
    h.backend.fail_after([TextDelta("part")], TransportError("reset"))
    h.backend.enqueue(reply("whole"))
    h.say("q1", "/retry")
    assert h.backend.payloads[0] == h.backend.payloads[1]
    assert h.messages == [("user", "q1"), ("assistant", "whole")]


def test_interrupt_mid_stream_keeps_the_partial_reply(h):
    h.backend.interrupt_after([Tick(0.5), TextDelta("Once upon"), Tick(0.5)])
    h.say("tell me a story")
    assert h.messages == [("user", "tell me a story"), ("assistant", "Once upon")]
    stats = h.engine.conversation.messages[-1].stats
    assert stats.interrupted is True
    assert stats.truncated is False
    assert stats.duration == pytest.approx(1.0)
    assert h.backend.streams[-1].closed
    assert h.view.errors == []
    assert h.view.ended == [stats]
    assert h.outcomes[-1].interrupted and h.outcomes[-1].reply is not None
    # the session goes on, with the partial reply in history
    h.backend.enqueue(reply("The end."))
    h.say("go on")
    assert h.payload["messages"] == [
        _user("tell me a story"),
        _assistant("Once upon"),
        _user("go on"),
    ]


def test_interrupt_before_any_text_commits_no_empty_reply(h):
    h.backend.interrupt_after([Tick(0.5), ReasoningDelta("hmm")])
    h.say("q1")
    assert h.backend.streams[-1].closed
    assert h.messages == [("user", "q1")]  # pending: /retry resends it
    assert h.view.ended == [None]
    assert h.view.errors == []
    h.backend.enqueue(reply("a1"))
    h.say("/retry")
    assert h.payload["messages"] == [_user("q1")]


def test_interrupt_while_connecting(h):
    h.backend.fail(KeyboardInterrupt(), eager=True)
    outcome = h.say("q1")
    assert h.messages == [("user", "q1")]
    assert h.view.ended == [None]
    assert outcome.interrupted and not outcome.exit


def test_a_bug_under_a_reply_costs_the_reply_not_the_session(h):
    h.backend.fail_after([TextDelta("so far")], RuntimeError("a bug"))
    outcome = h.say("q")
    assert isinstance(outcome.error, UnexpectedError)
    assert isinstance(outcome.error.__cause__, RuntimeError)  # for --debug
    assert h.view.errors == [
        "internal error: RuntimeError: a bug (run with --debug for the traceback); "
        "partial reply kept — /retry"
    ]
    assert h.view.kinds()[-2:] == ["end_reply", "error"]  # the view was closed first
    assert h.messages == [("user", "q"), ("assistant", "so far")]


def test_a_termination_signal_saves_the_partial_reply_then_ends_the_turn(h):
    h.backend.fail_after([TextDelta("half")], TerminatedBySignal(15))
    with pytest.raises(TerminatedBySignal):
        h.say("q")
    assert h.store.saved[-1].content == "half"
    assert h.store.saved[-1].stats.interrupted
    h.backend.fail(TerminatedBySignal(1), eager=True)
    with pytest.raises(TerminatedBySignal):
        h.say("q2")
    assert h.store.saved[-1] == Message("user", "q2")  # kept for /retry after a restart


def test_turn_stats_are_frozen_values(h):
    h.backend.enqueue(reply("a", usage=Usage(1, 1, 2)))
    h.say("q")
    stats = h.engine.conversation.messages[-1].stats
    assert isinstance(stats, TurnStats)
    with pytest.raises(AttributeError):
        stats.interrupted = True  # type: ignore[misc]


def test_each_line_returns_what_it_did(h):
    h.backend.fail(ApiError("nope", status=500)).enqueue(reply("a"))
    assert isinstance(h.say("q1").error, ApiError)
    retried = h.say("/retry")
    assert retried.error is None and retried.reply is not None
    assert retried.reply.content == "a"
    assert h.say("/temperature 9").error is not None
    assert h.say("/temperature 0.5") == Outcome()


def test_one_shot_mode_does_not_suggest_retry():
    h = Harness(interactive=False)
    h.backend.fail(ApiError("rate limited", status=429))
    h.say("q1")
    assert h.view.errors == ["rate limited"]


def test_retry_after_an_interrupt_before_any_text(h):
    h.backend.interrupt_after([]).enqueue(reply("a1"))
    h.say("q1", "/retry")
    assert h.backend.payloads[0] == h.backend.payloads[1]
    assert h.messages == [("user", "q1"), ("assistant", "a1")]


def test_a_bug_in_a_command_is_one_line_and_the_session_goes_on() -> None:
    from chatrepl.core.commands.registry import Command

    def broken(ctx: object, args: str) -> None:
        raise ZeroDivisionError("division by zero")

    h = Harness()
    h.engine.registry = type(h.engine.registry)([*builtin_commands(), Command("boom", broken, "")])
    h.backend.enqueue(reply("hi"))
    h.backend.enqueue(reply("yes"))
    h.say("hello")
    outcome = h.say("/boom")
    assert isinstance(outcome.error, UnexpectedError)
    assert isinstance(outcome.error.__cause__, ZeroDivisionError)  # for --debug to show
    assert h.view.errors[-1].startswith("/boom: internal error: ZeroDivisionError")
    h.say("and on")  # the conversation carries on, nothing lost
    assert h.messages == [
        ("user", "hello"),
        ("assistant", "hi"),
        ("user", "and on"),
        ("assistant", "yes"),
    ]
