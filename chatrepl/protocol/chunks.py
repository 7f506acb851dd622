"""OpenAI chat-completion chunks to chat stream events. Pure.

`parse_stream` turns the bytes of an event stream into `TextDelta`, `ReasoningDelta`,
`UsageReport` and `Finish` events, ending at `[DONE]` or at the end of the bytes; an
error object anywhere in the stream becomes an `ApiError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from chatrepl.core.errors import ApiError, TransportError
from chatrepl.core.messages import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatrepl.protocol.eventstream import EventStreamDecoder, SseEvent


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
