"""OpenAI chat-completion chunks to chat stream events. Pure.

`parse_stream` turns the bytes of an event stream into `TextDelta`, `ReasoningDelta`,
`UsageReport` and `Finish` events, ending at `[DONE]` or at the end of the bytes; an
error object anywhere in the stream becomes an `ApiError`. The chunks' `model` comes out
as one `ServedModel` (again only if it changes), so a vote can say which model answered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterable, Iterator
from typing import Any

from chatrepl.core.errors import ApiError, ChatReplError, TransportError
from chatrepl.core.messages import (
    Finish,
    ReasoningDelta,
    ServedModel,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatrepl.protocol.errors import error_message, error_status, is_error_object
from chatrepl.protocol.eventstream import EventStreamDecoder, SseEvent

__all__ = ["chunk_events", "decode_events", "error_message", "parse_stream"]


def _count(raw: Any, *path: str) -> int | None:
    for name in path:
        if not isinstance(raw, dict):
            return None
        raw = raw.get(name)
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    # OpenAI nests the details; Heroku-adjacent servers put them at the top level (and
    # Anthropic-style ones call the cached part cache_read_input_tokens)
    reasoning = _count(raw, "completion_tokens_details", "reasoning_tokens")
    cached = _count(raw, "prompt_tokens_details", "cached_tokens")
    for flat in ("cached_input_tokens", "cache_read_input_tokens"):
        cached = _count(raw, flat) if cached is None else cached
    return Usage(
        _count(raw, "prompt_tokens"),
        _count(raw, "completion_tokens"),
        _count(raw, "total_tokens"),
        reasoning_tokens=_count(raw, "reasoning_tokens") if reasoning is None else reasoning,
        cached_tokens=cached,
    )


def _parts(content: Any) -> Iterator[tuple[bool, str]]:
    """(is_reasoning, text) for a content given as a list of parts (Mistral, Anthropic-like).

    `{"type": "text", "text": …}` is answer; `{"type": "thinking", "thinking": …}` (whose
    value may itself be a list of text parts) and `reasoning` parts are reasoning; images
    and other kinds carry no text to show.
    """
    for part in content if isinstance(content, list) else ():
        if isinstance(part, str):
            yield False, part
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        thinking = kind in ("thinking", "reasoning", "redacted_thinking")
        if not thinking and kind not in ("text", "output_text", None):
            continue
        for key in ("text", "thinking", "reasoning", "content"):
            value = part.get(key)
            if isinstance(value, str):
                if value:
                    yield thinking, value
                break
            if isinstance(value, list):
                yield from ((True, t) if thinking else (r, t) for r, t in _parts(value))
                break


def _delta_events(delta: dict[str, Any]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        events.append(ReasoningDelta(reasoning))
    elif isinstance(reasoning, list):
        events += [ReasoningDelta(t) for _, t in _parts(reasoning)]
    content = delta.get("content")
    if isinstance(content, str) and content:
        events.append(TextDelta(content))
    elif isinstance(content, list):
        events += [ReasoningDelta(t) if r else TextDelta(t) for r, t in _parts(content)]
    return events


def chunk_events(chunk: dict[str, Any]) -> list[StreamEvent]:
    """The stream events in one chat.completion.chunk (or a whole non-streamed reply)."""
    if is_error_object(chunk):
        raise ApiError(error_message(chunk), status=error_status(chunk))
    events: list[StreamEvent] = []
    model = chunk.get("model")
    if isinstance(model, str) and model.strip():
        events.append(ServedModel(model.strip()))
    choices = chunk.get("choices")
    # a hostile or broken server may send any JSON here (`true`, `3`, an object)
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict) or choice.get("index", 0) not in (0, None):
            continue
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta, dict):
            events += _delta_events(delta)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            events.append(Finish(reason))
    usage = _usage(chunk.get("usage"))
    if usage is not None:
        events.append(UsageReport(usage))
    return events


class _Served:
    """The model the stream named last: every chunk names it, one `ServedModel` is enough."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: ServedModel | None = None


