"""Values that flow through the core: chat messages, per-turn stats and stream events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the server reported them (any may be missing)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class TurnStats:
    """What we know about one assistant reply; kept apart from what is sent to the API."""

    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    started_at: float | None = None  # wall clock, seconds since the epoch
    ttft: float | None = None  # seconds from request to first token
    duration: float | None = None  # seconds from request to the end of the reply
    usage: Usage | None = None
    finish_reason: str | None = None
    interrupted: bool = False  # the user pressed Ctrl-C mid-reply
    truncated: bool = False  # the stream ended without a finish reason

    @property
    def tokens_per_second(self) -> float | None:
        """Completion tokens per second of generation, when both are known."""
        if not self.usage or not self.usage.completion_tokens or self.duration is None:
            return None
        generating = self.duration - (self.ttft or 0.0)
        # Under 50 ms (a cached or tiny reply) the rate is noise, not a speed worth showing.
        return self.usage.completion_tokens / generating if generating >= 0.05 else None


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message. `reasoning` and `stats` are ours: never sent to the API."""

    role: Role
    content: str
    reasoning: str = ""
    stats: TurnStats | None = None

    def to_api(self) -> dict[str, str]:
        """The message as the chat-completions API expects it."""
        return {"role": self.role, "content": self.content}


# --- stream events: what a Backend yields while a reply streams -------------------


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning (shown dimmed, never sent back)."""

    text: str


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token usage, usually in the last chunk of a stream."""

    usage: Usage


@dataclass(frozen=True, slots=True)
class Finish:
    """The server said why the reply ended ("stop", "length", ...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A line for the user while the reply is on its way (a retry wait, a dropped
    parameter): shown dimmed, never part of the reply."""

    text: str


StreamEvent = TextDelta | ReasoningDelta | UsageReport | Finish | Notice
