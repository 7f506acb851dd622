"""Values that flow through the core: chat messages, per-turn stats and stream events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the server reported them (any may be missing)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None  # part of completion_tokens spent thinking
    cached_tokens: int | None = None  # part of prompt_tokens the server had cached


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
    params: Mapping[str, Any] | None = None  # the extra request parameters it was asked with
    # what the reply cost in dollars, from the config's price table: worked out for the
    # stats line, never stored (prices change; /usage recomputes from `usage`)
    cost: float | None = field(default=None, compare=False)

    @property
    def tokens_per_second(self) -> float | None:
        """Completion tokens per second of generation, when both are known."""
        if not self.usage or not self.usage.completion_tokens or self.duration is None:
            return None
        generating = self.duration - (self.ttft or 0.0)
        # Under 50 ms (a cached or tiny reply) the rate is noise, not a speed worth showing.
        return self.usage.completion_tokens / generating if generating >= 0.05 else None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that went with a user message, as the transcript records it.

    A text file's content is part of the message's text (a fenced block), so only its
    path, size, digest and media type are kept here. An image's bytes live once in a
    content-addressed folder (by `sha256`); `data` holds them while they are in memory
    and takes no part in equality, so a reloaded message equals the one that was sent.
    """

    path: str
    size: int
    sha256: str
    media_type: str
    data: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def is_image(self) -> bool:
        """Whether it goes to the model as an image content part."""
        return self.media_type.startswith("image/")


ImageUrl = Callable[[Attachment], str]  # an image attachment -> its data: URL


@dataclass(frozen=True, slots=True)
class Alternative:
    """One reply a comparison got for this turn, kept beside the one that was chosen.

    `spec` is what the user typed; `settings` the settings that column overrode
    (temperature, max_tokens, a request parameter...); `error` its one-line failure.
    Exactly the `picked` one is the message's own content (None picked: the turn's
    reply was kept without a /pick).
    """

    spec: str
    model: str
    content: str = ""
    profile: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    reasoning: str = ""
    stats: TurnStats | None = None
    error: str | None = None
    picked: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message. `reasoning`, `stats` and `attachments` are ours: never sent as
    they are (an image attachment becomes an `image_url` content part)."""

    role: Role
    content: str
    reasoning: str = ""
    stats: TurnStats | None = None
    attachments: tuple[Attachment, ...] = ()
    # every reply a comparison got for this turn (an assistant message's), the kept one too
    alternatives: tuple[Alternative, ...] = ()

    @property
    def images(self) -> tuple[Attachment, ...]:
        """The attachments sent as image content parts."""
        if not self.attachments:  # nearly every message: each turn asks this of all of them
            return ()
        return tuple(a for a in self.attachments if a.is_image)

    def to_api(self, image_url: ImageUrl | None = None) -> dict[str, Any]:
        """The message as the chat-completions API expects it: text, then any images."""
        images = self.images
        if not images or image_url is None:
            return {"role": self.role, "content": self.content}
        parts: list[dict[str, Any]] = [{"type": "text", "text": self.content}]
        parts += [{"type": "image_url", "image_url": {"url": image_url(a)}} for a in images]
        return {"role": self.role, "content": parts}


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
class RateLimits:
    """The `x-ratelimit-*` headers of the last response (any may be missing).

    Resets are kept as the server wrote them (`51s`, `1m30s`): that is what to show.
    """

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests: str | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens: str | None = None


@dataclass(frozen=True, slots=True)
class RateLimitReport:
    """The server's rate-limit headers came with this response."""

    limits: RateLimits


@dataclass(frozen=True, slots=True)
class Notice:
    """A line for the user while the reply is on its way (a retry wait, a dropped
    parameter): shown dimmed, never part of the reply."""

    text: str


@dataclass(frozen=True, slots=True)
class ServedModel:
    """The model the server says answered (a chunk's `model`): it may differ from the one
    asked for (a server that falls back to its default, an alias resolved to a version)."""

    model: str


StreamEvent = (
    TextDelta | ReasoningDelta | UsageReport | Finish | Notice | RateLimitReport | ServedModel
)


@dataclass(frozen=True, slots=True)
class Compaction:
    """From when on a conversation is sent in part: the messages before `upto` are not
    sent any more (they stay in the session), and a `summary` of them, if there is one,
    goes in their place as a system note.

    `count` is how many messages the conversation had when this was decided: a reply at
    an index below it was asked with the whole history, so its token count says nothing
    about what is sent now. `how` is "summary" (/compact), "trim" (/trim) or "full" (the
    whole conversation is sent again).
    """

    upto: int
    count: int
    at: float  # wall clock, seconds since the epoch
    how: str = "summary"
    summary: str | None = None
    stats: TurnStats | None = None  # of the request that wrote the summary (it cost tokens)
