"""A vote about a comparison, as a value: who was asked, what each answered, who won.

`/vote A|B|tie|bad` (and `/pick`, which votes for the picked column) turns the session's
last `Comparison` into a `Vote`; adapters/votes_store.py appends it to the votes file as
one JSON line, and core/leaderboard.py ranks models from the blind ones. Pure.

What the file keeps for each column (`Side`): the requested and the server-reported
model, the profile and endpoint host, the settings it overrode and the ones it was
sent with, the reply's length (not its text), finish reason, usage, time to first
token and duration, its error, and its blind label. Never the key: nothing here comes
from the key's setting, and the endpoint is kept as its host only (no URL credentials).

Decisions written down here, because the leaderboard depends on them:

- With three or more columns, a vote for A means A beat every other column: it counts
  as one win over each of them. `tie` is a tie between every pair, and so is `bad`
  (both, or all, were bad: no column is better), as LMArena counts it.
- A reply that names its own maker or model ("As Claude…", "I'm ChatGPT", "as an OpenAI
  model", "I am Llama, made by Meta") gives the blind game away: the vote is kept, with
  the phrase, but `flagged`, and the leaderboard leaves it out unless asked.
- Only blind votes rank models: a vote on a comparison whose names were shown is kept
  (it is still what the user preferred) but marked `blind: false` and not counted.
- Prompt tags are `#words` in the question (`#code write a parser`): a letter after the
  `#`, not inside a word (`C#`, `page#part` and `#12` are not tags), lower-cased.
"""

from __future__ import annotations

import hashlib
import json
import re
import time as _time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatrepl.core.comparison import LABELS, Comparison
from chatrepl.core.errors import CommandError
from chatrepl.core.messages import Message, Usage

VERSION = 1
TIE, BAD = "tie", "bad"
VIA_VOTE, VIA_PICK = "vote", "pick"

# --- self-identification --------------------------------------------------------------

_NAMES = (
    r"Claude|Anthropic|Chat\s?GPT|GPT-?\d[\w.-]*|OpenAI|Llama\s?\d*|Meta(?:\s+AI)?|Gemini|Gemma"
    r"|Bard|Google|Mistral|Mixtral|Qwen\d*|Alibaba|DeepSeek|Grok|xAI|Kimi|Moonshot(?:\s+AI)?"
    r"|Amazon|Nova|Microsoft|Copilot|SmolLM\d*|Hugging\s?Face|Cohere|Command\s?R"
)
_MODELISH = r"(?:model|assistant|AI|LLM|chatbot|language\s+model)"
_MADE = r"(?:made|created|developed|trained|built|designed)\s+by\s+"
_SELF = re.compile(
    "|".join(
        (
            # I'm ChatGPT / I am Claude / I'm an OpenAI model / I am called Llama
            rf"\bI(?:'|’)?(?:m| am)\s+(?:an?\s+)?(?:AI\s+)?(?:called\s+|named\s+)?(?:{_NAMES})\b",
            # As Claude, … / as an OpenAI model / as a Meta AI assistant (not "such as Google,")
            rf"(?<!such )\bas\s+(?:an?\s+)?(?:{_NAMES})\s*(?:,|(?:[\w-]+\s+){{0,2}}{_MODELISH}\b)",
            # I was trained by Google / I'm a large language model, trained by Google
            rf"\bI(?:'|’)?(?:m| am| was)\s+(?:[\w,-]+\s+){{0,5}}?{_MADE}(?:{_NAMES})\b",
            # As an AI language model developed by OpenAI
            rf"\bas\s+an?\s+(?:[\w-]+\s+){{0,3}}?{_MODELISH}\s*,?\s+{_MADE}(?:{_NAMES})\b",
            rf"\bmy\s+name\s+is\s+(?:{_NAMES})\b",
        )
    ),
    re.IGNORECASE,
)


def self_named(text: str) -> str | None:
    """The phrase in which a reply names its own maker or model, if it does."""
    found = _SELF.search(text)
    return " ".join(found.group(0).split()) if found else None


# --- tags and the shared messages -----------------------------------------------------

_TAG = re.compile(r"(?<![\w#&/])#([A-Za-z][\w-]*)")


def prompt_tags(prompt: str) -> tuple[str, ...]:
    """The `#tags` of a prompt, lower-cased, each once, in order."""
    return tuple(dict.fromkeys(t.lower() for t in _TAG.findall(prompt)))


