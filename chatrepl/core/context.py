"""How full the model's context window is: the token estimate, window sizes, the meter.

The size of what the next request will carry is worked out from the server's own count
where there is one: `usage.prompt_tokens + usage.completion_tokens` of the last reply is
exactly what the conversation up to that reply weighed, so only what was added since is
estimated. The estimate needs no tokenizer: a message is its UTF-8 bytes / 4, rounded
up (about right for English prose and code with the BPE vocabularies of GPT, Claude and
Llama; it runs high for plain ASCII words and low for CJK text), plus 4 tokens for the
role markers a chat template adds around each message, plus 1,000 per image.

The meter keeps a per-message estimate cache keyed by identity (messages are immutable),
so a reading after a turn costs what the turn added, not what the conversation holds.

Window sizes come from, in order: the config (`[models."NAME"] context = N`, NAME may be
a pattern), what the server reports (llama.cpp's /props n_ctx, `/v1/models` metadata),
then `BUILTIN_WINDOWS` for Heroku's chat models; otherwise the meter shows the count only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatrepl.core.errors import ApiError, ChatReplError
from chatrepl.core.messages import Compaction, Message

BYTES_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4  # role markers and separators a chat template wraps a message in
IMAGE_TOKENS = 1000  # a typical photo or screenshot, as Claude and GPT-4o count them
WARN_AT = 0.8  # the meter turns amber, and warns once, above this share of the window
TARGET = 0.75  # /trim and /compact aim below the warning, so the meter goes back to normal

# Heroku Managed Inference's chat models (ids as `GET /available-models` lists them) and
# their windows, from each maker's model card: Anthropic's models overview gives 200K for
# every Claude 3.x, 4 and 4.5 / 4.6 model (the 1M window of Sonnet 4 / 4.5 is a beta that
# needs a header Heroku does not pass on); Amazon's Nova Pro and Lite cards give 300K;
# OpenAI's gpt-oss model card gives 131,072 (128K); Moonshot's Kimi K2.5 card gives
# 262,144 (256K). A server that reports its own window, or the config, wins.
BUILTIN_WINDOWS: Mapping[str, int] = {
    "claude-3-haiku": 200_000,
    "claude-3-5-haiku": 200_000,
    "claude-3-5-sonnet": 200_000,
    "claude-3-5-sonnet-latest": 200_000,
    "claude-3-7-sonnet": 200_000,
    "claude-4-sonnet": 200_000,
    "claude-4-5-sonnet": 200_000,
    "claude-4-5-haiku": 200_000,
    "claude-sonnet-4-6": 200_000,
    "claude-opus-4-5": 200_000,
    "nova-pro": 300_000,
    "nova-lite": 300_000,
    "openai-gpt-oss-120b": 131_072,
    "kimi-k2-5": 262_144,
}


def estimate(text: str) -> int:
    """Tokens in `text`, without a tokenizer: UTF-8 bytes / 4, rounded up."""
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    return -(-size // BYTES_PER_TOKEN)


def message_tokens(message: Message) -> int:
    """What one message adds to a request (its reasoning is never sent)."""
    return estimate(message.content) + MESSAGE_OVERHEAD + IMAGE_TOKENS * len(message.images)


# --- window sizes --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A model's context window and where the figure came from."""

    tokens: int
    source: str  # "config", "the server", "built-in table", "the server's error"


def parse_windows(table: Any) -> dict[str, int]:
    """`[models."NAME"] context = N` tables, validated (ValueError says what is wrong)."""
    if not isinstance(table, dict):
        raise ValueError("'models' must be a table like [models.\"NAME\"]")
    windows: dict[str, int] = {}
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise ValueError(f"'models.{name}' must be a table [models.\"{name}\"]")
        for key in spec:
            if key != "context":
                raise ValueError(f"unknown key 'models.{name}.{key}' (known: context)")
        context = spec.get("context")
        if isinstance(context, bool) or not isinstance(context, int) or context <= 0:
            raise ValueError(
                f"'models.{name}.context' must be a positive whole number of tokens, "
                f"not {context!r}"
            )
        windows[name] = context
    return windows


def lookup(table: Mapping[str, Any], model: str | None) -> Any:
    """The entry for `model`: its exact name first, then the first pattern that matches."""
    if not model or not table:
        return None
    if model in table:
        return table[model]
    import fnmatch  # on first use: off the path to the first prompt

    for pattern, value in table.items():
        if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(model, pattern):
            return value
    return None


# --- the meter -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """How big the next request is, against the window when it is known."""

    tokens: int
    window: Window | None
    counted: int = 0  # how much of `tokens` is the server's own count (the rest estimated)

    @property
    def share(self) -> float | None:
        """The fraction of the window in use."""
        return None if self.window is None else self.tokens / self.window.tokens

    @property
    def warn(self) -> bool:
        """Past the warning line (80 %)."""
        share = self.share
        return share is not None and share > WARN_AT

    @property
    def over(self) -> bool:
        """Bigger than the window."""
        return self.window is not None and self.tokens > self.window.tokens

    def text(self) -> str:
        """`12.4k / 200k · 6 %`, or `12.4k tokens` when the window is unknown."""
        if self.window is None:
            return f"{compact_number(self.tokens)} tokens"
        percent = 100 * self.tokens / self.window.tokens
        shown = f"{percent:.0f}" if percent >= 1 or percent == 0 else "<1"
        return f"{compact_number(self.tokens)} / {compact_number(self.window.tokens)} · {shown} %"


def compact_number(n: int) -> str:
    """12,400 -> 12.4k; 4,096 -> 4.1k; 200,000 -> 200k; 1,500,000 -> 1.5M; 987 -> 987."""
    if n < 1000:
        return str(n)
    value, unit = (n / 1000, "k") if n < 999_500 else (n / 1_000_000, "M")
    text = f"{value:.1f}" if value < 99.95 else f"{value:.0f}"
    return text.removesuffix(".0") + unit


