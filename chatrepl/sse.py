"""Server-sent events, bytes in, chat stream events out. Pure: fed any iterable of bytes.

Follows the WHATWG event-stream rules: CR, LF or CRLF line ends (a CRLF may be split
across two reads), several `data:` lines joined with a newline, one space after the
colon dropped, `:` comment lines ignored, a leading BOM dropped, and always UTF-8
whatever the Content-Type says. Lines are split as bytes and decoded one at a time,
so a multi-byte character split across reads is never mangled, and U+2028 inside JSON
is not mistaken for a line end (the traps of `iter_lines(decode_unicode=True)`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chatrepl.errors import ApiError, TransportError
from chatrepl.messages import Finish, ReasoningDelta, StreamEvent, TextDelta, Usage, UsageReport

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event: its type (default "message") and its data."""

    data: str
    event: str = "message"


class EventStreamDecoder:
    """Incremental WHATWG event-stream decoder: `feed(bytes)` returns finished events."""

    __slots__ = ("_buffer", "_data", "_event", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._skip_lf = False  # the last chunk ended in CR: a leading LF belongs to it
        self._started = False
        self._data: list[str] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Consume bytes; return every event completed by them."""
        if not chunk:  # an empty read must not forget a CR that ended the last one
            return []
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        if b"\r" in buffer:
            lines = _LINE_END.split(buffer)
            self._skip_lf = buffer.endswith(b"\r")
        else:
            lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        events: list[SseEvent] = []
        for raw in lines:
            event = self._line(raw.decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SseEvent]:
        """End of stream. Per the spec an event without its blank line is dropped,
        but real servers sometimes omit the last one, so a complete `data:` line is kept."""
        events = self.feed(b"\n") if self._buffer else []
        if self._data:
            events.append(self._dispatch())
        return [e for e in events if e is not None]

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            if self._data:
                return self._dispatch()
            self._reset()
            return None
        if line[0] == ":":
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "error":  # older llama.cpp sends a bare `error:` line
            self._data.append(value)
            self._event = "error"
        return None

    def _dispatch(self) -> SseEvent:
        event = SseEvent("\n".join(self._data), self._event or "message")
        self._data = []
        self._event = ""
        return event

    def _reset(self) -> None:
        self._event = ""


def error_message(payload: Any) -> str:
    """The server's own words from `{"error": {...}}`, `{"error": "..."}` or `{"message": ...}`."""
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            message = error.get("message") or error.get("detail") or error.get("type")
            if message:
                return str(message)
        elif isinstance(error, str) and error:
            return error
        if isinstance(payload.get("detail"), str):
            return str(payload["detail"])
    return str(payload)[:200]


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None

    def count(name: str) -> int | None:
        value = raw.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Usage(count("prompt_tokens"), count("completion_tokens"), count("total_tokens"))


def chunk_events(chunk: dict[str, Any]) -> list[StreamEvent]:
    """The stream events in one chat.completion.chunk (or a whole non-streamed reply)."""
    if chunk.get("error"):
        raise ApiError(error_message(chunk), status=_status(chunk["error"]))
    events: list[StreamEvent] = []
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict) or choice.get("index", 0) not in (0, None):
            continue
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta, dict):
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                events.append(ReasoningDelta(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                events.append(TextDelta(content))
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            events.append(Finish(reason))
    usage = _usage(chunk.get("usage"))
    if usage is not None:
        events.append(UsageReport(usage))
    return events


def _status(error: Any) -> int | None:
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and 100 <= code < 600 else None


def decode_events(events: Iterable[SseEvent]) -> Iterator[StreamEvent | None]:
    """SSE events to stream events; yields None once on `[DONE]` and stops."""
    for sse in events:
        data = sse.data
        if data == "[DONE]":
            yield None
            return
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
        yield from chunk_events(chunk)


def parse_stream(chunks: Iterable[bytes]) -> Iterator[StreamEvent]:
    """Bytes of an event stream to chat stream events, ending at `[DONE]` or EOF."""
    decoder = EventStreamDecoder()
    for chunk in chunks:
        for event in decode_events(decoder.feed(chunk)):
            if event is None:
                return
            yield event
    for event in decode_events(decoder.close()):
        if event is None:
            return
        yield event


class ThinkSplitter:
    """Moves `<think>…</think>` found inside content into reasoning; tags may be split."""

    __slots__ = ("_inside", "_pending")
    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self._inside = False
        self._pending = ""

    def split(self, text: str) -> list[StreamEvent]:
        """Turn one content delta into answer and reasoning deltas."""
        text = self._pending + text
        self._pending = ""
        out: list[StreamEvent] = []
        while text:
            tag = self.CLOSE if self._inside else self.OPEN
            at = text.find(tag)
            if at < 0:
                keep = _partial_suffix(text, tag)
                body, self._pending = text[: len(text) - keep], text[len(text) - keep :]
                if body:
                    out.append(ReasoningDelta(body) if self._inside else TextDelta(body))
                break
            if at:
                body = text[:at]
                out.append(ReasoningDelta(body) if self._inside else TextDelta(body))
            self._inside = not self._inside
            text = text[at + len(tag) :]
        return out

    def flush(self) -> list[StreamEvent]:
        """Whatever was held back waiting to see if it starts a tag."""
        text, self._pending = self._pending, ""
        if not text:
            return []
        return [ReasoningDelta(text) if self._inside else TextDelta(text)]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could start `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


def split_think_tags(events: Iterable[StreamEvent]) -> Iterator[StreamEvent]:
    """Apply a ThinkSplitter to the content deltas of a stream."""
    splitter = ThinkSplitter()
    for event in events:
        if isinstance(event, TextDelta):
            if "<" in event.text or splitter._pending or splitter._inside:
                yield from splitter.split(event.text)
            else:
                yield event
        else:
            yield from splitter.flush()
            yield event
    yield from splitter.flush()
