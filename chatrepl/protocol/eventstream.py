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
        elif b"\n\n" in buffer:
            return self._blocks(buffer)
        else:
            lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        events: list[SseEvent] = []
        for raw in lines:
            event = self._line(raw.decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        return events

    def _blocks(self, buffer: bytes) -> list[SseEvent]:
        """The fast path for LF-only text: split at blank lines, and take a block that is
        one `data: …` line whole (what nearly every server sends); any other block goes
        through the line rules. Same events as splitting it all into lines."""
        blocks = buffer.split(b"\n\n")
        rest = blocks.pop()
        events: list[SseEvent] = []
        append, line_of = events.append, self._line
        for block in blocks:
            if block[:6] == b"data: " and not self._data and b"\n" not in block:
                append(SseEvent(block[6:].decode("utf-8", "replace"), self._event or "message"))
                self._event = ""
                continue
            for raw in block.split(b"\n"):
                event = line_of(raw.decode("utf-8", "replace"))
                if event is not None:
                    append(event)
            event = line_of("")
            if event is not None:
                append(event)
        lines = rest.split(b"\n")
        self._buffer = lines.pop()
        for raw in lines:
            event = line_of(raw.decode("utf-8", "replace"))
            if event is not None:
                append(event)
        return events

    def take_blocks(self, chunk: bytes) -> str | None:
        """The text of the whole events (each ended by its blank line) that `chunk`
        completes, decoded but not dispatched; the rest is kept as `feed` keeps it.

        For a caller with a faster way to read the commonest events: it hands the text
        back to `events_of` when it cannot. None (nothing taken: use `feed`) unless the
        decoder is between events and the text has LF line ends only.
        """
        if self._data or self._event or self._skip_lf or b"\r" in chunk:
            return None
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                return None  # `feed` keeps what may be the start of a BOM
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        cut = buffer.rfind(b"\n\n") + 2
        if cut < 2:
            return None  # nothing changed: `feed` takes it all
        self._started = True
        self._buffer = buffer[cut:]
        # Decoding all at once gives what decoding line by line does: a line end is
        # ASCII, never inside a character, so no replacement spans one.
        return buffer[:cut].decode("utf-8", "replace")

    def events_of(self, text: str) -> list[SseEvent]:
        """The events of text from `take_blocks`, by the ordinary rules."""
        events: list[SseEvent] = []
        for line in text.split("\n")[:-1]:
            event = self._line(line)
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