class Meter:
    """Readings of a conversation's size, cheap to take after every turn.

    It remembers each message's estimate by identity, with running totals, so a reading
    costs what changed since the last one. It also learns how the estimate compares with
    the server's counts (`scale`), from any reply with usage over a big enough history,
    and applies that to what it has to estimate.
    """

    __slots__ = ("_messages", "_totals", "scale")

    CALIBRATE_FROM = 500  # estimated tokens: below this a chat template's fixed cost dominates

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._totals: list[int] = [0]  # _totals[i]: estimated tokens of messages[:i]
        self.scale = 1.0

    def _sync(self, messages: Sequence[Message]) -> None:
        known = len(self._messages)
        # list equality tries identity first, in C: unchanged history costs microseconds
        if len(messages) < known or list(messages[:known]) != self._messages:
            same = 0
            for mine, theirs in zip(self._messages, messages, strict=False):
                if mine is not theirs:
                    break
                same += 1
            del self._messages[same:]
            del self._totals[same + 1 :]
        total = self._totals[-1]
        for message in messages[len(self._messages) :]:
            total += message_tokens(message)
            self._messages.append(message)
            self._totals.append(total)

    def learn(self, counted: int, estimated: int) -> None:
        """The server counted `counted` tokens where the estimate said `estimated`."""
        if estimated >= self.CALIBRATE_FROM and counted > 0:
            self.scale = min(2.0, max(0.5, counted / estimated))

    def tail(self, messages: Sequence[Message], start: int) -> int:
        """The tokens messages[start:] add to a request (scaled estimate)."""
        self._sync(messages)
        return round((self._totals[-1] - self._totals[start]) * self.scale)

    def read(
        self,
        messages: Sequence[Message],
        *,
        system: str | None,
        compaction: Compaction | None,
        window: Window | None,
    ) -> Reading:
        """The size of the request the conversation would make now.

        `system` is the whole system message (the prompt and any summary note).
        """
        self._sync(messages)
        totals = self._totals
        start = compaction.upto if compaction is not None else 0
        system_tokens = estimate(system) + MESSAGE_OVERHEAD if system else 0
        # a reply asked before the compaction counted history that is no longer sent
        valid_from = compaction.count if compaction is not None else 0
        for index in range(len(messages) - 1, max(valid_from, start) - 1, -1):
            message = messages[index]
            usage = message.stats.usage if message.stats is not None else None
            if message.role == "assistant" and usage is not None and usage.prompt_tokens:
                reply = usage.completion_tokens
                if reply is None:
                    reply = totals[index + 1] - totals[index]
                counted = usage.prompt_tokens + reply
                self.learn(counted, system_tokens + totals[index + 1] - totals[start])
                after = round((totals[-1] - totals[index + 1]) * self.scale)
                return Reading(counted + after, window, counted)
        tokens = round((system_tokens + totals[-1] - totals[start]) * self.scale)
        return Reading(tokens, window)


# --- overflow errors from servers ----------------------------------------------------

# What servers say when a request does not fit (matched in lower case):
_OVERFLOW = (
    # OpenAI's error code (Groq and DeepSeek use it too)
    "context_length_exceeded",
    # OpenAI, vLLM, DeepSeek, Azure: "This model's maximum context length is N tokens"
    "maximum context length",
    # llama.cpp's server: its message, and its error type
    "exceeds the available context size",
    "exceed_context_size_error",
    # vLLM v1: "The decoder prompt (length N) is longer than the maximum model length of M"
    "longer than the maximum model length",
    # Anthropic, and Claude through Heroku: "prompt is too long: N tokens > M maximum"
    "prompt is too long",
    # Amazon Bedrock (Nova)
    "input is too long",
    # Mistral: "... too large for model with N maximum context length"
    "too large for model with",
    # Gemini's OpenAI-compatible endpoint
    "exceeds the maximum number of tokens",
    # "exceeds the context window", "context length exceeded" and the like
    "context window",
    "context length",
)
# The window figure, where the message gives one:
_WINDOW_IN_ERROR = (
    re.compile(r"available context size \((\d+) tokens\)"),  # llama.cpp
    re.compile(r"maximum context length is (\d+)"),  # OpenAI, vLLM
    re.compile(r"maximum model length of (\d+)"),  # vLLM v1
    re.compile(r"tokens > (\d+) maximum"),  # Anthropic
)


def is_overflow(error: ChatReplError | None) -> bool:
    """Whether a failed request failed because it did not fit the model's window."""
    if not isinstance(error, ApiError) or error.status not in (None, 400, 413, 422):
        return False
    text = str(error).lower()
    return any(phrase in text for phrase in _OVERFLOW)


def window_in_error(error: ChatReplError) -> int | None:
    """The window a server's overflow message names, if it names one."""
    text = str(error).replace(",", "")
    for pattern in _WINDOW_IN_ERROR:
        found = pattern.search(text)
        if found:
            return int(found.group(1))
    return None


_COUNT_IN_ERROR = (
    re.compile(r"request \((\d+) tokens\)"),  # llama.cpp
    re.compile(r"resulted in (\d+) tokens"),  # OpenAI
    re.compile(r"prompt is too long: (\d+) tokens"),  # Anthropic
    re.compile(r"\(length (\d+)\)"),  # vLLM v1
)


def tokens_in_error(error: ChatReplError) -> int | None:
    """How many tokens the server counted in the request it refused, if it says."""
    text = str(error).replace(",", "")
    for pattern in _COUNT_IN_ERROR:
        found = pattern.search(text)
        if found:
            return int(found.group(1))
    return None