def messages_sha256(history: Sequence[Message], question: str) -> str:
    """A hash of the messages every column was sent (roles and text; the question last)."""
    sent = [{"role": m.role, "content": m.content} for m in history if m.role != "system"]
    if not sent or sent[-1] != {"role": "user", "content": question}:
        sent.append({"role": "user", "content": question})
    canonical = json.dumps(sent, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


# --- the values -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Side:
    """One column of a voted comparison."""

    label: str  # its blind letter, A first
    spec: str  # what the user typed
    model: str  # the model asked for
    served_model: str | None = None  # the model the server said answered
    profile: str | None = None  # the endpoint's profile (the session's when the spec named none)
    endpoint: str | None = None  # the endpoint's host
    overrides: Mapping[str, Any] = field(default_factory=dict)  # the spec's own settings
    settings: Mapping[str, Any] = field(default_factory=dict)  # what the request was sent with
    text_length: int = 0
    finish_reason: str | None = None
    usage: Mapping[str, int] | None = None
    ttft: float | None = None
    duration: float | None = None
    error: str | None = None
    self_named: str | None = None  # the phrase that named its maker, if one did

    @property
    def name(self) -> str:
        """Who this column is on the leaderboard: profile, model and overridden settings."""
        head = f"{self.profile}:{self.model}" if self.profile else self.model
        if not self.overrides:
            return head
        return head + " · " + ", ".join(f"{k}={v}" for k, v in self.overrides.items())


@dataclass(frozen=True, slots=True)
class Vote:
    """One vote: the comparison it is about, and its outcome (a label, `tie` or `bad`)."""

    time: float  # wall clock, seconds since the epoch
    session: str | None  # the session file's name
    turn: int
    messages_sha256: str
    prompt: str
    sides: tuple[Side, ...]  # in display order: sides[0] is column A
    outcome: str
    blind: bool
    via: str = VIA_VOTE
    tags: tuple[str, ...] = ()

    @property
    def winner(self) -> int | None:
        """The index (into `sides`) of the column that won, None for a tie or `bad`."""
        if self.outcome in (TIE, BAD):
            return None
        return LABELS.index(self.outcome)

    @property
    def flagged(self) -> bool:
        """A reply named its own maker: the vote was not blind after all."""
        return any(s.self_named for s in self.sides)

    @property
    def failed(self) -> bool:
        """A reply failed (an error, or no reply at all): not a judgement of two answers."""
        return any(s.error for s in self.sides)

    @property
    def counts(self) -> bool:
        """Whether the default leaderboard counts it: blind, no reply gave itself away,
        and every reply came."""
        return self.blind and not self.flagged and not self.failed

    def pairs(self) -> list[tuple[str, str, float]]:
        """The pairwise results it stands for: (first, second, first's score 1, 0.5 or 0).

        A win is a win over every other column; `tie` and `bad` tie every pair. Two
        columns with the same name (the same model and settings twice) tell nothing.
        """
        names = [s.name for s in self.sides]
        won = self.winner
        if won is not None:
            return [
                (names[won], n, 1.0) for i, n in enumerate(names) if i != won and n != names[won]
            ]
        return [(a, b, 0.5) for i, a in enumerate(names) for b in names[i + 1 :] if a != b]

    def to_json(self) -> dict[str, Any]:
        """The vote as one line of the votes file."""
        winner = self.winner
        return {
            "version": VERSION,
            "time": _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(self.time)),
            "timestamp": self.time,
            "session": self.session,
            "turn": self.turn,
            "messages_sha256": self.messages_sha256,
            "prompt": self.prompt,
            "tags": list(self.tags),
            "blind": self.blind,
            "via": self.via,
            "outcome": self.outcome,
            "winner": None if winner is None else self.sides[winner].name,
            "flagged": self.flagged,
            # what the leaderboard counts, spelled out: [first, second, first's score]
            "pairs": [list(p) for p in self.pairs()],
            "sides": [_side_json(s) for s in self.sides],
        }

    @classmethod
    def from_json(cls, raw: Any) -> Vote:
        """A vote read back from the file; ValueError for anything that is not one."""
        if not isinstance(raw, dict) or not isinstance(raw.get("sides"), list):
            raise ValueError("not a vote")
        sides = tuple(_side_of(s) for s in raw["sides"])
        outcome = raw.get("outcome")
        if len(sides) < 2 or not isinstance(outcome, str):
            raise ValueError("a vote needs two sides and an outcome")
        if outcome not in (TIE, BAD) and outcome not in LABELS[: len(sides)]:
            raise ValueError(f"no column {outcome!r}")
        stamp = raw.get("timestamp")
        if not isinstance(stamp, int | float) or isinstance(stamp, bool):
            raise ValueError("a vote needs its timestamp")
        tags = raw.get("tags") or []
        return cls(
            time=float(stamp),
            session=_text(raw.get("session")),
            turn=_int(raw.get("turn")) or 0,
            messages_sha256=str(raw.get("messages_sha256") or ""),
            prompt=str(raw.get("prompt") or ""),
            sides=sides,
            outcome=outcome,
            blind=raw.get("blind") is True,
            via=str(raw.get("via") or VIA_VOTE),
            tags=tuple(str(t) for t in tags if isinstance(t, str)),
        )


