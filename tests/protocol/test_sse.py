"""The SSE parser: bytes in (any chunking), SSE events and chat stream events out."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from chatrepl.core.errors import ApiError, TransportError
from chatrepl.core.messages import Finish, ReasoningDelta, TextDelta, Usage, UsageReport
from chatrepl.protocol.chunks import chunk_events, decode_events, error_message, parse_stream
from chatrepl.protocol.eventstream import EventStreamDecoder, SseEvent
from chatrepl.protocol.think import ThinkSplitter, split_think_tags

BOM = b"\xef\xbb\xbf"


def sse(chunks: list[bytes] | bytes) -> list[SseEvent]:
    """Every SSE event in the chunks, as the decoder sees them."""
    decoder = EventStreamDecoder()
    out: list[SseEvent] = []
    for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def chat(chunks: list[bytes] | bytes) -> list:
    """Every chat stream event in the chunks, neighbouring deltas of one kind joined
    (where a delta ends depends on how the bytes were read; see the batching tests)."""
    return joined(parse_stream([chunks] if isinstance(chunks, bytes) else chunks))


def joined(events: Iterable[object]) -> list:
    """Events with neighbouring text (or reasoning) deltas joined into one."""
    out: list = []
    for event in events:
        if isinstance(event, TextDelta | ReasoningDelta) and out and type(out[-1]) is type(event):
            out[-1] = type(event)(out[-1].text + event.text)
        else:
            out.append(event)
    return out


def data(obj: object) -> bytes:
    """One `data:` event carrying `obj` as JSON (non-ASCII kept raw)."""
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


def delta(content: str | None = None, **extra: object) -> dict:
    d: dict = {"content": content} if content is not None or "role" not in extra else {}
    d.update(extra)
    return {"choices": [{"index": 0, "delta": d, "finish_reason": None}]}


def finish(reason: str = "stop") -> dict:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}


USAGE = {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}}
DONE = b"data: [DONE]\n\n"

# the stream from the reference notes, byte for byte
OPENAI_STREAM = (
    data(
        {
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ]
        }
    )
    + data(delta("Hel"))
    + data(delta("lo"))
    + data(finish())
    + data(USAGE)
    + DONE
)
OPENAI_EVENTS = [TextDelta("Hello"), Finish("stop"), UsageReport(Usage(9, 12, 21))]


def splits(blob: bytes, cuts: tuple[int, ...]) -> list[bytes]:
    edges = [0, *cuts, len(blob)]
    return [blob[a:b] for a, b in itertools.pairwise(edges)]


# --- WHATWG line rules --------------------------------------------------------------


@pytest.mark.parametrize(
    "blob",
    [
        b"data: a\n\ndata: b\n\n",
        b"data: a\r\rdata: b\r\r",
        b"data: a\r\n\r\ndata: b\r\n\r\n",
        b"data: a\r\n\ndata: b\r\r\n",
        b"data: a\n\r\ndata: b\n\r",
    ],
    ids=["LF", "CR", "CRLF", "mixed1", "mixed2"],
)
def test_every_line_ending(blob):
    assert sse(blob) == [SseEvent("a"), SseEvent("b")]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: a\r", b"\ndata: b\r\n\r\n"],
        [b"data: a\r", b"\n", b"data: b\r\n\r\n"],
        [b"data: a\r\n", b"data: b\r", b"\n\r", b"\n"],
        [b"data: a\r", b"", b"\ndata: b\r\n\r\n"],  # an empty read between CR and LF
        [b"data: a\r", b"", b"", b"\n", b"", b"data: b\r", b"", b"\n\r", b"", b"\n"],
    ],
)
def test_crlf_split_across_feeds_is_one_line_end(chunks):
    # a spurious empty line would dispatch "a" and "b" as two events
    assert sse(chunks) == [SseEvent("a\nb")]


def test_cr_then_cr_across_feeds_is_a_blank_line():
    assert sse([b"data: a\r", b"\rdata: b\n\n"]) == [SseEvent("a"), SseEvent("b")]


def test_multi_line_data_joined_with_newline():
    assert sse(b"data: one\ndata: two\ndata:\ndata: four\n\n") == [SseEvent("one\ntwo\n\nfour")]


def test_comments_are_ignored():
    blob = b": ping\n\n:\n: keep-alive\ndata: x\n: between\ndata: y\n\n: ping\n\n"
    assert sse(blob) == [SseEvent("x\ny")]


def test_comment_only_stream_has_no_events():
    assert sse(b": ping\n\n: ping\n\n") == []
    assert chat(b": ping\n\n: ping\n\n") == []


def test_event_field_sets_the_type_for_one_event():
    blob = b"event: update\ndata: 1\n\ndata: 2\n\nevent: x\n\ndata: 3\n\n"
    # the type resets after a dispatch, and also at a blank line with no data
    assert sse(blob) == [SseEvent("1", "update"), SseEvent("2"), SseEvent("3")]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b"data: x", "x"),
        (b"data:x", "x"),
        (b"data:  x", " x"),
        (b"data:\tx", "\tx"),
        (b"data: x ", "x "),
        (b"data: a: b", "a: b"),
        (b"data", ""),
        (b"data:", ""),
    ],
)
def test_one_leading_space_stripped_only(line, value):
    assert sse(line + b"\n\n") == [SseEvent(value)]


@pytest.mark.parametrize(
    "line", [b"id: 7", b"retry: 1000", b"foo: bar", b"Data: upper", b" data: indented", b"dat"]
)
def test_unknown_fields_are_ignored(line):
    assert sse(line + b"\ndata: x\n\n") == [SseEvent("x")]


@pytest.mark.parametrize(
    "chunks",
    [
        [BOM + b"data: x\n\n"],
        [BOM, b"data: x\n\n"],
        [b"\xef", b"\xbb", b"\xbf", b"data: x\n\n"],
        [b"\xef\xbb", b"\xbfdata: x\n\n"],
        [b"", b"\xef", b"", b"\xbb\xbfdata", b": x\n\n"],
    ],
)
def test_leading_bom_dropped_even_when_split(chunks):
    assert sse(chunks) == [SseEvent("x")]


def test_only_the_first_bom_is_dropped():
    # a second BOM makes the field name "\ufeffdata", which is unknown and ignored
    assert sse(BOM + BOM + b"data: x\n\ndata: y\n\n") == [SseEvent("y")]


def test_bom_prefix_that_is_not_a_bom_is_kept():
    assert sse([b"\xef", b"data: x\n\ndata: y\n\n"]) == [SseEvent("y")]


def test_eof_keeps_a_last_event_without_its_blank_line():
    assert sse(b"data: a\n\ndata: b\n") == [SseEvent("a"), SseEvent("b")]
    assert sse(b"data: a\n\ndata: b") == [SseEvent("a"), SseEvent("b")]
    assert sse(b"data: a\n\nevent: x\n") == [SseEvent("a")]


def test_u2028_inside_json_is_not_a_line_end():
    text = "a\u2028b\u2029c\x85d"
    blob = data(delta(text)) + DONE
    assert "\u2028".encode() in blob  # raw, not escaped
    assert chat(blob) == [TextDelta(text)]


# --- any chunking gives the same events ---------------------------------------------

UNICODE_STREAM = (
    BOM
    + b": ping\r\n\r\n"
    + data(delta("h\u00e9llo \u4e16\u754c "))
    + b"data: "
    + json.dumps(delta("\U0001f389\u2028x"), ensure_ascii=False).encode()
    + b"\r\n\r\n"
    + b"data: "
    + json.dumps(delta("\u00e9"), ensure_ascii=False).encode()
    + b"\r\r"
    + data({"choices": [{"index": 0, "delta": {"reasoning_content": "\u03bb"}}]})
    + data(finish())
    + data(USAGE)
    + DONE
)
UNICODE_EVENTS = [
    TextDelta("h\u00e9llo \u4e16\u754c \U0001f389\u2028x\u00e9"),
    ReasoningDelta("\u03bb"),
    Finish("stop"),
    UsageReport(Usage(9, 12, 21)),
]


def test_unicode_stream_whole():
    assert chat(UNICODE_STREAM) == UNICODE_EVENTS


def test_every_single_split_gives_the_same_events():
    for cut in range(len(UNICODE_STREAM) + 1):
        assert chat(splits(UNICODE_STREAM, (cut,))) == UNICODE_EVENTS, cut


def test_every_split_into_bytes_gives_the_same_events():
    one_by_one = [UNICODE_STREAM[i : i + 1] for i in range(len(UNICODE_STREAM))]
    assert chat(one_by_one) == UNICODE_EVENTS


def test_every_pair_of_splits_around_multibyte_characters():
    # every way to cut a 4-byte, 3-byte and 2-byte character (and the CRLFs) in three
    blob = b"data: \xf0\x9f\x8e\x89\xe4\xb8\x96\xc3\xa9\r\n\r\n"
    want = [SseEvent("\U0001f389\u4e16\u00e9")]
    for a, b in itertools.combinations_with_replacement(range(len(blob) + 1), 2):
        assert sse(splits(blob, (a, b))) == want, (a, b)


@st.composite
def chunkings(draw, blob: bytes = UNICODE_STREAM) -> list[bytes]:
    cuts = draw(st.lists(st.integers(0, len(blob)), max_size=40))
    return splits(blob, tuple(sorted(cuts)))


@hsettings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(chunkings())
def test_any_chunking_gives_the_same_events(chunks):
    assert chat(chunks) == UNICODE_EVENTS


@hsettings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["data", "event", ":", "id"]), st.text(max_size=8)),
        max_size=8,
    ),
    st.sampled_from([b"\n", b"\r", b"\r\n"]),
    st.data(),
)
def test_any_chunking_of_any_event_stream(fields, newline, drawer):
    lines = []
    for name, value in fields:
        value = value.replace("\r", "").replace("\n", "")
        lines.append(f"{name}: {value}".encode() if name != ":" else f":{value}".encode())
        lines.append(b"")  # blank line: dispatch
    blob = newline.join(lines) + newline
    whole = sse(blob)
    assert sse(drawer.draw(chunkings(blob))) == whole


# --- [DONE] and EOF -----------------------------------------------------------------


def test_reference_stream():
    assert chat(OPENAI_STREAM) == OPENAI_EVENTS


def test_done_ends_the_stream_and_stops_reading():
    pulled: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (data(delta("a")) + DONE, data(delta("after")), b"data: not json\n\n"):
            pulled.append(chunk)
            yield chunk

    assert list(parse_stream(chunks())) == [TextDelta("a")]
    assert len(pulled) == 1


def test_done_without_trailing_blank_line_at_eof():
    assert chat(data(delta("a")) + b"data: [DONE]") == [TextDelta("a")]


def test_eof_without_done():
    assert chat(data(delta("a")) + data(finish())) == [TextDelta("a"), Finish("stop")]


def test_eof_mid_event_keeps_the_complete_data_line():
    blob = data(delta("a")) + b"data: " + json.dumps(delta("b")).encode() + b"\n"
    assert chat(blob) == [TextDelta("ab")]


def test_empty_stream():
    assert chat([]) == []
    assert chat([b""]) == []


# --- chunk shapes seen in the wild --------------------------------------------------


@pytest.mark.parametrize(
    ("chunk", "events"),
    [
        ({"choices": []}, []),
        ({"choices": None}, []),  # vLLM
        ({}, []),
        ({"choices": [{"index": 0, "delta": {"content": None}}]}, []),  # llama.cpp first delta
        ({"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]}, []),
        ({"choices": [{"index": 0, "delta": None}]}, []),
        (
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "x"}}]},
            [TextDelta("x")],
        ),  # Ollama: role in every delta
        (
            {
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
                "choices": [],
            },
            [],
        ),  # Azure
        (
            {
                "choices": [{"index": 0, "delta": {"content": "x"}}],
                "timings": {"predicted_n": 3},
                "obfuscation": "abc",
                "system_fingerprint": "fp",
                "id": "c1",
                "object": "x",
            },
            [TextDelta("x")],
        ),
        (
            {"choices": [{"index": 0, "delta": {"content": "x"}, "logprobs": None}]},
            [TextDelta("x")],
        ),
        ({"choices": [{"delta": {"content": "no index"}}]}, [TextDelta("no index")]),
        ({"choices": [{"index": 1, "delta": {"content": "other choice"}}]}, []),
        ({"choices": ["junk"]}, []),
        ({"choices": [{"index": 0, "delta": {"reasoning_content": "r"}}]}, [ReasoningDelta("r")]),
        ({"choices": [{"index": 0, "delta": {"reasoning": "r"}}]}, [ReasoningDelta("r")]),
        (
            {"choices": [{"index": 0, "delta": {"reasoning": None, "content": "c"}}]},
            [TextDelta("c")],
        ),
        (
            {"choices": [{"index": 0, "delta": {"reasoning_content": "r", "content": "c"}}]},
            [ReasoningDelta("r"), TextDelta("c")],
        ),
        ({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}, [Finish("length")]),
        (
            {"choices": [{"index": 0, "delta": {"content": "end"}, "finish_reason": "stop"}]},
            [TextDelta("end"), Finish("stop")],
        ),
        (
            {
                "choices": [],
                "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
            },
            [UsageReport(Usage(9, 12, 21))],
        ),
        (
            {"choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": 5}},
            [UsageReport(Usage(0, 5, None))],
        ),  # Ollama with a cached prompt
        (
            {"choices": [], "usage": {"prompt_tokens": "9", "completion_tokens": True}},
            [UsageReport(Usage(None, None, None))],
        ),
        ({"choices": [{"index": 0, "delta": {"content": "x"}}], "usage": None}, [TextDelta("x")]),
        (
            {
                "choices": [{"index": 0, "message": {"content": "whole"}, "finish_reason": "stop"}],
                "usage": {"completion_tokens": 1},
            },
            [TextDelta("whole"), Finish("stop"), UsageReport(Usage(None, 1, None))],
        ),
        ({"choices": [{"index": 0, "delta": {"content": "x"}}], "error": None}, [TextDelta("x")]),
        # --- dialect quirks (issue 8) ---
        (  # Heroku-adjacent: usage on a chunk whose choices is not empty, with details
            {
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": 9,
                    "completion_tokens": 40,
                    "total_tokens": 49,
                    "reasoning_tokens": 30,
                    "cached_input_tokens": 4,
                },
            },
            [Finish("stop"), UsageReport(Usage(9, 40, 49, reasoning_tokens=30, cached_tokens=4))],
        ),
        (  # OpenAI nests the same details
            {
                "choices": [],
                "usage": {
                    "completion_tokens": 5,
                    "completion_tokens_details": {"reasoning_tokens": 3},
                    "prompt_tokens_details": {"cached_tokens": 2},
                },
            },
            [UsageReport(Usage(None, 5, None, reasoning_tokens=3, cached_tokens=2))],
        ),
        (  # Mistral: content as a list of parts, thinking first
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "content": [
                                {"type": "thinking", "thinking": [{"type": "text", "text": "hm"}]},
                                {"type": "text", "text": "Hi"},
                            ]
                        },
                    }
                ]
            },
            [ReasoningDelta("hm"), TextDelta("Hi")],
        ),
        (  # Anthropic-like thinking part with a string, and a reasoning part
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "content": [
                                {"type": "thinking", "thinking": "a"},
                                {"type": "reasoning", "text": "b"},
                                {"type": "image_url", "image_url": {"url": "x"}},
                                {"type": "text", "text": ""},
                                "plain",
                            ]
                        },
                    }
                ]
            },
            [ReasoningDelta("a"), ReasoningDelta("b"), TextDelta("plain")],
        ),
        (  # non-streamed: message.content as parts, message.reasoning (Heroku, Ollama)
            {
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "reasoning": "thought",
                            "content": [{"type": "text", "text": "whole"}],
                        },
                        "finish_reason": "stop",
                    }
                ]
            },
            [ReasoningDelta("thought"), TextDelta("whole"), Finish("stop")],
        ),
        (
            {"choices": [{"index": 0, "delta": {"content": []}}]},
            [],
        ),
    ],
)
def test_chunk_shapes(chunk, events):
    assert chunk_events(chunk) == events
    assert chat(data(chunk) + DONE) == joined(events)  # one read: its deltas joined


def test_role_in_every_delta_stream():
    blob = (
        b"".join(
            data({"choices": [{"index": 0, "delta": {"role": "assistant", "content": c}}]})
            for c in ("Hel", "lo", "!")
        )
        + data(finish())
        + DONE
    )
    assert chat(blob) == [TextDelta("Hello!"), Finish("stop")]


# --- one delta per read --------------------------------------------------------------


def test_the_deltas_of_one_read_come_out_as_one_delta_per_kind():
    think = {"choices": [{"index": 0, "delta": {"reasoning_content": "hmm "}}]}
    read = data(think) * 2 + b"".join(data(delta(c)) for c in ("Hel", "lo", "!")) + data(finish())
    assert list(parse_stream([read])) == [
        ReasoningDelta("hmm hmm "),
        TextDelta("Hello!"),
        Finish("stop"),
    ]


def test_deltas_from_separate_reads_stay_separate():
    reads = [data(delta("Hel")) + data(delta("lo")), data(delta("!")) + DONE]
    assert list(parse_stream(reads)) == [TextDelta("Hello"), TextDelta("!")]


def test_a_delta_split_across_reads_ends_where_its_event_ends():
    blob = data(delta("ab")) + data(delta("cd"))
    cut = len(data(delta("ab"))) + 5  # inside the second event
    assert list(parse_stream([blob[:cut], blob[cut:]])) == [TextDelta("ab"), TextDelta("cd")]


def test_text_before_an_error_in_the_same_read_is_kept():
    blob = data(delta("par")) + data(delta("tial")) + data({"error": {"message": "overloaded"}})
    got, exc = _collect_until_error(blob)
    assert got == [TextDelta("partial")]
    assert str(exc) == "overloaded"


def test_think_tags_split_across_batches_still_split():
    reads = [
        data(delta("<th")) + data(delta("ink>plan")),
        data(delta("</thi")),
        data(delta("nk>ok")),
    ]
    events = joined(split_think_tags(parse_stream(reads)))
    assert events == [ReasoningDelta("plan"), TextDelta("ok")]


# --- errors in the stream -----------------------------------------------------------


def _collect_until_error(blob: bytes) -> tuple[list, BaseException]:
    got: list = []
    with pytest.raises((ApiError, TransportError)) as info:
        for event in parse_stream([blob]):
            got.append(event)
    return got, info.value


def test_error_object_after_events():
    blob = data(delta("partial")) + data(
        {"error": {"code": 503, "message": "model overloaded", "type": "server_error"}}
    )
    got, exc = _collect_until_error(blob)
    assert got == [TextDelta("partial")]
    assert isinstance(exc, ApiError)
    assert str(exc) == "model overloaded"
    assert exc.status == 503


@pytest.mark.parametrize(
    ("payload", "message", "status"),
    [
        ({"error": {"message": "boom"}}, "boom", None),
        (
            {"error": {"code": 429, "message": "slow down", "type": "rate_limit_error"}},
            "slow down",
            429,
        ),
        ({"error": {"code": "bad_request", "message": "no"}}, "no", None),
        ({"error": {"code": 9999, "message": "odd"}}, "odd", None),
        ({"error": "plain words"}, "plain words", None),
        ({"error": {"type": "server_error"}}, "server_error", None),
        (  # Heroku: the error object double-encoded as a string
            {
                "error": '{"code":400,"message":"unrecognized request argument supplied: '
                'stream_options","type":"invalid_request"}'
            },
            "unrecognized request argument supplied: stream_options",
            400,
        ),
        (  # vLLM: a flat error object mid-stream, no `error` key
            {"object": "error", "message": "model overloaded", "code": 503},
            "model overloaded",
            503,
        ),
        ({"object": "error", "message": "odd", "type": "BadRequestError"}, "odd", None),
    ],
)
def test_error_object_shapes(payload, message, status):
    with pytest.raises(ApiError) as info:
        chat(data(payload))
    assert str(info.value) == message
    assert info.value.status == status


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b'error: {"message": "llama.cpp failed"}\n\n', "llama.cpp failed"),
        (b"error: context too long\n\n", "context too long"),
        (b'event: error\ndata: {"error": {"message": "quota"}}\n\n', "quota"),
        (b"event: error\ndata: not json at all\n\n", "not json at all"),
        (b"event: error\ndata:\n\n", "the server sent an error event"),
    ],
)
def test_error_lines_and_error_events(blob, message):
    got, exc = _collect_until_error(data(delta("ok")) + blob + DONE)
    assert got == [TextDelta("ok")]
    assert isinstance(exc, ApiError)
    assert str(exc) == message


@pytest.mark.parametrize(
    "blob",
    [
        b"data: this is not json\n\n",
        b'data: {"choices": [\n\n',
        b"data: [1, 2]\n\n",
        b'data: "text"\n\n',
        b"data: null\n\n",
    ],
)
def test_non_json_or_non_object_data_is_a_transport_error(blob):
    got, exc = _collect_until_error(data(delta("ok")) + blob)
    assert got == [TextDelta("ok")]
    assert isinstance(exc, TransportError)
    assert "malformed stream" in str(exc)


def test_blank_data_events_are_skipped():
    assert list(decode_events([SseEvent(""), SseEvent("  "), SseEvent("[DONE]")])) == [None]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"error": {"message": "m", "detail": "d"}}, "m"),
        ({"error": {"detail": "d"}}, "d"),
        ({"message": "top-level"}, "top-level"),
        ({"detail": "fastapi style"}, "fastapi style"),
        ({"error": ""}, "the server gave no error message"),
        ("just a string", "just a string"),
        (["x"] * 10, "; ".join(["x"] * 10)),
        (["x"] * 100, ("x; " * 80)[:239].rstrip() + "…"),
    ],
)
def test_error_message(payload, message):
    assert error_message(payload) == message


# --- <think> tags -------------------------------------------------------------------


def _split_all(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    events = [e for piece in pieces for e in splitter.split(piece)] + splitter.flush()
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert all(e.text for e in events)  # no empty deltas
    return text, reasoning


THINK = "<think>plan: a<b</think>Answer <i>x</i> done"


def test_think_splitter_whole():
    assert _split_all([THINK]) == ("Answer <i>x</i> done", "plan: a<b")


def test_think_tags_split_across_deltas_at_every_offset():
    for i, j in itertools.combinations_with_replacement(range(len(THINK) + 1), 2):
        pieces = [THINK[:i], THINK[i:j], THINK[j:]]
        assert _split_all(pieces) == ("Answer <i>x</i> done", "plan: a<b"), (i, j)


def test_think_splitter_character_by_character():
    assert _split_all(list(THINK)) == ("Answer <i>x</i> done", "plan: a<b")


@pytest.mark.parametrize(
    ("pieces", "text", "reasoning"),
    [
        (["no tags at all"], "no tags at all", ""),
        (["a <", "b"], "a <b", ""),
        (["ends with <thi"], "ends with <thi", ""),  # held back, then flushed as text
        (["<think>never closed"], "", "never closed"),
        (["<think>", "</think>"], "", ""),
        (["x<think>r1</think>y<think>r2</think>z"], "xyz", "r1r2"),
        (["<think>r</thi"], "", "r</thi"),
    ],
)
def test_think_splitter_cases(pieces, text, reasoning):
    assert _split_all(pieces) == (text, reasoning)


def test_split_think_tags_over_a_stream():
    events = [
        TextDelta("<thi"),
        TextDelta("nk>why"),
        TextDelta("</th"),
        TextDelta("ink>Hi"),
        TextDelta(" <"),
        Finish("stop"),
        UsageReport(Usage(1, 2, 3)),
    ]
    out = list(split_think_tags(events))
    assert out == [
        ReasoningDelta("why"),
        TextDelta("Hi"),
        TextDelta(" "),
        TextDelta("<"),
        Finish("stop"),
        UsageReport(Usage(1, 2, 3)),
    ]


def test_split_think_tags_passes_plain_deltas_through_untouched():
    events = [TextDelta("a"), ReasoningDelta("r"), TextDelta("b"), Finish("stop")]
    assert list(split_think_tags(events)) == events


@pytest.mark.parametrize(
    ("usage", "cached"),
    [
        # OpenAI and llama.cpp nest it
        ({"prompt_tokens": 50, "prompt_tokens_details": {"cached_tokens": 40}}, 40),
        # Heroku-adjacent clients read it flat; Anthropic-style servers name it so
        ({"prompt_tokens": 50, "cached_input_tokens": 30}, 30),
        ({"prompt_tokens": 50, "cache_read_input_tokens": 20}, 20),
        ({"prompt_tokens": 50}, None),
        ({"prompt_tokens": 50, "prompt_tokens_details": {"cached_tokens": "x"}}, None),
    ],
)
def test_cached_prompt_tokens_are_read_wherever_the_server_puts_them(
    usage: dict, cached: int | None
) -> None:
    (report,) = chunk_events({"choices": [], "usage": usage})
    assert report == UsageReport(Usage(50, cached_tokens=cached))


JSON_OF_EVERY_TYPE = [None, True, False, 0, 3, 1.5, "", "abc", [], [1], {}, {"x": 1}]


@pytest.mark.parametrize("value", JSON_OF_EVERY_TYPE, ids=repr)
@pytest.mark.parametrize(
    "shape",
    [
        lambda v: {"choices": v},
        lambda v: {"choices": [v]},
        lambda v: {"choices": [{"delta": v}]},
        lambda v: {"choices": [{"message": v}]},
        lambda v: {"choices": [{"index": v, "delta": {"content": "a"}}]},
        lambda v: {"choices": [{"delta": {"content": v}}]},
        lambda v: {"choices": [{"delta": {"reasoning_content": v}}]},
        lambda v: {"choices": [{"delta": {"content": [v]}}]},
        lambda v: {"choices": [{"finish_reason": v}]},
        lambda v: {"usage": v},
        lambda v: {"usage": {"prompt_tokens": v, "completion_tokens_details": v}},
        lambda v: {"error": v},
    ],
    ids=lambda f: json.dumps(f("V")),
)
def test_any_json_value_in_any_field_gives_events_or_one_clean_error(shape, value):
    # found by the fuzz run in CI: {"choices": true} raised TypeError out of the mapping
    stream = f"data: {json.dumps(shape(value))}\n\ndata: [DONE]\n\n".encode()
    try:
        events = list(parse_stream([stream]))
    except ApiError:
        return  # an error object, reported cleanly
    assert all(isinstance(e, TextDelta | ReasoningDelta | Finish | UsageReport) for e in events)
