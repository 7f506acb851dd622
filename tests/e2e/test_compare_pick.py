"""Comparison specs and /pick against real loopback servers: what each server received
(history, model, settings), across two endpoints, and what /pick does to the next request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fakes import RecordingView
from fakeserver import FakeServer, Recorded, Reply, sse_chunks

from chatrepl.adapters.http import HttpBackend
from chatrepl.adapters.storage import FileSessionStore
from chatrepl.app.profile_endpoints import ProfileEndpoints
from chatrepl.app.wiring import profile_settings
from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.comparison import Comparison
from chatrepl.core.engine import Engine
from chatrepl.core.settings import Layer, from_toml, resolve
from chatrepl.core.transcript import loads

WORK_KEY = "work-0123456789abcdefSECRETwxyz"


def answer_with_model_and_settings(request: Recorded) -> Reply:
    """Each reply says who answered, with what, to which question."""
    body = request.body
    users = [m["content"] for m in body["messages"] if m["role"] == "user"]
    text = f"{body['model']} t={body.get('temperature')} on {users[-1]}"
    return Reply(chunks=sse_chunks(text, 6, usage=True, model=body["model"]))


@pytest.fixture
def servers() -> Iterator[tuple[FakeServer, FakeServer]]:
    """The session's endpoint and a second one (the `work` profile's, keyed)."""
    with FakeServer() as home, FakeServer(require_key=WORK_KEY) as work:
        home.respond = work.respond = answer_with_model_and_settings
        yield home, work


def make(
    home: FakeServer, work: FakeServer, *, tmp: Path | None = None, model: str = "m1"
) -> tuple[Engine, RecordingView, ExitStack]:
    config = from_toml(
        f'[profiles.work]\nurl = "{work.url}"\nkey = "{WORK_KEY}"\nmodel = "w-default"\n'
        '[compare.sets.pair]\nmodels = ["m1@temperature=0.1", "work:w1"]\n',
        path="c.toml",
    )
    stack = ExitStack()
    resolved = resolve(Layer("test", {"url": home.url, "model": model}))
    backend = HttpBackend(resolved.settings)
    stack.callback(backend.close)
    view = RecordingView()
    store = FileSessionStore(tmp) if tmp is not None else None
    engine = Engine(
        resolved,
        backend,
        view,
        commands=builtin_commands(),
        store=store,
        endpoints=ProfileEndpoints(profile_settings({}, config), {}, stack),
        profiles=tuple(config.profiles),
        compare_sets=config.compare_sets,
    )
    return engine, view, stack


def columns(engine: Engine) -> list[tuple[str, str]]:
    """The last comparison's columns, in display order: heading and reply."""
    comparison = engine.last_comparison
    assert comparison is not None
    return [(comparison.label(i), comparison.results[i].text) for i in comparison.order]


def test_each_target_gets_the_same_history_with_its_own_settings(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    with stack:
        engine.handle("hello")
        engine.handle(
            "/compare m1@temperature=0.2 m1@temperature=0.9,top_p=0.5,max_tokens=7 work:w1 -- why?"
        )
    asked = home.chat_requests[1:]
    history = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "m1 t=None on hello"},
        {"role": "user", "content": "why?"},
    ]
    assert all(r.body["messages"] == history for r in [*asked, *work.chat_requests])
    by_temperature = {r.body["temperature"]: r.body for r in asked}
    assert sorted(by_temperature) == [0.2, 0.9]
    assert "top_p" not in by_temperature[0.2] and "max_tokens" not in by_temperature[0.2]
    assert by_temperature[0.9]["top_p"] == 0.5 and by_temperature[0.9]["max_tokens"] == 7
    (other,) = work.chat_requests  # the other profile's endpoint, with its own key
    assert other.body["model"] == "w1" and other.headers["authorization"] == f"Bearer {WORK_KEY}"
    assert columns(engine) == [
        ("m1 · temperature=0.2", "m1 t=0.2 on why?"),
        ("m1 · temperature=0.9, top_p=0.5, max_tokens=7", "m1 t=0.9 on why?"),
        ("work:w1", "w1 t=None on why?"),
    ]
    assert len(engine.conversation.messages) == 2  # a look, until /pick
    assert all(WORK_KEY not in line for line in [*view.infos, *view.errors])


