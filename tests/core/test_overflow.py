"""Long conversations: the meter, overflow both ways, /compact, /trim, auto_compact, cost.

Driven line by line with a scripted backend; the MemoryStore shows what each save held,
which is what the session file holds: every message, whatever is sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from fakes import FakeBackend, FakeClock, MemoryStore, RecordingView, reply

from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.compaction import SUMMARY_SYSTEM, slice_budget, slices, summary_cap
from chatrepl.core.context import Window
from chatrepl.core.engine import Engine
from chatrepl.core.errors import ApiError, ContextError, TransportError
from chatrepl.core.messages import TextDelta, Usage
from chatrepl.core.pricing import Price
from chatrepl.core.reply import Outcome
from chatrepl.core.settings import Layer, resolve
from chatrepl.ui.stats import format_stats

LLAMA_400 = (
    "HTTP 400: request (5031 tokens) exceeds the available context size (4096 tokens), "
    "try increasing it"
)


class Harness:
    def __init__(
        self,
        *,
        window: int | None = 300,
        prices: dict[str, Price] | None = None,
        interactive: bool = True,
        **settings: Any,
    ) -> None:
        self.backend = FakeBackend(clock=FakeClock())
        self.view = RecordingView()
        self.store = MemoryStore()
        resolved = resolve(Layer("test", {"url": "http://h", "model": "m1", **settings}))
        self.engine = Engine(
            resolved,
            self.backend,
            self.view,
            commands=builtin_commands(),
            store=self.store,
            windows={"m1": window} if window else {},
            prices=prices or {},
            interactive=interactive,
            clock=self.backend.clock,
            wall_clock=FakeClock(1_700_000_000.0),
        )

    def turn(self, text: str, answer: str = "ok", usage: Usage | None = None) -> Outcome:
        self.backend.enqueue(reply(answer, usage=usage))
        return self.engine.handle(text)

    def say(self, line: str) -> Outcome:
        return self.engine.handle(line)

    @property
    def sent(self) -> list[str]:
        """The contents of the last request's messages."""
        return [m["content"] for m in self.backend.payloads[-1]["messages"]]

    @property
    def contents(self) -> list[str]:
        return [m.content for m in self.engine.conversation.messages]


A, B, C = "a" * 400, "b" * 400, "c" * 400  # about 104 tokens each as a message


def grown(h: Harness) -> None:
    """Two turns, the second at 90 % of a 300-token window (as the server counted)."""
    h.turn(A, usage=Usage(110, 20))
    h.turn(B, usage=Usage(250, 20))


def test_the_meter_counts_what_the_server_said_plus_what_came_since() -> None:
    h = Harness()
    h.turn(A, usage=Usage(110, 20))
    reading = h.engine.reading()
    assert (reading.tokens, reading.counted) == (130, 130)
    assert reading.window == Window(300, "config")
    assert reading.text() == "130 / 300 · 43 %"


def test_past_eighty_percent_it_warns_once_per_conversation() -> None:
    h = Harness(window=1000)
    h.turn(A, usage=Usage(700, 50))
    assert not [i for i in h.view.infos if "fills" in i]
    h.turn(B, usage=Usage(810, 10))
    warnings = [i for i in h.view.infos if "fills" in i]
    assert warnings == [
        "the conversation fills 820 / 1k · 82 % of the window of m1: /compact summarises the "
        "older turns, /trim drops them (the session file keeps every message)"
    ]
    h.turn(C, usage=Usage(900, 10))
    assert len([i for i in h.view.infos if "fills" in i]) == 1
    h.say("/clear")
    h.turn(A, usage=Usage(850, 10))
    assert len([i for i in h.view.infos if "fills" in i]) == 2


def test_before_sending_a_conversation_over_the_window_is_held_and_nothing_is_lost() -> None:
    h = Harness()
    grown(h)
    outcome = h.say(C)
    assert isinstance(outcome.error, ContextError)
    assert len(h.backend.payloads) == 2  # nothing was sent
    assert h.view.errors[-1] == (
        "not sent: ~374 tokens is over the 300-token window of m1; /compact summarises the "
        "older turns or /trim drops the oldest, then /retry sends it (/retry alone sends it "
        "anyway)"
    )
    assert h.engine.conversation.pending_user == C
    assert [m.content for m in h.store.saved] == [A, "ok", B, "ok", C]  # saved, pending
    # /retry right away sends it anyway: the estimate may be wrong
    h.backend.enqueue(reply("fine"))
    assert h.say("/retry").error is None
    assert h.sent == [A, "ok", B, "ok", C]