# The chunk nearly every server sends mid-reply, in compact or `json.dumps` spacing: a
# text delta for choice 0, maybe the model's name (before or after the choices), and
# only fields that change nothing here. Groups: the model before, the text, the model after.
_META = (
    r'"(?:id|object|created|system_fingerprint|service_tier|obfuscation)": ?'
    r'(?:"(?!error")[^"\\\x00-\x1f]*"|-?(?:0|[1-9]\d*)|null)'
)
_MODEL = r'"model": ?"([^"\\\x00-\x1f]*)"'
_TEXT_BODY = r'[^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*'  # a JSON string's, unparsed
_TEXT_CHUNK = re.compile(
    rf"\{{(?:{_META}, ?)*(?:{_MODEL}, ?(?:{_META}, ?)*)?"
    r'"choices": ?\[\{(?:"index": ?0, ?)?"delta": ?\{"content": ?'
    rf'"({_TEXT_BODY})"\}}'
    r'(?:, ?"logprobs": ?null)?(?:, ?"finish_reason": ?null)?\}\]'
    rf"(?:, ?{_META})*(?:, ?{_MODEL}(?:, ?{_META})*)?\}}"
)
_TEXT_EVENT = re.compile(rf"data: {_TEXT_CHUNK.pattern}\n\n")
_TEXT_LINES = re.compile(rf"{_TEXT_BODY}(?:\n{_TEXT_BODY})*")  # string bodies, one a line


def _unescaped(text: str) -> str | None:
    if "\\" not in text:
        return text
    try:
        value: str = json.loads(f'"{text}"')
    except json.JSONDecodeError:
        return None  # let the general path say what is wrong
    return value


def _all_unescaped(pieces: list[str]) -> list[str] | None:
    """JSON string bodies (each matched by `_TEXT_BODY`) decoded, in one `json.loads` for
    all of them (as decoding each alone: each is a whole string in the array); None when
    any has an escape JSON does not know."""
    joined = '","'.join(pieces)
    if "\\" not in joined:
        return pieces
    try:
        values: list[str] = json.loads(f'["{joined}"]')
    except json.JSONDecodeError:
        return None  # let the general path say what is wrong
    return values


def texts_of_events(text: str) -> list[tuple[str, str]] | None:
    """(model, text) of each whole event, when all are plain text-delta chunks, each a
    lone `data: ` line (read in one pass of a regular expression; the model is "" when
    the chunk names none); None when any event is something else."""
    # An event's text cannot hold a raw line end, so each match is exactly one event;
    # split gives [between, model, text, model, between, …]: nothing may be between.
    parts = _TEXT_EVENT.split(text)
    if any(parts[::4]):
        return None
    texts = _all_unescaped(parts[2::4])
    if texts is None:
        return None
    befores, afters = parts[1::4], parts[3::4]
    models = [a if a is not None else b or "" for b, a in zip(befores, afters, strict=True)]
    return list(zip(models, texts, strict=True))


def uniform_texts(text: str) -> tuple[str, str] | None:
    """(model, text of them all) when the whole events in `text` are all the same plain
    text-delta chunk but for their text (what a server sends mid-reply: the same id,
    model and spacing every time), read without a step or an object per event; None
    otherwise (then `texts_of_events` may still read them one by one).

    The first event is matched; where each event's end meets the next one's start (at
    a blank line, which a chunk's text cannot hold raw) a line end is put instead, and
    one match checks that each line is a string body: then every event is the first
    one with another text, exactly as `texts_of_events` reads them.
    """
    first = _TEXT_EVENT.match(text)
    if first is None:
        return None
    start, end = first.span(2)
    head, tail = text[:start], text[end : first.end()]
    if not text.endswith(tail):
        return None
    middle, between = text[start : len(text) - len(tail)], tail + head
    lines = middle.replace(between, "\n")
    if lines.count("\n") != middle.count(between) or _TEXT_LINES.fullmatch(lines) is None:
        return None  # another kind of event, or a line end of a piece's own
    if "\\" not in lines:
        joined = lines.replace("\n", "")
    else:  # each piece decoded alone, as `texts_of_events` does
        texts = _all_unescaped(lines.split("\n"))
        if texts is None:
            return None
        joined = "".join(texts)
    before, _, after = first.groups()
    return (after if after is not None else before or ""), joined


def text_of_chunk(data: str) -> tuple[str, str] | None:
    """(model, text) of a plain text-delta chunk (its text may be "", the model is ""
    when it names none), read without parsing it as JSON; None when `data` is any other
    kind of chunk (or not JSON at all)."""
    match = _TEXT_CHUNK.fullmatch(data)
    if match is None:
        return None
    before, piece, after = match.groups()
    text = _unescaped(piece)
    if text is None:
        return None
    return (after if after is not None else before or ""), text