def _side_json(side: Side) -> dict[str, Any]:
    return {
        "label": side.label,
        "name": side.name,
        "spec": side.spec,
        "model": side.model,
        "served_model": side.served_model,
        "profile": side.profile,
        "endpoint": side.endpoint,
        "overrides": dict(side.overrides),
        "settings": dict(side.settings),
        "text_length": side.text_length,
        "finish_reason": side.finish_reason,
        "usage": None if side.usage is None else dict(side.usage),
        "ttft": side.ttft,
        "duration": side.duration,
        "error": side.error,
        "self_named": side.self_named,
    }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


def _side_of(raw: Any) -> Side:
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), str):
        raise ValueError("a side needs its model")
    usage = raw.get("usage")
    overrides, settings = raw.get("overrides"), raw.get("settings")
    return Side(
        label=str(raw.get("label") or ""),
        spec=str(raw.get("spec") or raw["model"]),
        model=raw["model"],
        served_model=_text(raw.get("served_model")),
        profile=_text(raw.get("profile")),
        endpoint=_text(raw.get("endpoint")),
        overrides=dict(overrides) if isinstance(overrides, dict) else {},
        settings=dict(settings) if isinstance(settings, dict) else {},
        text_length=_int(raw.get("text_length")) or 0,
        finish_reason=_text(raw.get("finish_reason")),
        usage={k: v for k, v in usage.items() if _int(v) is not None}
        if isinstance(usage, dict)
        else None,
        ttft=_float(raw.get("ttft")),
        duration=_float(raw.get("duration")),
        error=_text(raw.get("error")),
        self_named=_text(raw.get("self_named")),
    )


# --- from a comparison ----------------------------------------------------------------


def parse_outcome(text: str, comparison: Comparison) -> str:
    """`A`, `b`, `tie` or `bad` → the outcome; CommandError naming what this comparison has."""
    word = text.strip()
    letters = LABELS[: len(comparison.targets)]
    if word.lower() in (TIE, BAD):
        return word.lower()
    if len(word) == 1 and word.upper() in letters:
        return word.upper()
    choices = "|".join(letters)
    if not word:
        raise CommandError(f"usage: /vote {choices}|tie|bad")
    raise CommandError(f"no column {word!r} to vote for: /vote {choices}|tie|bad")


def _usage(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    fields = ("prompt_tokens", "completion_tokens", "total_tokens", "reasoning_tokens")
    counts = {name: getattr(usage, name) for name in (*fields, "cached_tokens")}
    return {k: v for k, v in counts.items() if v is not None}


def build_vote(
    comparison: Comparison,
    outcome: str,
    *,
    time: float,
    session: str | None = None,
    settings: Sequence[Mapping[str, Any]] = (),
    profile: str | None = None,
    endpoint: str | None = None,
    via: str = VIA_VOTE,
) -> Vote:
    """The vote `outcome` casts on `comparison`.

    `settings[i]` is what target `i` was sent with (its request's options); `profile`
    and `endpoint` are the session's, for the targets whose spec named no profile.
    """
    sides = []
    for index in comparison.order:
        target = comparison.targets[index]
        result = comparison.results[index] if index < len(comparison.results) else None
        reply = result.reply if result is not None else None
        stats = reply.stats if reply is not None else None
        text = reply.text if reply is not None else ""
        own = target.profile is None
        sides.append(
            Side(
                label=comparison.letter(index),
                spec=target.spec,
                model=target.model,
                served_model=reply.served_model if reply is not None else None,
                profile=profile if own else target.profile,
                endpoint=endpoint if own else None,
                overrides=dict(target.overrides),
                settings=dict(settings[index]) if index < len(settings) else {},
                text_length=len(text),
                finish_reason=stats.finish_reason if stats is not None else None,
                usage=_usage(stats.usage) if stats is not None else None,
                ttft=stats.ttft if stats is not None else None,
                duration=stats.duration if stats is not None else None,
                error=result.error if result is not None else "no reply",
                self_named=self_named(text),
            )
        )
    prompt = comparison.question or next(
        (m.content for m in reversed(comparison.history) if m.role == "user"), ""
    )
    return Vote(
        time=time,
        session=session,
        turn=comparison.turn,
        messages_sha256=messages_sha256(comparison.history, prompt),
        prompt=prompt,
        sides=tuple(sides),
        outcome=outcome,
        blind=comparison.blind,
        via=via,
        tags=prompt_tags(prompt),
    )
