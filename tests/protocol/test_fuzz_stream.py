"""Fuzzing the stream side: any chunking of a valid stream gives the same events, and any
bytes at all give events or one clean error, never another exception."""

from __future__ import annotations

import contextlib
import itertools
import json

import pytest
from fuzzing import ANY_TEXT, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from chatrepl.core.errors import ChatReplError
from chatrepl.core.messages import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatrepl.core.redact import Redactor, redact_chunks, redact_events
from chatrepl.protocol.chunks import parse_stream
from chatrepl.protocol.eventstream import EventStreamDecoder
from chatrepl.protocol.think import split_think_tags

pytestmark = pytest.mark.fuzz

KEY = "inf-fuzzkey-0123456789abcdefGHIJ"
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)
NEWLINES = st.sampled_from([b"\n", b"\r", b"\r\n"])


@st.composite
def chat_streams(draw: st.DrawFn) -> tuple[bytes, list[StreamEvent]]:
    """A valid chat-completions event stream and the events it must give."""
    newline = draw(NEWLINES)
    events: list[StreamEvent] = []
    blob = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["text", "reasoning", "ping", "empty"]))
        if kind == "ping":
            blob += b": ping" + newline + newline
            continue
        if kind == "empty":
            chunk = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]}
        else:
            text = draw(TEXT)
            field = "content" if kind == "text" else "reasoning_content"
            chunk = {"choices": [{"index": 0, "delta": {field: text}}]}
            events.append(TextDelta(text) if kind == "text" else ReasoningDelta(text))
        raw = json.dumps(chunk, ensure_ascii=draw(st.booleans())).encode()
        blob += b"data: " + raw + newline + newline
    reason = draw(st.sampled_from(["stop", "length"]))
    finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}
    usage = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    blob += b"data: " + json.dumps(finish).encode() + newline + newline
    blob += b"data: " + json.dumps(usage).encode() + newline + newline
    blob += b"data: [DONE]" + newline + newline
    events += [Finish(reason), UsageReport(Usage(3, 4, None))]
    return blob, events


def chunked(draw: st.DrawFn, blob: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(blob)), max_size=60)))
    return [blob[a:b] for a, b in itertools.pairwise([0, *cuts, len(blob)])]


def merged(events: list[StreamEvent]) -> list[StreamEvent]:
    """Consecutive text (and reasoning) pieces joined: how much arrives per event may vary."""
    out: list[StreamEvent] = []
    for event in events:
        if out and type(out[-1]) is type(event) and isinstance(event, TextDelta | ReasoningDelta):
            out[-1] = type(event)(out[-1].text + event.text)
        else:
            out.append(event)
    return out


@fuzz_settings
@given(chat_streams(), st.data())
def test_any_chunking_of_a_valid_stream_gives_the_same_events(
    stream: tuple[bytes, list[StreamEvent]], data: st.DataObject
) -> None:
    blob, expected = stream
    # deltas of one kind that arrive in one read come out joined: compare them joined
    assert merged(list(parse_stream([blob]))) == merged(expected)
    assert merged(list(parse_stream(chunked(data.draw, blob)))) == merged(expected)


@fuzz_settings
@given(chat_streams(), st.data())
def test_the_backends_redacting_path_keeps_every_event_of_a_clean_stream(
    stream: tuple[bytes, list[StreamEvent]], data: st.DataObject
) -> None:
    # what HttpBackend does to every body: redact the bytes, parse, redact the events
    blob, expected = stream
    redactor = Redactor([KEY])
    events = redact_events(
        parse_stream(redact_chunks(chunked(data.draw, blob), redactor)), redactor
    )
    assert merged([e for e in events if not (isinstance(e, TextDelta) and not e.text)]) == merged(
        expected
    )


@fuzz_settings
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_arbitrary_bytes_give_events_or_one_clean_error(chunks: list[bytes]) -> None:
    with contextlib.suppress(ChatReplError):  # a clean error is fine; any other is a bug
        for event in split_think_tags(parse_stream(chunks)):
            assert isinstance(event, TextDelta | ReasoningDelta | Finish | UsageReport)


@fuzz_settings
@given(st.lists(st.binary(max_size=300), max_size=30))
def test_the_decoder_takes_any_bytes(chunks: list[bytes]) -> None:
    decoder = EventStreamDecoder()
    for chunk in chunks:
        decoder.feed(chunk)
    decoder.close()


@fuzz_settings
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from([b"data: ", b"\n\n", b"event: error\n", b"error: x\n", b"[DONE]"]),
            st.builds(
                lambda t: json.dumps(t).encode(),
                st.recursive(
                    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: (
                        st.lists(inner, max_size=3)
                        | st.dictionaries(
                            st.sampled_from(
                                [
                                    "choices",
                                    "delta",
                                    "content",
                                    "error",
                                    "index",
                                    "usage",
                                    "finish_reason",
                                ]
                            ),
                            inner,
                            max_size=3,
                        )
                    ),
                    max_leaves=10,
                ),
            ),
        ),
        max_size=30,
    )
)
def test_near_valid_streams_give_events_or_one_clean_error(pieces: list[bytes]) -> None:
    with contextlib.suppress(ChatReplError):
        list(parse_stream([b"".join(pieces)]))


@fuzz_settings
@given(ANY_TEXT, st.lists(st.integers(1, 40), max_size=20))
def test_redacting_any_text_in_any_pieces_never_fails_or_shows_the_key(
    text: str, cuts: list[int]
) -> None:
    whole = f"{text}{KEY}{text}"
    pieces, rest = [], whole
    for cut in cuts:
        pieces.append(TextDelta(rest[:cut]))
        rest = rest[cut:]
    pieces.append(TextDelta(rest))
    shown = "".join(
        e.text for e in redact_events(pieces, Redactor([KEY])) if isinstance(e, TextDelta)
    )
    assert not any(KEY[i : i + 8] in shown for i in range(len(KEY) - 7))
