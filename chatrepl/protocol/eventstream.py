"""The WHATWG event-stream decoder: bytes in, `SseEvent`s out. Pure: fed any bytes.

Follows the WHATWG rules: CR, LF or CRLF line ends (a CRLF may be split across two
reads), several `data:` lines joined with a newline, one space after the colon dropped,
`:` comment lines ignored, a leading BOM dropped, and always UTF-8 whatever the
Content-Type says. Lines are split as bytes and decoded one at a time, so a multi-byte
character split across reads is never mangled, and U+2028 inside JSON is not mistaken
for a line end (the traps of `iter_lines(decode_unicode=True)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
