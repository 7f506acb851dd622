"""Conversation: the request body built from history and settings; history edits."""

from __future__ import annotations

import json

import pytest

from chatrepl.core.conversation import Conversation
from chatrepl.core.messages import Message, TurnStats, Usage
from chatrepl.core.settings import Settings


def _convo(*texts: str) -> Conversation:
    """Alternate user/assistant messages, starting with the user."""
    convo = Conversation()
    for i, text in enumerate(texts):
        if i % 2 == 0:
            convo.add_user(text)
        else:
            convo.add_assistant(text)
    return convo


# --- payload ------------------------------------------------------------------------


def test_payload_minimal_has_only_messages_and_stream():
    body = _convo("hi").payload(Settings())
    assert body == {
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@pytest.mark.parametrize(
    ("settings", "present", "absent"),
    [
        (Settings(), {}, {"model", "temperature", "max_tokens"}),
        (Settings(model="m"), {"model": "m"}, {"temperature", "max_tokens"}),
        (Settings(temperature=0.0), {"temperature": 0.0}, {"model", "max_tokens"}),
        (Settings(temperature=1.3), {"temperature": 1.3}, {"model", "max_tokens"}),
        (Settings(max_tokens=64), {"max_tokens": 64}, {"model", "temperature"}),
        (
            Settings(model="m", temperature=0.5, max_tokens=10),
            {"model": "m", "temperature": 0.5, "max_tokens": 10},
            set(),
        ),
    ],
)
def test_payload_only_options_the_user_set(settings, present, absent):
    body = _convo("hi").payload(settings)
    for key, value in present.items():
        assert body[key] == value
    assert not absent & body.keys()
    assert "top_p" not in body


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (True, {"stream": True, "stream_options": {"include_usage": True}}),
        (False, {"stream": False}),
    ],
)
def test_payload_stream_flags(stream, expected):
    body = _convo("hi").payload(Settings(stream=stream))
    assert {k: v for k, v in body.items() if k.startswith("stream")} == expected


@pytest.mark.parametrize(
    ("system", "first"), [(None, "user"), ("", "user"), ("Be terse.", "system")]
)
def test_payload_system_prompt_first_only_when_set(system, first):
    body = _convo("q1", "a1", "q2").payload(Settings(system=system))
    roles = [m["role"] for m in body["messages"]]
    assert roles[0] == first
    assert roles.count("system") == (1 if system else 0)
    if system:
        assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert roles[-3:] == ["user", "assistant", "user"]


def test_payload_keeps_every_message_in_order():
    body = _convo("q1", "a1", "q2", "a2", "q3").payload(Settings(system="S"))
    assert body["messages"] == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
        {"role": "user", "content": "q3"},
    ]


def test_reasoning_and_stats_are_never_in_the_payload():
    convo = Conversation()
    convo.add_user("q")
    stats = TurnStats(model="m", usage=Usage(1, 2, 3), ttft=0.1, duration=0.5)
    convo.add_assistant("answer", reasoning="SECRET-THOUGHTS", stats=stats)
    body = convo.payload(Settings())
    assert body["messages"][1] == {"role": "assistant", "content": "answer"}
    dumped = json.dumps(body)
    assert "SECRET-THOUGHTS" not in dumped
    assert "ttft" not in dumped
    assert all(set(m) == {"role", "content"} for m in body["messages"])
    # ...but they are kept in history
    assert convo.messages[1].reasoning == "SECRET-THOUGHTS"
    assert convo.messages[1].stats == stats


def test_payload_is_json_serialisable_and_fresh_each_time():
    convo = _convo("q")
    first = convo.payload(Settings(model="m"))
    first["messages"].append({"role": "user", "content": "tampered"})
    assert convo.payload(Settings(model="m"))["messages"] == [{"role": "user", "content": "q"}]
    json.dumps(first)


def test_a_system_message_in_history_is_not_sent_twice():
    convo = Conversation([Message("system", "old"), Message("user", "q")])
    body = convo.payload(Settings(system="new"))
    assert body["messages"] == [
        {"role": "system", "content": "new"},
        {"role": "user", "content": "q"},
    ]


# --- history edits ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "pending"),
    [((), None), (("q",), "q"), (("q", "a"), None), (("q", "a", "q2"), "q2")],
)
def test_pending_user(texts, pending):
    assert _convo(*texts).pending_user == pending


@pytest.mark.parametrize(
    ("texts", "dropped", "left"),
    [
        ((), None, 0),
        (("q",), "q", 0),
        (("q", "a"), None, 2),
        (("q", "a", "q2"), "q2", 2),
    ],
)
def test_drop_pending_user(texts, dropped, left):
    convo = _convo(*texts)
    assert convo.drop_pending_user() == dropped
    assert len(convo.messages) == left
    assert convo.pending_user is None


@pytest.mark.parametrize(
    ("texts", "removed", "left"),
    [
        ((), 0, []),
        (("q",), 1, []),
        (("q", "a"), 2, []),
        (("q1", "a1", "q2"), 1, ["q1", "a1"]),
        (("q1", "a1", "q2", "a2"), 2, ["q1", "a1"]),
    ],
)
def test_undo(texts, removed, left):
    convo = _convo(*texts)
    assert convo.undo() == removed
    assert [m.content for m in convo.messages] == left


def test_undo_repeatedly_empties_the_conversation():
    convo = _convo("q1", "a1", "q2", "a2")
    assert [convo.undo(), convo.undo(), convo.undo()] == [2, 2, 0]
    assert convo.messages == []


def test_clear():
    convo = _convo("q1", "a1", "q2")
    convo.clear()
    assert convo.messages == []
    assert convo.turns == 0
    assert convo.payload(Settings())["messages"] == []


@pytest.mark.parametrize(
    ("texts", "last", "turns"),
    [((), None, 0), (("q",), "q", 1), (("q", "a"), "q", 1), (("q", "a", "q2", "a2"), "q2", 2)],
)
def test_last_user_and_turns(texts, last, turns):
    convo = _convo(*texts)
    assert convo.last_user() == last
    assert convo.turns == turns


def test_conversations_do_not_share_history():
    one, two = Conversation(), Conversation()
    one.add_user("x")
    assert two.messages == []
