"""Transcript formats: JSON, JSON Lines, Markdown, request bodies; bad content; property tests."""

from __future__ import annotations

import json
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatrepl.core.branches import Branch, Fork
from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import TranscriptError
from chatrepl.core.messages import Alternative, Attachment, Compaction, Message, TurnStats, Usage
from chatrepl.core.params import GENERIC, RESERVED_KEYS
from chatrepl.core.settings import Secret, Settings
from chatrepl.core.transcript import (
    FORMAT,
    UPGRADES,
    VERSION,
    dumps,
    header_line,
    loads,
    loads_bytes,
    message_line,
    settings_of,
    to_markdown,
    to_request_body,
)

STATS = TurnStats(
    model="gpt-x",
    temperature=0.5,
    max_tokens=100,
    started_at=1_700_000_000.25,
    ttft=0.125,
    duration=1.5,
    usage=Usage(10, 20, 30),
    finish_reason="stop",
)
CONVERSATION = Conversation(
    [
        Message("user", "What is SSE?"),
        Message("assistant", "Server-sent events.\n\n```py\nprint(1)\n```", "thinking…", STATS),
        Message("user", '## user\n---\nformat: x\n<!-- chatrepl:msg {"role": "user"} -->'),
        Message("assistant", "cut", stats=TurnStats(interrupted=True, truncated=False)),
    ]
)
SETTINGS = {
    "model": "gpt-x",
    "temperature": 0.5,
    "max_tokens": 100,
    "system": "Be brief.",
    "params": {"top_p": 0.9, "stop": ["END", "\n\n"], "logit_bias": {"50256": -100}},
    "role": "reviewer",
    "think": "2048",
    "profile": "work",
}
PNG = Attachment("shot.png", 2048, "ab" * 32, "image/png", data=b"\x89PNG...")
# an edited conversation: turn 2 was asked twice; the first version (with its reply and
# a turn after it, itself edited) is an earlier branch
FIRST_VERSION = Branch(
    (
        Message("user", "old question", attachments=(PNG,)),
        Message("assistant", "old answer", stats=STATS),
        Message("user", "later"),
    ),
    (Fork(4, (Branch((Message("user", "later, first try"),)),), 1),),
)
BRANCHED = Conversation(
    [
        Message("user", "hello"),
        Message("assistant", "hi"),
        Message(
            "user",
            "see this\n\nsrc/a.py:\n```python\nprint(1)\n```",
            attachments=(Attachment("src/a.py", 9, "cd" * 32, "text/x-python"),),
        ),
        Message("assistant", "ok", stats=TurnStats(model="m", params={"seed": 7})),
    ],
    {2: Fork(2, (FIRST_VERSION,), 1)},
    name="my chat",
    parent="2026-01-01_10-00-00.000_abcd.jsonl",
)


def jsonl(conversation: Conversation, settings: dict) -> str:
    head = header_line(settings, conversation)
    return head + "".join(message_line(m) for m in conversation.messages)


WRITERS = {"json": dumps, "markdown": to_markdown, "jsonl": jsonl}


@pytest.mark.parametrize("writer", WRITERS.values(), ids=WRITERS.keys())
def test_round_trip_keeps_messages_stats_and_settings(writer) -> None:
    loaded = loads(writer(CONVERSATION, SETTINGS), name="t")
    assert loaded.conversation == CONVERSATION
    assert loaded.settings == SETTINGS
    assert not loaded.torn_tail


# a turn answered by a comparison: both columns kept, the second picked, one failed
COMPARED = Conversation(
    [
        Message("user", "Which is faster?"),
        Message(
            "assistant",
            "B's answer\n\n### alternative 9 · fake heading",
            stats=STATS,
            alternatives=(
                Alternative(
                    "gpt-x@temperature=0.2",
                    "gpt-x",
                    "A's answer",
                    settings={"temperature": 0.2, "top_p": 0.5},
                    stats=TurnStats(model="gpt-x", temperature=0.2),
                ),
                Alternative(
                    "work:claude",
                    "claude",
                    "B's answer\n\n### alternative 9 · fake heading",
                    profile="work",
                    stats=STATS,
                    picked=True,
                ),
                Alternative("nope", "nope", error="HTTP 404: model not found"),
            ),
        ),
        Message("user", "thanks"),
    ]
)


