"""`<think>…</think>` inside answer text, moved into reasoning. Pure.

Some models (DeepSeek-R1 distills, QwQ, SmolLM3…) write their reasoning into the
content between think tags; the tags may be split across deltas.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from chatrepl.core.messages import ReasoningDelta, StreamEvent, TextDelta


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
    """Apply a ThinkSplitter to the content deltas of a stream.

    Closing this generator closes `events` too, so an aborted reply aborts its request.
    """
    splitter = ThinkSplitter()
    try:
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
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
