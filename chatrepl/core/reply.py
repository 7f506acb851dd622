"""One reply as it streams in, and what became of it.

Every consumer of a stream (a turn, each column of a comparison) drains it through the
same `drain()` into a `ReplyCollector`, so text, reasoning, usage, the finish reason,
the time to the first token and `TurnStats` are worked out in one place. What a whole
line of input did comes back to the caller as an `Outcome` value, never left in fields
for it to read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from chatrepl.core.errors import ChatReplError, TerminatedBySignal, UnexpectedError
from chatrepl.core.messages import (
    Finish,
    Message,
    Notice,
    RateLimitReport,
    RateLimits,
    ReasoningDelta,
    ServedModel,
    StreamEvent,
    TextDelta,
    TurnStats,
    Usage,
    UsageReport,
)
from chatrepl.core.text import needs_repair, repair

Clock = Callable[[], float]
Shown = TextDelta | ReasoningDelta


@dataclass(frozen=True, slots=True)
class Reply:
    """A finished, failed or interrupted reply: what arrived and how it ended.

    `signal` is set when a termination signal stopped it: the caller saves what arrived,
    then re-raises it so the process ends.
    """

    text: str
    reasoning: str
    stats: TurnStats
    error: ChatReplError | None = None
    limits: RateLimits | None = None  # the server's rate-limit headers, when it sent them
    signal: TerminatedBySignal | None = None
    served_model: str | None = None  # the model the server said answered, if it said

    @property
    def interrupted(self) -> bool:
        """The user stopped it (Ctrl-C) before it ended."""
        return self.stats.interrupted


class ReplyCollector:
    """Accumulates one streamed reply; `feed` returns what should be shown."""

    __slots__ = (
        "_clock",
        "_first",
        "_reasoning",
        "_start",
        "_started_at",
        "_text",
        "finish",
        "limits",
        "max_tokens",
        "model",
        "params",
        "served_model",
        "temperature",
        "usage",
    )

    def __init__(
        self,
        *,
        model: str | None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        params: Mapping[str, Any] | None = None,
        clock: Clock,
        wall_clock: Clock,
    ) -> None:
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.params = dict(params) if params else None
        self._clock = clock
        self._started_at = wall_clock()
        self._start = clock()
        self._first: float | None = None
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self.usage: Usage | None = None
        self.finish: str | None = None
        self.limits: RateLimits | None = None
        self.served_model: str | None = None

    def feed(self, event: StreamEvent) -> Shown | None:
        """Take one event; return it when it is text or reasoning to show."""
        if isinstance(event, TextDelta | ReasoningDelta):
            if self._first is None:
                self._first = self._clock()
            if needs_repair(event.text):  # any backend: what is kept must be writable
                event = type(event)(repair(event.text))
            (self._text if isinstance(event, TextDelta) else self._reasoning).append(event.text)
            return event
        if isinstance(event, UsageReport):
            self.usage = event.usage
        elif isinstance(event, Finish):
            self.finish = event.reason
        elif isinstance(event, RateLimitReport):
            self.limits = event.limits
        elif isinstance(event, ServedModel):
            self.served_model = event.model
        return None

    @property
    def text(self) -> str:
        """The answer so far."""
        return "".join(self._text)

    def result(
        self,
        *,
        error: ChatReplError | None = None,
        interrupted: bool = False,
        signal: TerminatedBySignal | None = None,
    ) -> Reply:
        """The reply as it stands, with its stats."""
        stats = TurnStats(
            model=self.model,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            started_at=self._started_at,
            ttft=None if self._first is None else self._first - self._start,
            duration=self._clock() - self._start,
            usage=self.usage,
            finish_reason=self.finish if error is None else "error",
            interrupted=interrupted,
            truncated=not interrupted and self.finish is None,
            params=self.params,
        )
        reasoning = "".join(self._reasoning)
        return Reply(self.text, reasoning, stats, error, self.limits, signal, self.served_model)


def drain(
    open_stream: Callable[[], Iterator[StreamEvent]],
    collector: ReplyCollector,
    *,
    show: Callable[[Shown], None] | None = None,
    notice: Callable[[str], None] | None = None,
    cancelled: threading.Event | None = None,
) -> Reply:
    """Read a stream to its end into `collector`; Ctrl-C or `cancelled` stops it.

    `show` gets the text and reasoning to display, `notice` the backend's notices.
    An expected failure ends the reply with its error (what arrived is kept), and so
    does an unexpected one (as `UnexpectedError`); SIGTERM and friends stop it like
    Ctrl-C and are handed back in `Reply.signal`. The stream is always closed, which
    aborts the HTTP request when it stopped early.
    """
    events: Iterator[StreamEvent] | None = None
    error: ChatReplError | None = None
    interrupted = False
    stopped_by: TerminatedBySignal | None = None
    try:
        # inside the try: a backend may fail (or be interrupted) before streaming
        events = open_stream()
        for event in events:
            if cancelled is not None and cancelled.is_set():
                interrupted = True
                break
            if isinstance(event, Notice):
                if notice is not None:
                    notice(event.text)
                continue
            shown = collector.feed(event)
            if shown is not None and show is not None:
                show(shown)
    except TerminatedBySignal as exc:
        interrupted, stopped_by = True, exc
    except KeyboardInterrupt:
        interrupted = True
    except ChatReplError as exc:
        error = exc
    except Exception as exc:  # a bug must cost the reply, never the session
        error = UnexpectedError(exc)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:  # closing must not lose what arrived
                error = error or UnexpectedError(exc)
    return collector.result(error=error, interrupted=interrupted, signal=stopped_by)


@dataclass(frozen=True, slots=True)
class CompareResult:
    """One model's answer in a comparison."""

    model: str
    reply: Reply

    @property
    def text(self) -> str:
        """What the model answered (possibly partial)."""
        return self.reply.text

    @property
    def stats(self) -> TurnStats | None:
        """Its stats, unless it failed."""
        return None if self.reply.error is not None else self.reply.stats

    @property
    def error(self) -> str | None:
        """Its one-line failure, if it failed."""
        return None if self.reply.error is None else str(self.reply.error)


@dataclass(frozen=True, slots=True)
class Confirm:
    """A question the REPL asks before running `then` (`/sessions rm N` asks first)."""

    question: str
    then: str  # the line to run on "yes"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one line of input did, for the caller (the REPL, one-shot mode) to act on."""

    error: ChatReplError | None = None
    interrupted: bool = False
    exit: bool = False  # /exit: leave the REPL
    reply: Message | None = None  # the assistant message a turn committed, if any
    # text for the next prompt, cursor at the end: /edit, /editor, an unsent message
    prefill: str | None = None
    confirm: Confirm | None = None