@pytest.mark.parametrize("writer", WRITERS.values(), ids=WRITERS.keys())
def test_round_trip_keeps_every_alternative_of_a_compared_turn(writer) -> None:
    loaded = loads(writer(COMPARED, SETTINGS), name="t").conversation
    assert loaded == COMPARED
    kept = loaded.messages[1].alternatives
    assert [a.picked for a in kept] == [False, True, False]
    assert kept[0].settings == {"temperature": 0.2, "top_p": 0.5}
    assert kept[2].error == "HTTP 404: model not found" and kept[1].profile == "work"


def test_markdown_shows_alternatives_under_their_turn() -> None:
    text = to_markdown(COMPARED, {})
    reply = text.index("## assistant · gpt-x")
    first = text.index("### alternative 1 · gpt-x@temperature=0.2")
    second = text.index("### alternative 2 · work:claude · picked")
    assert reply < first < second < text.index("### alternative 3 · nope") < text.index("thanks")
    assert "A's answer" in text[first:second]
    # the conversation as sent holds only the kept reply, never the other columns
    assert [m["content"] for m in COMPARED.payload(Settings())["messages"]][1].startswith("B's")


def test_a_bad_alternative_is_one_line() -> None:
    doc = json.loads(dumps(COMPARED, {}))
    doc["messages"][1]["alternatives"][0]["picked"] = "yes"
    with pytest.raises(TranscriptError, match=r"message 2: alternative 1: picked must be true or"):
        loads(json.dumps(doc), name="t")


@pytest.mark.parametrize("writer", WRITERS.values(), ids=WRITERS.keys())
def test_round_trip_of_an_empty_conversation(writer) -> None:
    loaded = loads(writer(Conversation(), {}), name="t")
    assert loaded.conversation == Conversation() and loaded.settings == {}


@pytest.mark.parametrize("writer", WRITERS.values(), ids=WRITERS.keys())
def test_round_trip_keeps_branches_attachments_name_parent_and_params(writer) -> None:
    loaded = loads(writer(BRANCHED, SETTINGS), name="t")
    assert loaded.conversation == BRANCHED
    assert loaded.conversation.forks[2].others[0].forks[0].others[0].messages[0].content == (
        "later, first try"
    )
    assert loaded.settings == SETTINGS


# a long conversation, compacted (turn 1 summarised), then trimmed (turn 2 left out too):
# every message is still there, the records say what a request leaves out
COMPACTED = Conversation(
    [
        Message("user", "first"),
        Message("assistant", "one", stats=STATS),
        Message("user", "second"),
        Message("assistant", "two", stats=TurnStats(usage=Usage(50, 5, 55, cached_tokens=40))),
        Message("user", "third"),
    ],
    compactions=[
        Compaction(2, 4, 1_700_000_100.5, "summary", "They said first; I said one.", STATS),
        Compaction(4, 5, 1_700_000_200.0, "trim", "They said first; I said one."),
    ],
)


@pytest.mark.parametrize("writer", WRITERS.values(), ids=WRITERS.keys())
def test_round_trip_keeps_what_was_compacted_and_trimmed_and_every_message(writer) -> None:
    loaded = loads(writer(COMPACTED, SETTINGS), name="t").conversation
    assert loaded == COMPACTED
    assert len(loaded.messages) == 5 and loaded.compaction == COMPACTED.compactions[-1]
    assert loaded.messages[3].stats.usage.cached_tokens == 40


