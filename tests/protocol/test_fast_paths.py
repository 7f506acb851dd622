"""The fast paths for the commonest events give exactly what the general rules give.

`parse_stream` reads a read made only of plain text-delta events that differ only in
their text without a step per event (`uniform_texts`), else with one regular
expression (`texts_of_events`), the decoder splits LF-only text at blank lines
(`EventStreamDecoder._blocks`, `take_blocks`), and `decode_events` reads a lone text
chunk without JSON (`text_of_chunk`). Each is checked here against a reference that knows
only the general rules: every line through the decoder's line rules, every event
through `json.loads` and `chunk_events`, on streams mixing the fast shape with
everything it must not swallow, cut at any points.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from chatrepl.core.errors import ChatReplError
from chatrepl.core.messages import ReasoningDelta, ServedModel, StreamEvent, TextDelta
from chatrepl.protocol.chunks import (
    chunk_events,
    parse_stream,
    text_of_chunk,
    texts_of_events,
    uniform_texts,
)
from chatrepl.protocol.errors import error_message
from chatrepl.protocol.eventstream import EventStreamDecoder, SseEvent

pytestmark = pytest.mark.fuzz

# Text with what JSON must escape: quotes, backslashes, controls, line ends, non-ASCII.
TEXT = st.text(
    st.one_of(
        st.sampled_from(['"', "\\", "\n", "\r", "\t", "\x00", "\x1f", "é", "\u2028", "😀", " "]),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=12,
)
META = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["chatcmpl-1", "", "error"]),
        "object": st.sampled_from(["chat.completion.chunk", "error"]),
        "created": st.integers(-5, 2_000_000_000),
        "model": st.sampled_from(["m", "gpt-x", " m ", "", "é"]),
        "system_fingerprint": st.none(),
    },
)


@st.composite
def chunk_values(draw: st.DrawFn, *, plain: bool = False) -> Any:
    """A chunk in the fast shape, or (unless `plain`) one near it that is not."""
    delta: dict[str, Any] = {"content": draw(TEXT)}
    if plain:
        meta = draw(META)
        return {**meta, "choices": [{"index": 0, "delta": delta}]}
    if draw(st.integers(0, 5)) == 0:
        delta = draw(
            st.sampled_from(
                [
                    {"role": "assistant", "content": "x"},
                    {"content": None},
                    {"reasoning_content": "think"},
                    {"content": [{"type": "text", "text": "part"}]},
                    {},
                ]
            )
        )
    choice: dict[str, Any] = {}
    if draw(st.booleans()):
        choice["index"] = draw(st.sampled_from([0, 0, 0, 1]))
    choice["delta"] = delta
    if draw(st.booleans()):
        choice["logprobs"] = None
    if draw(st.booleans()):
        choice["finish_reason"] = draw(st.sampled_from([None, None, "stop"]))
    chunk: dict[str, Any] = {}
    meta = draw(META)
    before = draw(st.booleans())
    if before:
        chunk.update(meta)
    chunk["choices"] = draw(st.sampled_from([[choice], [choice], [], None]))
    if not before:
        chunk.update(meta)
    if draw(st.integers(0, 8)) == 0:
        chunk[draw(st.sampled_from(["usage", "error", "extra"]))] = draw(
            st.sampled_from([None, {"message": "boom"}, 3, "s"])
        )
    return chunk


@st.composite
def data_strings(draw: st.DrawFn, *, plain: bool = False) -> str:
    """A `data:` value: a chunk in any JSON spacing, or something that is not one."""
    kind = draw(st.integers(0, 12))
    if kind == 0 and not plain:
        return draw(
            st.sampled_from(
                [
                    "[DONE]",
                    "",
                    "  ",
                    "{not json",
                    "[1]",
                    '{"choices":[{"delta":{"content":"\\q"}}]}',  # a bad escape
                    '{"choices":[{"delta":{"content":"a\tb"}}]}',  # a raw control
                    '{"created":012,"choices":[{"delta":{"content":"x"}}]}',  # not JSON
                    '{"choices":[{"delta":{"content":"x"}}],"choices":[]}',  # a key twice
                    ' {"choices":[{"delta":{"content":"x"}}]}',
                ]
            )
        )
    value = draw(chunk_values(plain=plain))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (",", ": "), (", ", ":")]))
    return json.dumps(value, separators=separators, ensure_ascii=draw(st.booleans()))


@st.composite
def event_streams(draw: st.DrawFn) -> bytes:
    """Events in the fast shape and around it: comments, named events, several data
    lines, fields without their space, CR line ends, blank lines, a [DONE] midway."""
    body = b""
    plain = draw(st.booleans())  # only text-delta chunks: whole reads take the fast path
    for _ in range(draw(st.integers(0, 25))):
        lf = plain or draw(st.integers(0, 6))
        newline = b"\n" if lf else draw(st.sampled_from([b"\r\n", b"\r"]))
        data = draw(data_strings(plain=plain)).encode("utf-8", "surrogatepass")
        shape = draw(st.integers(5, 14)) if plain else draw(st.integers(0, 14))
        if shape == 0:
            body += b": ping" + newline
        elif shape == 1:
            body += b"event: " + draw(st.sampled_from([b"error", b"message", b"other"])) + newline
        elif shape == 2:
            body += b"id: 7" + newline
        elif shape == 3:
            body += b"data: first" + newline
        elif shape == 4:
            body += newline  # a blank line of its own
        if draw(st.integers(0, 9)) == 0 and not plain:
            body += b"data:" + data + newline + newline
        else:
            body += b"data: " + data + newline + newline
    return body


# Texts whose escapes meet at event boundaries: a surrogate pair cut in two, a lone
# backslash or quote, an escaped line end.
EDGE_TEXT = st.sampled_from(["\ud83d", "\ude00", "\\", '"', "\n", "\\n", "/", ""])


@st.composite
def uniform_events(draw: st.DrawFn) -> tuple[str, bool]:
    """Events that are one chunk but for their text (what a server sends mid-reply),
    each encoded as that server would; maybe with an intruder among them (another
    shape, other metadata, spacing or model, a raw line end in a text, [DONE]); and
    whether there is one."""
    meta = draw(META)
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    texts = draw(st.lists(st.one_of(TEXT, EDGE_TEXT), min_size=1, max_size=20))
    ascii_only = draw(st.booleans()) or any("\ud800" <= c <= "\udfff" for t in texts for c in t)

    def event(text: str) -> str:
        chunk = {**meta, "choices": [{"index": 0, "delta": {"content": text}}]}
        return f"data: {json.dumps(chunk, separators=separators, ensure_ascii=ascii_only)}\n\n"

    events = [event(t) for t in texts]
    intruder = draw(st.integers(0, 3)) == 0
    if intruder:
        other = draw(
            st.one_of(
                data_strings().map(lambda d: f"data: {d}\n\n"),
                st.just("data: [DONE]\n\n"),
                st.just(event("x").replace(":", ": ").replace(": ", ":", 1)),  # spacing
                st.just(event("a\nb").replace("\\n", "\n")),  # a raw line end
                st.just(event("y").replace('"content"', '"model":"other","content"')),
                # what the first event's start and end may hold between them, not a text
                st.just(event("y").replace('"y"', '"y","z"')),
                st.just(event("y").replace('"y"', '"y\\"')),
                st.just(event("y").replace('"y"', '"a\tb"')),
                st.just(event("y").replace("]}\n\n", "}}\n\n")),  # its end, as long
            )
        )
        events.insert(draw(st.integers(0, len(events))), other)
    return "".join(events), intruder


def reference(body: bytes) -> tuple[list[StreamEvent], str | None]:
    """The events the general rules give, merged, and the error that ends them."""
    decoder = EventStreamDecoder()
    decoder._started = True  # these streams carry no BOM
    sses: list[SseEvent] = []
    for raw in re.split(rb"\r\n|\r|\n", body)[:-1]:
        event = decoder._line(raw.decode("utf-8", "replace"))
        if event is not None:
            sses.append(event)
    if decoder._data:
        sses.append(decoder._dispatch())
    events: list[StreamEvent] = []
    served: ServedModel | None = None
    try:
        for sse in sses:
            if sse.data == "[DONE]":
                break
            if sse.event == "error":
                try:
                    raise ChatReplError(error_message(json.loads(sse.data)))
                except json.JSONDecodeError:
                    raise ChatReplError(sse.data.strip() or "error event") from None
            if not sse.data.strip():
                continue
            try:
                chunk = json.loads(sse.data)
            except json.JSONDecodeError:
                raise ChatReplError("not JSON") from None
            if not isinstance(chunk, dict):
                raise ChatReplError("not an object")
            for event in chunk_events(chunk):
                if isinstance(event, ServedModel):  # named again and again: kept once
                    if event == served:
                        continue
                    served = event
                events.append(event)
    except ChatReplError as exc:
        return merged(events), type(exc).__name__
    return merged(events), None


def actual(chunks: list[bytes]) -> tuple[list[StreamEvent], str | None]:
    events: list[StreamEvent] = []
    try:
        events.extend(parse_stream(chunks))
    except ChatReplError as exc:
        return merged(events), type(exc).__name__
    return merged(events), None


def merged(events: list[StreamEvent]) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    for event in events:
        if out and type(out[-1]) is type(event) and isinstance(event, TextDelta | ReasoningDelta):
            out[-1] = type(event)(out[-1].text + event.text)
        else:
            out.append(event)
    return out


def cut(draw: st.DrawFn, blob: bytes) -> list[bytes]:
    """Pieces of `blob`, cut anywhere and often just after a line end (where a read ending
    between two lines of one event meets the fast path)."""
    line_ends = [m.end() for m in re.finditer(rb"\n", blob)]
    anywhere = st.integers(0, len(blob))
    points = st.one_of(anywhere, st.sampled_from(line_ends)) if line_ends else anywhere
    cuts = sorted(draw(st.lists(points, max_size=12)))
    return [blob[a:b] for a, b in itertools.pairwise([0, *cuts, len(blob)])]


@fuzz_settings
@given(event_streams(), st.data())
def test_parse_stream_gives_what_the_general_rules_give(body: bytes, data: st.DataObject) -> None:
    pieces = cut(data.draw, body)
    expected_events, expected_error = reference(body)
    got_events, got_error = actual(pieces)
    assert got_events == expected_events
    # Either both end in an error or neither does (its wording is the general path's).
    assert (got_error is None) == (expected_error is None)


@fuzz_settings
@given(data_strings())
def test_text_of_chunk_is_the_general_reading_or_none(data: str) -> None:
    fast = text_of_chunk(data)
    if fast is None:
        return  # the general path reads it
    chunk = json.loads(data)  # the fast path only takes valid JSON
    model, text = fast
    expected: list[StreamEvent] = [ServedModel(model.strip())] if model.strip() else []
    assert chunk_events(chunk) == expected + ([TextDelta(text)] if text else [])


@fuzz_settings
@given(st.lists(data_strings(), min_size=1, max_size=6))
def test_texts_of_events_reads_all_or_nothing(datas: list[str]) -> None:
    text = "".join(f"data: {d}\n\n" for d in datas)
    texts = texts_of_events(text)
    singles = [text_of_chunk(d) if "\n" not in d else None for d in datas]
    if any(t is None for t in singles):
        assert texts is None  # one event it cannot read: the general path reads them all
    else:
        assert texts == singles


@fuzz_settings
@given(uniform_events())
def test_uniform_texts_reads_what_texts_of_events_reads_or_nothing(
    events: tuple[str, bool],
) -> None:
    text, intruder = events
    uniform, each = uniform_texts(text), texts_of_events(text)
    if not intruder and each is not None:
        assert uniform is not None  # the shape a server sends mid-reply: read at once
    if uniform is not None:
        assert each is not None
        model, joined = uniform
        assert {m for m, _ in each} == {model}
        assert joined == "".join(t for _, t in each)


@fuzz_settings
@given(uniform_events(), st.data())
def test_parse_stream_gives_the_general_reading_of_uniform_reads(
    events: tuple[str, bool], data: st.DataObject
) -> None:
    body = events[0].encode("utf-8", "surrogatepass")
    expected_events, expected_error = reference(body)
    got_events, got_error = actual(cut(data.draw, body))
    assert got_events == expected_events
    assert (got_error is None) == (expected_error is None)


def test_uniform_events_are_read_at_once_and_near_misses_are_not() -> None:
    def events(*texts: str, meta: str = "") -> str:
        return "".join(
            f'data: {{{meta}"choices":[{{"index":0,"delta":{{"content":"{t}"}}}}]}}\n\n'
            for t in texts
        )

    assert uniform_texts(events("a", "\\n", "b")) == ("", "a\nb")
    assert uniform_texts(events("x", meta='"model":"m",')) == ("m", "x")
    # a surrogate pair cut between two events stays two halves, as each alone decodes
    assert uniform_texts(events("\\ud83d", "\\ude00")) == ("", "\ud83d\ude00")
    for miss in [
        events("a") + events("b", meta='"model":"m",'),  # another model
        events("a") + 'data: {"choices":[{"index":0, "delta":{"content":"b"}}]}\n\n',
        events("a", "b\\"),  # an escape cut off
        events("a", "\\q"),  # an escape JSON does not know
        events("a") + "data: [DONE]\n\n",
        events("a\nb"),  # a raw line end
        events("a", 'b","c'),  # not a text: another field
        events("a", "b\t"),  # a raw control character
        events("a", "b")[:-4] + "}}\n\n",  # the last one's end is not the first one's
    ]:
        assert uniform_texts(miss) is None, miss


def test_the_fast_shapes_are_read_and_the_near_misses_are_not() -> None:
    assert text_of_chunk('{"choices":[{"index":0,"delta":{"content":"Hi"}}]}') == ("", "Hi")
    spaced = '{"choices": [{"index": 0, "delta": {"content": "a\\"b"}, "finish_reason": null}]}'
    assert text_of_chunk(spaced) == ("", 'a"b')
    openai = (
        '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,'
        '"model":"gpt","system_fingerprint":null,"choices":[{"index":0,'
        '"delta":{"content":"\\u00e9"},"logprobs":null,"finish_reason":null}]}'
    )
    assert text_of_chunk(openai) == ("gpt", "é")
    for miss in [
        '{"object":"error","choices":[{"delta":{"content":"x"}}]}',  # an error object
        '{"choices":[{"index":1,"delta":{"content":"x"}}]}',  # another choice
        '{"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}]}',  # a finish
        '{"choices":[{"delta":{"content":"x"}}],"usage":{"prompt_tokens":1}}',  # usage
        '{"choices":[{"delta":{"role":"assistant","content":"x"}}]}',
    ]:
        assert text_of_chunk(miss) is None, miss


def test_a_read_of_text_deltas_comes_out_as_one_delta() -> None:
    events = b"".join(b'data: {"choices":[{"delta":{"content":"%d "}}]}\n\n' % n for n in range(50))
    got = list(parse_stream([events, b"data: [DONE]\n\n"]))
    assert got == [TextDelta("".join(f"{n} " for n in range(50)))]
    named = b"".join(
        b'data: {"model":"%s","choices":[{"delta":{"content":"%d "}}]}\n\n' % (m, n)
        for n, m in enumerate([b"a", b"a", b"b", b"b"])
    )
    assert list(parse_stream([named])) == [
        ServedModel("a"),
        TextDelta("0 1 "),
        ServedModel("b"),
        TextDelta("2 3 "),
    ]


def test_take_blocks_leaves_a_stream_cut_mid_event_to_the_next_read() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(b": hi\n") == []  # started, between events
    assert decoder.take_blocks(b"data: a\n\ndata: b") == "data: a\n\n"
    assert decoder.feed(b"\n\n") == [SseEvent("b")]
    assert decoder.take_blocks(b"data: c\r\n\r\n") is None  # CR line ends: the line rules
    assert decoder.feed(b"data: c\r\n\r\n") == [SseEvent("c")]
    decoder.feed(b"data: d\n")  # an event begun: nothing may be taken past it
    assert decoder.take_blocks(b"data: e\n\n") is None


def test_an_event_begun_in_one_read_is_finished_by_the_line_rules_in_the_next() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"data: b\n\ndata: c\n\n") == [SseEvent("a\nb"), SseEvent("c")]
    decoder.feed(b"event: error\n")
    assert decoder.feed(b"data: d\n\n") == [SseEvent("d", "error")]