def _served_model(model: str, served: _Served) -> ServedModel | None:
    """The `ServedModel` a chunk naming `model` adds, as `decode_events` keeps them."""
    name = model.strip()
    if not name:
        return None
    event = ServedModel(name)
    if event == served.last:
        return None
    served.last = event
    return event


def decode_events(
    events: Iterable[SseEvent], *, served: _Served | None = None
) -> Iterator[StreamEvent | None]:
    """SSE events to stream events; yields None once on `[DONE]` and stops.

    Every chunk names its model: only the first `ServedModel` (and a change) comes out,
    over every call that shares `served`.
    """
    served = served or _Served()
    for sse in events:
        data = sse.data
        if data == "[DONE]":
            yield None
            return
        if sse.event != "error" and data[:1] == "{":
            fast = text_of_chunk(data)
            if fast is not None:
                model = _served_model(fast[0], served)
                if model is not None:
                    yield model
                if fast[1]:
                    yield TextDelta(fast[1])
                continue
        if sse.event == "error":
            try:
                raise ApiError(error_message(json.loads(data)))
            except json.JSONDecodeError:
                raise ApiError(data.strip() or "the server sent an error event") from None
        if not data.strip():
            continue
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            raise TransportError(f"malformed stream: not JSON: {data[:80]!r}") from None
        if not isinstance(chunk, dict):
            raise TransportError(f"malformed stream: expected an object, got {data[:80]!r}")
        for event in chunk_events(chunk):
            if isinstance(event, ServedModel):
                if event == served.last:
                    continue
                served.last = event
            yield event


def parse_stream(chunks: Iterable[bytes]) -> Iterator[StreamEvent]:
    """Bytes of an event stream to chat stream events, ending at `[DONE]` or EOF.

    Each item of `chunks` is one network read: the deltas of one kind that follow each
    other in it come out as one delta, so everything downstream (think-splitting, the
    engine loop, the collector, the view and its lock) runs once per read, not once per
    token: a fast stream delivers dozens of tokens per read.
    """
    decoder, served = EventStreamDecoder(), _Served()
    for chunk in chunks:
        taken = decoder.take_blocks(chunk)
        if taken is None:
            events = decoder.feed(chunk)
        else:
            # The common case, a read of nothing but text deltas, without an object
            # per event (and when they differ only in their text, without a step per
            # event); anything else goes the general way.
            uniform = uniform_texts(taken)
            if uniform is not None:
                yield from _fast_events([uniform], served)
                continue
            fast = texts_of_events(taken)
            if fast is not None:
                yield from _fast_events(fast, served)
                continue
            events = decoder.events_of(taken)
        if (yield from _batched(decode_events(events, served=served))):
            return
    yield from _batched(decode_events(decoder.close(), served=served))


def _fast_events(chunks: list[tuple[str, str]], served: _Served) -> Iterator[StreamEvent]:
    """The events of (model, text) chunks: the texts joined, a `ServedModel` where the
    model changes (the first one included), as `_batched(decode_events(…))` gives them."""
    texts: list[str] = []
    last = ""  # the model named by the chunk before: no new `ServedModel` to make
    for model, text in chunks:
        event = None
        if model and model != last:
            last = model
            event = _served_model(model, served)
        if event is not None:
            if texts:
                yield TextDelta("".join(texts))
                texts = []
            yield event
        if text:
            texts.append(text)
    if texts:
        yield TextDelta("".join(texts))


def _batched(events: Iterable[StreamEvent | None]) -> Generator[StreamEvent, None, bool]:
    """Join neighbouring deltas of one kind; True when `[DONE]` came."""
    kind: type[TextDelta] | type[ReasoningDelta] | None = None
    texts: list[str] = []
    try:
        for event in events:
            if event is not None and type(event) is kind:
                texts.append(event.text)
                continue
            if kind is not None:
                yield kind("".join(texts))
                kind, texts = None, []
            if event is None:
                return True
            if isinstance(event, TextDelta | ReasoningDelta):
                kind, texts = type(event), [event.text]
            else:
                yield event
    except ChatReplError:
        if kind is not None:
            yield kind("".join(texts))  # what arrived before the error is kept
        raise
    if kind is not None:
        yield kind("".join(texts))
    return False