def test_the_compaction_records_are_a_header_key_beside_the_messages() -> None:
    doc = json.loads(dumps(COMPACTED, SETTINGS))
    assert doc["version"] == VERSION == 2
    assert len(doc["messages"]) == 5
    assert doc["compacted"][0] == {
        "at": 1_700_000_100.5,
        "how": "summary",
        "upto": 2,
        "count": 4,
        "summary": "They said first; I said one.",
        "stats": doc["messages"][1]["stats"],
    }
    head = json.loads(header_line(SETTINGS, COMPACTED))
    assert [c["how"] for c in head["compacted"]] == ["summary", "trim"]


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ('"x"', "'compacted' must be a list"),
        ("[5]", "compacted[1] is not an object"),
        ('[{"how": "squash", "upto": 0, "count": 0}]', "compacted[1].how must be one of"),
        ('[{"how": "trim", "upto": 3, "count": 2}]', "upto 3 and count 2 do not fit 2 messages"),
        ('[{"how": "trim", "upto": 0, "count": 9}]', "do not fit 2 messages"),
        ('[{"how": "trim", "upto": "1", "count": 2}]', "compacted[1].upto must be a whole number"),
        ('[{"how": "summary", "upto": 1, "count": 2, "summary": 7}]', "summary must be a string"),
    ],
)
def test_a_bad_compaction_record_is_one_line(record: str, problem: str) -> None:
    text = (
        f'{{"format": "chatrepl.transcript", "version": 2, "compacted": {record}, '
        '"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}'
    )
    with pytest.raises(TranscriptError) as caught:
        loads(text, name="t.json")
    assert problem in str(caught.value) and str(caught.value).startswith("t.json: ")


def test_attachments_are_recorded_without_their_bytes() -> None:
    doc = json.loads(dumps(BRANCHED, SETTINGS))
    assert doc["messages"][2]["attachments"] == [
        {"path": "src/a.py", "size": 9, "sha256": "cd" * 32, "media_type": "text/x-python"}
    ]
    old = doc["branches"][0]["others"][0]["messages"][0]
    assert old["attachments"][0]["media_type"] == "image/png"
    assert "data" not in old["attachments"][0] and "PNG" not in dumps(BRANCHED, SETTINGS)
    assert doc["name"] == "my chat" and doc["parent"].endswith(".jsonl")
    assert doc["messages"][3]["stats"]["params"] == {"seed": 7}
    assert doc["settings"]["params"]["stop"] == ["END", "\n\n"]


def test_markdown_keeps_the_active_path_readable_and_the_branches_in_the_front_matter() -> None:
    text = to_markdown(BRANCHED, SETTINGS)
    front, body = text.split("\n---\n", 1)
    assert "# my chat" in body and "old question" not in body
    assert "src/a.py:\n```python\nprint(1)\n```" in body  # the attached file, readable
    branches_line = next(line for line in front.splitlines() if line.startswith("branches: "))
    assert "old question" in branches_line


@pytest.mark.parametrize(
    ("branches", "problem"),
    [
        ("[1]", "branches[1] is not an object"),
        ('[{"at": 9, "others": [{"messages": [{"role": "user", "content": "x"}]}]}]', "past"),
        ('[{"at": 0, "others": []}]', "others must be a non-empty list"),
        ('[{"at": 0, "others": [{"messages": []}]}]', "has no messages"),
        (
            '[{"at": 0, "position": 5, "others": [{"messages": '
            '[{"role": "user", "content": "x"}]}]}]',
            "position 5 is out of range",
        ),
    ],
)
def test_bad_branches_are_one_line(branches: str, problem: str) -> None:
    doc = f'{{"format": "{FORMAT}", "version": 2, "messages": [], "branches": {branches}}}'
    with pytest.raises(TranscriptError, match=re.escape(problem)):
        loads(doc, name="b.json")


def test_a_bad_attachment_record_is_one_line() -> None:
    doc = {
        "format": FORMAT,
        "version": 2,
        "messages": [{"role": "user", "content": "x", "attachments": [{"path": "a"}]}],
    }
    with pytest.raises(TranscriptError, match=r"attachment 1: size must be a whole number"):
        loads(json.dumps(doc), name="a.json")