def test_pick_puts_the_reply_in_the_history_and_switches_model_and_endpoint(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    with stack:
        engine.handle("/compare m1 work:w1@temperature=0.3 -- first question")
        engine.handle("/pick 2")
        assert view.infos[-1] == "now using work:w1 · temperature=0.3 (was m1)"
        engine.handle("and then?")
    assert len(home.chat_requests) == 1  # the session went over to the other endpoint
    follow_up = work.chat_requests[-1].body
    assert follow_up["model"] == "w1" and follow_up["temperature"] == 0.3
    assert follow_up["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "w1 t=0.3 on first question"},  # only the pick
        {"role": "user", "content": "and then?"},
    ]
    assert engine.settings.profile == "work" and engine.settings.url == work.url
    assert engine.settings.key is not None and engine.settings.key.masked().endswith("wxyz")
    assert all(WORK_KEY not in line for line in [*view.infos, *view.errors])


def test_pick_keep_model_keeps_the_reply_but_not_the_model(servers) -> None:
    home, work = servers
    engine, _view, stack = make(home, work)
    with stack:
        engine.handle("/compare m2@temperature=0.7 -- q")  # one spec: mine against that one
        assert [c[0] for c in columns(engine)] == ["m1", "m2 · temperature=0.7"]
        engine.handle("/pick m2@temperature=0.7 --keep-model")
        engine.handle("next")
    last = home.chat_requests[-1].body
    assert last["model"] == "m1" and "temperature" not in last
    assert [m["content"] for m in last["messages"]] == ["q", "m2 t=0.7 on q", "next"]


def test_pick_after_a_reask_replaces_the_reply_and_counts_as_a_vote(servers) -> None:
    home, work = servers
    engine, _view, stack = make(home, work)
    picks: list[tuple[Comparison, int]] = []
    engine.pick_listeners.append(lambda comparison, index: picks.append((comparison, index)))
    with stack:
        engine.handle("question")
        engine.handle("/compare m1 m3")  # the last question again
        engine.handle("/pick B")
        engine.handle("more")
    assert [c for c, _ in picks] == [engine.last_comparison] and picks[0][1] == 1
    assert engine.last_comparison is not None and engine.last_comparison.picked == 1
    last = home.chat_requests[-1].body
    assert last["model"] == "m3"
    assert [m["content"] for m in last["messages"]] == ["question", "m3 t=None on question", "more"]


def test_without_a_pick_the_sessions_model_keeps_its_reply(servers) -> None:
    home, work = servers
    engine, _view, stack = make(home, work)
    with stack:
        engine.handle("/compare m9 -- asked with the comparison")
        engine.handle("next")
        engine.handle("/compare m8 m9 -- nobody is mine")
        engine.handle("after")
    after = home.chat_requests[-1].body["messages"]
    assert [m["content"] for m in after] == [
        "asked with the comparison",
        "m1 t=None on asked with the comparison",  # the session's model was a column
        "next",
        "m1 t=None on next",
        "after",  # m1 was not compared the second time: nothing kept
    ]
    kept = engine.conversation.messages[1]
    assert [(a.spec, a.picked) for a in kept.alternatives] == [("m1", True), ("m9", False)]


def test_pick_refuses_what_it_cannot_keep(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    with stack:
        engine.handle("/pick 1")
        assert view.errors[-1] == "nothing to pick: /compare MODEL MODEL first"
        engine.handle("/compare m1 m2 -- q")
        engine.handle("/pick 3")
        assert view.errors[-1] == "no column '3': /pick 1–2, a letter A–B, or a model"
        engine.handle("/pick")
        assert view.errors[-1] == "usage: /pick N|LETTER|MODEL [--keep-model]"
        engine.handle("/pick 1")
        engine.handle("/pick 2")
        assert view.errors[-1] == "already picked from that comparison (m1)"
        engine.handle("/compare m1 m2 -- again")
        engine.handle("something else")
        engine.handle("/pick 2")
        assert view.errors[-1].startswith("the conversation has moved on")


def test_a_bad_spec_is_one_line_and_nothing_is_sent(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    with stack:
        engine.handle("/compare m1 m2@temperature=5 -- q")
        engine.handle("/compare m1 nowhere:x@temprature=1 -- q")
    assert view.errors == [
        "m2@temperature=5: temperature must be a number from 0 to 2, not '5'",
        "nowhere:x@temprature=1: unknown setting 'temprature'; did you mean temperature?",
    ]
    assert home.requests == [] and work.requests == []


def test_a_set_from_the_config_and_compare_on_every_turn(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    with stack:
        engine.handle("/compare on @pair")
        engine.handle("one")
        engine.handle("two")
        engine.handle("/compare off")
        engine.handle("three")
    assert (
        view.infos[0] == "comparing every message on m1@temperature=0.1, work:w1 until /compare off"
    )
    assert [r.body["model"] for r in work.chat_requests] == ["w1", "w1"]
    # m1@temperature=0.1 is not the session's own model as it stands: nothing was kept
    last = home.chat_requests[-1].body
    assert [m["content"] for m in last["messages"]] == ["three"] and "temperature" not in last


def test_compare_on_with_one_spec_keeps_the_sessions_reply_each_turn(servers) -> None:
    home, work = servers
    engine, _view, stack = make(home, work)
    with stack:
        engine.handle("/compare on work:w1")
        engine.handle("one")
        engine.handle("two")
    second = [r.body for r in home.chat_requests][-1]
    assert [m["content"] for m in second["messages"]] == ["one", "m1 t=None on one", "two"]
    assert engine.compare_specs == ("work:w1",)


def test_retry_model_asks_both_side_by_side(servers) -> None:
    home, work = servers
    engine, _view, stack = make(home, work)
    with stack:
        engine.handle("hi")
        engine.handle("/retry m7")
    assert columns(engine) == [("m1", "m1 t=None on hi"), ("m7", "m7 t=None on hi")]
    assert [m.content for m in engine.conversation.messages] == ["hi", "m1 t=None on hi"]


def test_the_session_file_keeps_every_alternative_and_the_pick(servers, tmp_path: Path) -> None:
    home, work = servers
    engine, _view, stack = make(home, work, tmp=tmp_path)
    with stack:
        engine.handle("q1")
        engine.handle("/compare m1 m2@top_p=0.5 nope")
        engine.handle("/pick 2")
    (saved,) = list(tmp_path.glob("*.jsonl"))
    loaded = loads(saved.read_text(), name=saved.name)
    assert loaded.conversation.messages == engine.conversation.messages
    reply = loaded.conversation.messages[-1]
    assert reply.content == "m2 t=None on q1"
    kept = [(a.spec, a.settings, a.picked, a.content) for a in reply.alternatives]
    assert kept == [
        ("m1", {}, False, "m1 t=None on q1"),
        ("m2@top_p=0.5", {"top_p": 0.5}, True, "m2 t=None on q1"),
        ("nope", {}, False, "nope t=None on q1"),
    ]
    assert loaded.settings["model"] == "m2" and loaded.settings["params"] == {"top_p": 0.5}
    line = json.loads(saved.read_text().splitlines()[-1])
    assert line["alternatives"][1]["stats"]["model"] == "m2"


def test_an_endpoint_is_built_once_and_closed_with_the_session(servers) -> None:
    home, work = servers
    engine, _view, stack = make(home, work)
    with stack:
        engine.handle("/compare m1 work:w1 -- a")
        engine.handle("/compare m1 work: -- b")  # the profile's own model
        endpoints: Any = engine.endpoints
        first = endpoints("work")
        assert endpoints("work") is first
    assert work.connections == 1  # one pooled connection for both comparisons
    assert [r.body["model"] for r in work.chat_requests] == ["w1", "w-default"]


def test_a_failed_reply_of_the_sessions_model_is_not_kept_by_moving_on(servers) -> None:
    home, work = servers

    def m1_fails(request: Recorded) -> Reply:
        if request.body["model"] == "m1" and len(home.chat_requests) <= 2:
            # the comparison's m1 column: a few words, then the connection drops
            return Reply.text("half an answer that never ends", 5, drop_after=3)
        return answer_with_model_and_settings(request)

    home.respond = m1_fails
    engine, _view, stack = make(home, work)
    with stack:
        engine.handle("/compare m2 -- q")
        assert engine.last_comparison is not None
        cut = engine.last_comparison.results[0]
        assert cut.text and cut.error is not None  # a partial reply, and its error
        engine.handle("next")
    assert [m["content"] for m in home.chat_requests[-1].body["messages"]] == ["next"]


def test_a_blind_pick_is_recorded_before_it_reveals_the_names(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    seen: list[tuple[bool, int]] = []
    engine.pick_listeners.append(lambda c, i: seen.append((c.revealed, i)))
    with stack:
        engine.handle("/compare --blind m1 m2 -- q")
        comparison = engine.last_comparison
        assert comparison is not None and comparison.blind and not comparison.revealed
        chosen = comparison.order[0]  # whatever model sits in column A
        engine.handle("/pick A")
    assert seen == [(False, chosen)]  # the vote saw the columns still blind
    assert comparison.revealed and view.of("reveal")
    model = comparison.targets[chosen].model
    switch = f"now using {model} (was m1)"
    if model == "m1":  # the session's own model in column A: nothing to switch
        switch = "kept m1's reply; the session goes on with it as before"
    assert view.infos[-1] == switch
    assert engine.conversation.messages[-1].content == f"{model} t=None on q"


def test_compare_off_when_it_is_not_on_says_so(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    with stack:
        engine.handle("/compare off")
    assert view.infos == ["comparisons are not on: /compare on SPEC... turns them on"]
    assert engine.compare_specs is None and not home.chat_requests


def test_picking_the_sessions_own_model_does_not_claim_a_switch(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    with stack:
        engine.handle("/compare m1 m2 -- q")
        engine.handle("/pick m1")
        engine.handle("/compare m1 m1@temperature=0.4 -- again")
        engine.handle("/pick 2")
    assert view.infos[-2] == "kept m1's reply; the session goes on with it as before"
    assert view.infos[-1] == "now using m1 · temperature=0.4 (was m1)"  # a setting changed
    assert engine.settings.temperature == 0.4


def test_more_models_than_letters_is_one_line_and_nothing_is_sent(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    many = " ".join(f"m1@seed={i}" for i in range(27))
    with stack:
        engine.handle(f"/compare --blind {many} -- q")
        engine.handle("/compare on " + many)
    assert view.errors == ["at most 26 models at once (columns A to Z), not 27"] * 2
    assert home.requests == [] and engine.compare_specs is None


def test_a_model_name_shared_by_two_columns_asks_for_the_number(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    with stack:
        engine.handle("/compare m2@temperature=0.1 m2@temperature=0.9 -- q")
        engine.handle("/pick m2")
        engine.handle("/pick 2")
    assert view.errors == ["m2 is more than one column (1, 2): /pick its number or letter"]
    assert engine.settings.temperature == 0.9


def test_on_and_off_mixed_up_is_one_line_not_a_model_called_off(servers) -> None:
    home, work = servers
    engine, view, stack = make(home, work)
    with stack:
        engine.handle("/compare on off")
        engine.handle("/compare off m2")
    assert view.errors == [
        "/compare on takes models; /compare off turns comparisons off",
        "/compare off takes nothing more: /compare off",
    ]
    assert engine.compare_specs is None and not home.requests
