"""Rate-limit headers: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`. Pure.

Heroku (per model, per minute) and OpenAI send them on every response; a 429 from
Heroku may carry no `Retry-After`, so the reset header is the only hint of how long to
wait. Resets are durations as Go prints them (`51s`, `1m30s`, `250ms`, `6m0s`), a plain
number of seconds, or (some gateways) a Unix time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from chatrepl.core.messages import RateLimits

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_EPOCH = 1e9  # a "reset" this large is a moment (seconds since 1970), not a duration
PREFIX = "x-ratelimit-"


def parse_reset(text: str | None, *, now: float) -> float | None:
    """Seconds until a reset value: `51s`, `1m30s`, `250ms`, `12`, `1.5` or a Unix time."""
    if not text:
        return None
    value = text.strip().lower()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if number != number or number < 0:  # NaN or negative: no usable hint
            return None
        return max(0.0, number - now) if number >= _EPOCH else number
    pos, total = 0, 0.0
    for match in _PART.finditer(value):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT[match.group(2)]
        pos = match.end()
    return total if pos == len(value) and pos else None


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(PREFIX + name)
    try:
        return int(str(raw).strip()) if raw is not None else None
    except ValueError:
        return None


def _text(headers: Mapping[str, str], name: str) -> str | None:
    raw = headers.get(PREFIX + name)
    text = str(raw).strip() if raw is not None else ""
    return text or None


def rate_limits(headers: Mapping[str, str]) -> RateLimits | None:
    """The rate-limit headers of a response, or None when it sent none.

    `headers` is looked up with lower-case names (requests' headers ignore case).
    """
    limits = RateLimits(
        limit_requests=_int(headers, "limit-requests"),
        remaining_requests=_int(headers, "remaining-requests"),
        reset_requests=_text(headers, "reset-requests"),
        limit_tokens=_int(headers, "limit-tokens"),
        remaining_tokens=_int(headers, "remaining-tokens"),
        reset_tokens=_text(headers, "reset-tokens"),
    )
    return None if limits == RateLimits() else limits


def reset_wait(limits: RateLimits | None, *, now: float) -> tuple[float, str] | None:
    """How long until the exhausted limit resets, and the header that said so.

    The limit that is at 0 wins; when neither says so, requests before tokens.
    """
    if limits is None:
        return None
    requests = (limits.remaining_requests, limits.reset_requests, "reset-requests")
    tokens = (limits.remaining_tokens, limits.reset_tokens, "reset-tokens")
    order = [requests, tokens]
    if limits.remaining_requests != 0 and limits.remaining_tokens == 0:
        order.reverse()
    for _, reset, name in order:
        seconds = parse_reset(reset, now=now)
        if seconds is not None:
            return seconds, PREFIX + name
    return None