def test_json_document_shape() -> None:
    doc = json.loads(dumps(CONVERSATION, SETTINGS))
    assert doc["format"] == FORMAT and doc["version"] == VERSION == 2
    assert doc["settings"] == SETTINGS
    first, second = doc["messages"][:2]
    assert first == {"role": "user", "content": "What is SSE?"}
    assert second["reasoning"] == "thinking…"
    assert second["stats"] == {
        "model": "gpt-x",
        "temperature": 0.5,
        "max_tokens": 100,
        "timestamp": 1_700_000_000.25,
        "ttft": 0.125,
        "duration": 1.5,
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    }
    # one message per line: diffs of two transcripts line up message by message
    lines = dumps(CONVERSATION, SETTINGS).splitlines()
    for message in doc["messages"]:
        assert "    " + json.dumps(message, ensure_ascii=False) + "," in lines or (
            "    " + json.dumps(message, ensure_ascii=False) in lines
        )


def test_settings_of_never_holds_the_key() -> None:
    s = Settings(
        url="https://x",
        key=Secret("inf-secret-0123456789", "INFERENCE_KEY"),
        model="m",
        temperature=0.2,
        system=None,
    )
    recorded = settings_of(s)
    assert recorded == {"model": "m", "temperature": 0.2}
    for text in (dumps(CONVERSATION, recorded), to_markdown(CONVERSATION, recorded)):
        assert "inf-secret" not in text and "https://x" not in text


def test_markdown_is_readable() -> None:
    text = to_markdown(CONVERSATION, SETTINGS)
    front, body = text.split("\n---\n", 1)
    assert front.splitlines()[:3] == ["---", 'format: "chatrepl.transcript"', "version: 2"]
    assert 'model: "gpt-x"' in front and 'system: "Be brief."' in front
    headings = [line for line in body.splitlines() if line.startswith("## ")]
    # the user's fake "## user" line is content; one real heading per message
    assert headings[:2] == ["## user", "## assistant · gpt-x"]
    assert body.count("<!-- chatrepl:") == len(CONVERSATION.messages) + 1
    assert "Server-sent events." in body


def test_markdown_boundary_avoids_content_that_looks_like_a_marker() -> None:
    text = to_markdown(CONVERSATION, SETTINGS)
    assert 'boundary: "msg2"' in text  # message 3 holds "<!-- chatrepl:msg "


def test_markdown_survives_crlf_conversion() -> None:
    conversation = Conversation([Message("user", "a\nb"), Message("assistant", "c")])
    text = to_markdown(conversation, {}).replace("\n", "\r\n")
    assert loads(text, name="t.md").conversation == conversation


def test_markdown_stays_exact_when_an_editor_drops_the_final_blank_line() -> None:
    conversation = Conversation([Message("user", "a"), Message("assistant", "b\n")])
    text = to_markdown(conversation, {})
    assert loads(text.rstrip("\n") + "\n", name="t.md").conversation.messages[0].content == "a"


def test_request_body_export_and_import() -> None:
    body = to_request_body(CONVERSATION, SETTINGS)
    assert list(body) == ["model", "messages", "temperature", "max_tokens", *SETTINGS["params"]]
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert all(set(m) == {"role", "content"} for m in body["messages"])
    loaded = loads(json.dumps(body), name="body.json")
    assert [(m.role, m.content) for m in loaded.conversation.messages] == [
        (m.role, m.content) for m in CONVERSATION.messages
    ]
    # the known parameters come back; others (logit_bias) are not taken from a body,
    # and a body has no profile, role or /think level
    expected = {k: v for k, v in SETTINGS.items() if k not in ("profile", "role", "think")}
    expected["params"] = {"top_p": 0.9, "stop": ["END", "\n\n"]}
    assert loaded.settings == expected


def test_heroku_quick_start_body() -> None:
    body = {
        "model": "claude-4-sonnet",
        "temperature": 0.5,
        "max_tokens": 100,
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Hello"},
        ],
    }
    loaded = loads(json.dumps(body), name="q.json")
    assert loaded.settings == {
        "model": "claude-4-sonnet",
        "temperature": 0.5,
        "max_tokens": 100,
        "system": "You are helpful.",
    }
    assert loaded.conversation.messages == [Message("user", "Hello")]