def test_trim_then_retry_sends_the_kept_turns_and_the_file_keeps_every_message() -> None:
    h = Harness()
    grown(h)
    h.say(C)
    h.say("/trim")
    record = h.engine.conversation.compaction
    assert record is not None and (record.how, record.upto, record.count) == ("trim", 2, 5)
    assert h.view.infos[-1] == (
        "trimmed: turn 1 no longer sent; now 213 / 300 · 71 %; the session file keeps every message"
    )
    h.backend.enqueue(reply("fine"))
    assert h.say("/retry").error is None
    assert h.sent == [B, "ok", C]  # turn 1 is not sent
    assert h.contents == [A, "ok", B, "ok", C, "fine"]
    assert [m.content for m in h.store.saved] == h.contents
    assert h.store.conversations[-1].compactions == [record]
    # /trim off: everything is sent again (and is over the window again)
    h.say("/trim off")
    assert h.view.infos[-1] == "the whole conversation is sent again (327 / 300 · 109 %)"
    assert h.engine.conversation.sent() == h.engine.conversation.messages
    assert [c.how for c in h.store.conversations[-1].compactions] == ["trim", "full"]


def test_trim_keeps_n_turns_and_refuses_what_it_cannot_do() -> None:
    h = Harness(window=None)
    h.turn("one")
    h.turn("two")
    h.say("/trim")
    assert h.view.errors[-1] == (
        "the window of m1 is unknown: /trim N keeps the last N turns (or set "
        '[models."NAME"] context = N in the config)'
    )
    h.say("/trim 1")
    assert h.engine.conversation.compaction.upto == 2
    h.say("/trim 1")
    assert h.view.errors[-1] == "nothing to trim: 1 turn or fewer are sent"
    h.say("/trim x")
    assert h.view.errors[-1] == "/trim takes a number of turns to keep, not 'x'"


def test_after_the_servers_context_error_the_message_waits_and_the_window_is_learned() -> None:
    h = Harness(window=None)
    h.turn("hello", usage=Usage(20, 5))
    h.backend.fail(ApiError(LLAMA_400, status=400))
    outcome = h.say("a long question")
    assert isinstance(outcome.error, ContextError)
    assert h.view.errors[-1] == LLAMA_400
    assert h.view.infos[-1] == (
        "the conversation outgrew the model's window: /compact summarises the older turns or "
        "/trim drops the oldest, then /retry sends your message"
    )
    assert h.engine.conversation.pending_user == "a long question"
    assert [m.content for m in h.store.saved] == ["hello", "ok", "a long question"]
    assert h.engine.window() == Window(4096, "the server")


def test_compact_asks_for_a_summary_shows_it_keeps_it_and_sends_it_in_their_place() -> None:
    h = Harness(window=4096, system="Be brief.", params={"top_p": 0.5})
    h.turn("my name is Ada", "hello Ada")
    h.turn("I like SQLite", "noted")
    h.turn("what is FTS5?", "a full-text index")
    h.backend.enqueue(reply("Ada likes SQLite.", usage=Usage(300, 9)))
    h.say("/compact 1")
    summary_request = h.backend.payloads[-1]
    assert summary_request["messages"][0] == {"role": "system", "content": SUMMARY_SYSTEM}
    prompt = summary_request["messages"][1]["content"]
    assert "User: my name is Ada\n\nAssistant: hello Ada\n\nUser: I like SQLite" in prompt
    assert "FTS5" not in prompt  # the kept turn is not summarised
    assert summary_request["max_tokens"] == summary_cap(4096)
    assert "top_p" not in summary_request  # request parameters do not shape the summary
    assert "Ada likes SQLite." in h.view.text  # shown as it streamed
    record = h.engine.conversation.compaction
    assert record is not None and (record.how, record.upto) == ("summary", 4)
    assert record.summary == "Ada likes SQLite." and record.stats.usage == Usage(300, 9)
    assert h.view.infos[-1].startswith("compacted: turns 1-2 summarised (a 5-token summary")
    h.turn("and SQLite's?")
    system, *rest = h.backend.payloads[-1]["messages"]
    assert system["role"] == "system"
    assert system["content"].startswith("Be brief.\n\nSummary of the earlier part")
    assert system["content"].endswith("Ada likes SQLite.")
    assert [m["content"] for m in rest] == ["what is FTS5?", "a full-text index", "and SQLite's?"]
    assert len(h.store.saved) == 8  # every message stays in the session
    assert h.store.conversations[-1].compactions == [record]


