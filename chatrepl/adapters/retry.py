"""When to retry a failed request, how long to wait, and how a wait is shown.

The policy is openai-python's (see REFERENCE.md), with two changes a chat user needs:
- **A wait is visible and can be stopped.** Before each wait the backend yields a
  `Notice` (`HTTP 503 — retrying in 1.0 s (1/2)`), which the view shows dimmed; the wait
  is a plain sleep on the main thread, so Ctrl-C ends it at once and the message stays
  for /retry.
- **A long `Retry-After` is reported, not waited.** A server asking for more than
  60 s gets an error line saying how long ("the server asks to wait 120 s"); sitting
  silently through two minutes looks like a hang.

What is retried: 408, 409, 429 and any 5xx (unless `x-should-retry` says otherwise),
and a connection that failed before the request was sent (refused, reset, DNS, connect
timeout). Never: a request whose headers did not come back in time (the server may be
working on it; trying again would only multiply the wait), a TLS failure, or a reply
that has started to stream.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from typing import Any

from chatrepl.core.errors import ApiError
from chatrepl.core.messages import Notice

RETRY_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 60.0  # seconds: a longer wait asked for is reported instead


def retry_after(headers: Any, *, now: Callable[[], float] = time.time) -> float | None:
    """The wait the server asks for (`retry-after-ms`, then `Retry-After` in seconds or as
    an HTTP date), or None."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return _finite(float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return _finite(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - now()


def _finite(value: float) -> float | None:
    return value if value == value and abs(value) != float("inf") else None


def retry_delay(attempt: int, headers: Any, *, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (0-based): the server's hint, or backoff."""
    hinted = retry_after(headers)
    if hinted is not None and 0 < hinted <= MAX_RETRY_AFTER:
        return hinted
    return min(0.5 * 2.0**attempt, 8.0) * (1 - 0.25 * rand())


def should_retry(status: int, headers: Any) -> bool:
    """Whether a failed status is worth another attempt (the server's `x-should-retry` wins)."""
    hint = (headers.get("x-should-retry") or "").strip().lower() if headers is not None else ""
    if hint in {"true", "false"}:
        return hint == "true"
    return retryable_status(status)


def retryable_status(status: int) -> bool:
    """Statuses that may succeed if the same request is sent again later."""
    return status in RETRY_STATUSES or status >= 500


def asks_too_long(headers: Any) -> float | None:
    """The wait the server asks for, when it is longer than we wait on our own."""
    hinted = retry_after(headers)
    return hinted if hinted is not None and hinted > MAX_RETRY_AFTER else None


def waiting(what: str, delay: float, attempt: int, retries: int) -> Notice:
    """The line shown before a wait: `HTTP 503 — retrying in 1.0 s (1/2)`."""
    return Notice(f"{what} — retrying in {delay:.1f} s ({attempt}/{retries})")


def with_wait_hint(error: ApiError, headers: Any) -> ApiError:
    """The error, saying how long the server asks to wait when that is too long to wait."""
    hinted = asks_too_long(headers)
    if hinted is None:
        return error
    return ApiError(
        f"{error}; the server asks to wait {hinted:.0f} s",
        status=error.status,
        retryable=error.retryable,
        retry_after=hinted,
    )