def test_plain_message_list_with_content_parts() -> None:
    items = [
        {"role": "developer", "content": "Rules."},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": "ab", "extra": 1},
    ]
    loaded = loads(json.dumps(items), name="l.json")
    assert loaded.settings == {"system": "Rules."}
    assert loaded.conversation.messages == [Message("user", "ab"), Message("assistant", "ab")]


def test_jsonl_with_a_torn_last_line_keeps_the_complete_messages() -> None:
    text = jsonl(CONVERSATION, SETTINGS)
    loaded = loads(text[:-10], name="s.jsonl")
    assert loaded.conversation.messages == CONVERSATION.messages[:-1]
    assert loaded.torn_tail


def test_upgrade_hook_turns_an_old_version_into_the_current_one() -> None:
    old = {
        "format": FORMAT,
        "version": 0,
        "model": "m",
        "messages": [{"role": "user", "text": "hi"}],
    }

    def v0_to_v1(doc: dict) -> dict:
        messages = [{"role": m["role"], "content": m["text"]} for m in doc["messages"]]
        return {
            "format": FORMAT,
            "version": 1,
            "settings": {"model": doc["model"]},
            "messages": messages,
        }

    loaded = loads(json.dumps(old), name="old.json", upgrades={**UPGRADES, 0: v0_to_v1})
    assert loaded.conversation.messages == [Message("user", "hi")]
    assert loaded.settings == {"model": "m"}
    with pytest.raises(TranscriptError, match="unknown transcript version 0"):
        loads(json.dumps(old), name="old.json")


def test_version_1_files_load_as_version_2() -> None:
    v1 = {
        "format": FORMAT,
        "version": 1,
        "settings": {"model": "m", "temperature": 0.5},
        "messages": [{"role": "user", "content": "hi"}],
    }
    loaded = loads(json.dumps(v1), name="v1.json")
    assert loaded.settings == {"model": "m", "temperature": 0.5}
    assert loaded.conversation.messages == [Message("user", "hi")]
    header = json.dumps({k: v for k, v in v1.items() if k != "messages"})
    lines = loads(header + "\n" + json.dumps(v1["messages"][0]) + "\n", name="v1.jsonl")
    assert lines.conversation.messages == loaded.conversation.messages