def test_a_summary_too_big_for_one_request_goes_in_slices_carrying_the_summary_so_far() -> None:
    h = Harness(window=2000)
    for n in range(5):
        h.turn(f"{n}: " + "x" * 1200)
    older = h.engine.conversation.messages[:8]
    assert len(slices(older, budget=slice_budget(2000))) == 2  # two requests' worth
    h.backend.enqueue(reply("first part"))
    h.backend.enqueue(reply("both parts"))
    h.say("/compact 1")
    first, second = h.backend.payloads[-2:]
    assert "(part 1 of 2)" in first["messages"][1]["content"]
    later = second["messages"][1]["content"]
    assert "summary so far" in later and "first part" in later and "(part 2 of 2)" in later
    assert h.engine.conversation.compaction.summary == "both parts"


def test_a_failed_summary_changes_nothing() -> None:
    h = Harness(window=4096)
    h.turn("one")
    h.turn("two")
    h.turn("three")
    h.backend.fail(TransportError("cannot reach h: connection refused"))
    h.say("/compact")
    assert h.view.errors[-1] == (
        "compaction stopped (cannot reach h: connection refused); nothing changed"
    )
    assert h.engine.conversation.compactions == []
    assert h.contents == ["one", "ok", "two", "ok", "three", "ok"]
    h.say("/compact 5")
    assert h.view.errors[-1] == (
        "nothing to compact: 3 turns sent, and /compact keeps the last 5 turns as they are"
    )


def test_auto_compact_trim_makes_room_before_sending() -> None:
    h = Harness(auto_compact="trim")
    grown(h)
    h.backend.enqueue(reply("fine"))
    outcome = h.say(C)
    assert outcome.error is None
    assert any(i.startswith("auto_compact: turn 1 no longer sent") for i in h.view.infos)
    assert h.sent == [B, "ok", C]
    assert h.contents == [A, "ok", B, "ok", C, "fine"]


def test_auto_compact_summarise_after_the_servers_error_tries_once_more() -> None:
    h = Harness(window=None, auto_compact="summarise")
    h.turn("one")
    h.turn("two")
    h.turn("three")
    h.backend.fail(ApiError(LLAMA_400, status=400))
    h.backend.enqueue(reply("the summary"))
    h.backend.enqueue(reply("answered"))
    outcome = h.say("four")
    assert outcome.error is None and outcome.reply.content == "answered"
    assert h.backend.payloads[-2]["messages"][0]["content"] == SUMMARY_SYSTEM
    assert h.sent[0].endswith("the summary")
    assert h.sent[1:] == ["three", "ok", "four"]


def test_auto_compact_does_not_loop_when_the_server_still_refuses() -> None:
    h = Harness(window=None, auto_compact="trim")
    h.turn("one")
    h.turn("two")
    h.backend.fail(ApiError(LLAMA_400, status=400))
    h.backend.fail(ApiError(LLAMA_400, status=400))
    outcome = h.say("three")
    assert isinstance(outcome.error, ContextError)
    assert h.backend.pending == 0 and len(h.backend.payloads) == 4  # two tries, no third
    assert h.engine.conversation.pending_user == "three"


def test_undo_or_edit_past_a_compaction_drops_it_and_keeps_the_messages() -> None:
    h = Harness(window=None)
    for text in ("one", "two", "three"):
        h.turn(text)
    h.say("/trim 1")
    assert h.engine.conversation.compaction.upto == 4
    h.say("/undo")  # what was trimmed is still history as it was: it stays trimmed
    assert [(c.upto, c.count) for c in h.engine.conversation.compactions] == [(4, 4)]
    h.turn("three again")
    assert h.sent == ["three again"]
    h.say("/edit 1")  # turn 1 changes: the record described another history
    h.turn("ONE")
    assert h.engine.conversation.compactions == []
    assert h.sent == ["ONE"]


def test_one_shot_leaves_the_decision_to_the_server_unless_auto_compact_is_on() -> None:
    h = Harness(interactive=False)
    grown(h)
    h.backend.enqueue(reply("fine"))
    assert h.engine.send(C).error is None  # sent: the estimate is not the server's word
    h.backend.fail(ApiError(LLAMA_400, status=400))
    outcome = h.engine.send("more")
    assert isinstance(outcome.error, ContextError)
    assert "continue it with chatrepl -c and /compact or /trim" in h.view.infos[-1]


def test_each_reply_shows_what_it_cost_and_usage_adds_it_up() -> None:
    prices = {"m1": Price(3.0, 15.0, 0.3)}
    h = Harness(prices=prices, window=None)
    h.turn("one", usage=Usage(1000, 100, cached_tokens=400))
    stats = h.view.ended[-1]
    assert stats.cost == pytest.approx((600 * 3 + 400 * 0.3 + 100 * 15) / 1e6)
    assert format_stats(stats).endswith(" · $0.0034")
    assert h.engine.conversation.messages[-1].stats.cost is None  # never stored
    h.turn("two", usage=Usage(2000, 50))
    h.engine.set("model", "m2", "/model")
    h.turn("three", usage=Usage(10, 10))
    h.say("/usage")
    _, rows = h.view.tables[-1]
    assert rows[0] == ("", "model", "replies", "in", "cached", "out", "cost")
    assert rows[1] == ("this session", "m1", "2", "3k", "400", "150", "$0.01")
    assert rows[2] == ("this session", "m2", "1", "10", "-", "10", "no price")
    assert rows[3][:2] == ("", "all models")
    h2 = Harness()
    h2.turn("x", usage=Usage(1, 1))
    h2.say("/usage")
    assert h2.view.infos[-1].startswith('no prices set: add [prices."MODEL"]')


def test_compare_columns_show_their_cost() -> None:
    h = Harness(prices={"m1": Price(1.0, 1.0), "m2": Price(2.0, 2.0)})
    h.backend.enqueue(reply("A", usage=Usage(1_000_000, 0)))
    h.backend.enqueue(reply("B", usage=Usage(1_000_000, 0)))
    h.say("/compare m1 m2 -- hi")
    comparison = h.view.of("end_compare")[-1][1]
    assert sorted(r.stats.cost for r in comparison.results) == [1.0, 2.0]
    # each column's ending line, shown as soon as its reply ended, is priced too
    assert sorted(call[2].stats.cost for call in h.view.of("compare_done")) == [1.0, 2.0]


def test_context_shows_where_the_numbers_come_from() -> None:
    h = Harness()
    h.turn(A, usage=Usage(110, 20))
    h.say("/context")
    title, rows = h.view.tables[-1]
    assert title == "Context"
    assert rows[0] == ("size", "~130 / 300 · 43 %", "m1; window from config")
    assert rows[1][0] == "counted" and rows[1][1] == "130"
    assert ("auto_compact", "off", "in the config: off, trim or summarise") in rows


def test_load_n_after_a_search_shows_the_hit_turn() -> None:
    from chatrepl.core.conversation import Conversation
    from chatrepl.core.messages import Message
    from chatrepl.core.transcript import SessionInfo, Transcript

    h = Harness()
    path = "/memory/sessions/old.jsonl"
    old = Conversation(
        [
            Message("user", "q1"),
            Message("assistant", "a1"),
            Message("user", "q2"),
            Message("assistant", "a2"),
        ]
    )
    h.store.transcripts[path] = Transcript(old, {"model": "m1"})
    from pathlib import Path

    h.store.remember([SessionInfo(Path(path), 0.0, turn=2)])
    h.say("/load 1")
    assert h.view.infos[-2:] == ["turn 2 of 2:", "> q2"]
    assert h.view.of("show")[-1][1] == TextDelta("a2")
    assert h.engine.conversation is old