BAD = [
    ("", "empty file"),
    ("   \n", "empty file"),
    ("hello, world", "not a transcript"),
    ('{"format": "chatrepl.transcript", "version": 1, "messages": [{"role": "us', "truncated"),
    ('{"format": "chatrepl.transcript", "version": 1, "messages": [', "truncated"),
    ('{"a": 1,, }', "not valid JSON (line 1"),
    ("42", "not a transcript"),
    ('"text"', "not a transcript"),
    ("[1, 2]", "message 1 is not an object"),
    ('{"hello": "world"}', "wrong shape"),
    ('{"messages": "no"}', "wrong shape"),
    ('{"format": "other.thing", "version": 1}', "format 'other.thing'"),
    ('{"format": "chatrepl.transcript", "version": 3, "messages": []}', "version 3 is newer"),
    ('{"format": "chatrepl.transcript", "version": "1", "messages": []}', "not a whole number"),
    ('{"format": "chatrepl.transcript", "version": 1, "messages": {}}', "must be a list"),
    (
        '{"format": "chatrepl.transcript", "version": 1, "messages": [{"role": "bot", '
        '"content": "x"}]}',
        "message 1 has role 'bot'",
    ),
    (
        '{"format": "chatrepl.transcript", "version": 1, "messages": [{"role": "user", '
        '"content": 5}]}',
        "message 1: content must be a string",
    ),
    (
        '{"format": "chatrepl.transcript", "version": 1, "messages": [{"role": "user", '
        '"content": "x", "stats": {"ttft": "soon"}}]}',
        "stats.ttft must be a number",
    ),
    (
        '{"format": "chatrepl.transcript", "version": 1, "settings": {"temperature": 9}}',
        "setting 'temperature' must be a number from 0 to 2",
    ),
    ('{"format": "chatrepl.transcript", "version": 1, "settings": []}', "must be an object"),
    ('{"model": "m", "messages": [{"role": "tool", "content": "x"}]}', "role 'tool'"),
    ('{"messages": [{"role": "assistant", "content": null, "tool_calls": []}]}', "no text content"),
    ('[{"role": "user", "content": [{"type": "image_url"}]}]', "only text content"),
    (
        '{"format": "chatrepl.transcript", "version": 1}\n{"role": "user", "content": "a"}\n'
        'oops\n{"role": "user", "content": "b"}\n',
        "line 3: not valid JSON",
    ),
    ("---\ntitle: notes\n---\n# hi\n", "not a chatrepl Markdown transcript"),
    ('---\nformat: "chatrepl.transcript"\nversion: 1\n', "not closed"),
    ('---\nformat: "chatrepl.transcript"\nversion: 1\nmodel: gpt\n---\n', "'model' is not valid"),
    (
        '---\nformat: "chatrepl.transcript"\nversion: 1\n---\n<!-- chatrepl:msg {oops} -->\n',
        "message 1: its marker comment is not valid JSON",
    ),
    ("[" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize(("text", "problem"), BAD)
def test_bad_content_is_one_line_naming_the_file(text: str, problem: str) -> None:
    with pytest.raises(TranscriptError) as caught:
        loads(text, name="chat.json")
    message = str(caught.value)
    assert message.startswith("chat.json: ")
    assert problem in message
    assert "\n" not in message and len(message) < 200


@pytest.mark.parametrize(
    "data", [bytes(range(256)), b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "é".encode("latin-1")]
)
def test_binary_garbage(data: bytes) -> None:
    with pytest.raises(TranscriptError, match=r"^x\.bin: binary data"):
        loads_bytes(data, name="x.bin")


def test_bom_is_accepted() -> None:
    text = "\ufeff" + dumps(CONVERSATION, SETTINGS)
    assert loads_bytes(text.encode(), name="t").conversation == CONVERSATION


# --- property: any conversation survives save -> load unchanged -------------------------

MARKDOWNISH = st.sampled_from(
    [
        "",
        "---",
        "# title",
        "## user",
        "## assistant · m",
        "```",
        "````python",
        "~~~",
        "> quote",
        '<!-- chatrepl:msg {"role": "user"} -->',
        "<!-- chatrepl:msg2 {} -->",
        "-->",
        'format: "chatrepl.transcript"',
        "version: 2",
        "\r",
        " ",
        "\t",
        "\u2028",
        "\x00",
    ]
)
TEXT = st.lists(st.one_of(MARKDOWNISH, st.text()), max_size=6).map("\n".join)
NAME = st.text(string.printable + "é→\n", max_size=12)
FLOAT = st.floats(allow_nan=False, allow_infinity=False)
MAYBE_INT = st.none() | st.integers(min_value=0, max_value=2**63)
USAGE = st.builds(Usage, MAYBE_INT, MAYBE_INT, MAYBE_INT, MAYBE_INT, MAYBE_INT)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | FLOAT | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
PARAM_NAME = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True).filter(
    lambda k: k not in GENERIC and k not in RESERVED_KEYS and k != "model"
)
STATS_ST = st.builds(
    TurnStats,
    params=st.none() | st.dictionaries(PARAM_NAME, JSON, min_size=1, max_size=3),
    model=st.none() | NAME,
    temperature=st.none() | FLOAT,
    max_tokens=st.none() | st.integers(1, 10**6),
    started_at=st.none() | FLOAT,
    ttft=st.none() | FLOAT,
    duration=st.none() | FLOAT,
    usage=st.none() | USAGE,
    finish_reason=st.none() | NAME,
    interrupted=st.booleans(),
    truncated=st.booleans(),
)
ATTACHMENT = st.builds(
    Attachment,
    path=NAME,
    size=st.integers(0, 2**40),
    sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
    media_type=st.sampled_from(["text/plain", "text/x-python", "image/png", "image/webp"]),
    data=st.none() | st.binary(max_size=8),  # never written: equality ignores it
)
ALTERNATIVE = st.builds(
    Alternative,
    spec=NAME,
    model=NAME,
    content=TEXT,
    profile=st.none() | NAME,
    settings=st.dictionaries(PARAM_NAME, JSON, max_size=3),
    reasoning=st.just("") | TEXT,
    stats=st.none() | STATS_ST,
    error=st.none() | NAME,
    picked=st.booleans(),
)
MESSAGE = st.builds(
    Message,
    role=st.sampled_from(["user", "assistant", "system"]),
    content=TEXT,
    reasoning=st.just("") | TEXT,
    stats=st.none() | STATS_ST,
    attachments=st.lists(ATTACHMENT, max_size=2).map(tuple),
    alternatives=st.lists(ALTERNATIVE, max_size=3).map(tuple),
)


@st.composite
def forks_for(draw, start: int, end: int, depth: int = 1) -> dict[int, Fork]:  # type: ignore[no-untyped-def]
    """Valid forks at indices start..end, each with 1-2 earlier branches (nested once)."""
    forks: dict[int, Fork] = {}
    for at in sorted(draw(st.sets(st.integers(start, end), max_size=2))):
        branches = []
        for _ in range(draw(st.integers(1, 2))):
            messages = tuple(draw(st.lists(MESSAGE, min_size=1, max_size=3)))
            below = draw(forks_for(at + 1, at + len(messages), 0)) if depth else {}
            branches.append(Branch(messages, tuple(below[i] for i in sorted(below))))
        forks[at] = Fork(at, tuple(branches), draw(st.integers(0, len(branches))))
    return forks


@st.composite
def compactions_for(draw, size: int) -> list[Compaction]:  # type: ignore[no-untyped-def]
    """What /compact and /trim may have recorded for a conversation of `size` messages."""
    records = []
    for _ in range(draw(st.integers(0, 3))):
        count = draw(st.integers(0, size))
        records.append(
            Compaction(
                upto=draw(st.integers(0, count)),
                count=count,
                at=draw(FLOAT),
                how=draw(st.sampled_from(["summary", "trim", "full"])),
                summary=draw(st.none() | TEXT),
                stats=draw(st.none() | STATS_ST),
            )
        )
    return records


@st.composite
def conversations(draw) -> Conversation:  # type: ignore[no-untyped-def]
    messages = draw(st.lists(MESSAGE, max_size=5))
    return Conversation(
        messages,
        draw(forks_for(0, len(messages))),
        name=draw(st.none() | NAME),
        parent=draw(st.none() | NAME),
        compactions=draw(compactions_for(len(messages))),
    )


SETTINGS_ST = st.fixed_dictionaries(
    {},
    optional={
        "model": NAME.filter(bool),
        "temperature": st.floats(0, 2),
        "max_tokens": st.integers(1, 10**6),
        "system": TEXT.filter(lambda s: s.strip().lower() not in ("", "off")),
        "profile": NAME.filter(bool),
        "role": st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True).filter(
            lambda r: r not in ("off", "none")
        ),
        "params": st.dictionaries(PARAM_NAME, JSON, min_size=1, max_size=3)
        | st.fixed_dictionaries(
            {},
            optional={
                "top_p": st.floats(0, 1),
                "stop": st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4),
                "seed": st.integers(-(2**31), 2**31),
                "response_format": st.just({"type": "json_object"}),
            },
        ).filter(bool),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations(), SETTINGS_ST, st.sampled_from(sorted(WRITERS)))
def test_any_conversation_survives_save_and_load(conversation, recorded, fmt) -> None:
    text = WRITERS[fmt](conversation, recorded)
    loaded = loads_bytes(text.encode("utf-8"), name="p")
    assert loaded.conversation == conversation
    assert loaded.settings == recorded
