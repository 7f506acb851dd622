"""Rate-limit headers: parsed, and the wait a 429 without Retry-After should take."""

from __future__ import annotations

import pytest

from chatrepl.core.messages import RateLimits
from chatrepl.protocol.ratelimit import parse_reset, rate_limits, reset_wait

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("51s", 51.0),
        ("1m30s", 90.0),
        ("250ms", 0.25),
        ("6m0s", 360.0),
        ("1h2m3.5s", 3723.5),
        ("0.5s", 0.5),
        (".5s", 0.5),
        ("12", 12.0),
        ("1.5", 1.5),
        (" 7s ", 7.0),
        ("20us", 2e-5),
        (str(NOW + 30), 30.0),  # a Unix time
        (str(NOW - 30), 0.0),  # already past
        ("", None),
        (None, None),
        ("soon", None),
        ("5x", None),
        ("s", None),
        ("1m 30s", None),
        ("-3", None),
        ("nan", None),
    ],
)
def test_parse_reset(text: str | None, seconds: float | None) -> None:
    got = parse_reset(text, now=NOW)
    assert got == pytest.approx(seconds) if seconds is not None else got is None


HEROKU = {
    "x-ratelimit-limit-requests": "150",
    "x-ratelimit-remaining-requests": "149",
    "x-ratelimit-reset-requests": "51s",
    "x-ratelimit-limit-tokens": "800000",
    "x-ratelimit-remaining-tokens": "799000",
    "x-ratelimit-reset-tokens": "1m0s",
}


def test_rate_limits_from_headers() -> None:
    assert rate_limits(HEROKU) == RateLimits(150, 149, "51s", 800000, 799000, "1m0s")
    assert rate_limits({"content-type": "text/event-stream"}) is None
    assert rate_limits({"x-ratelimit-remaining-requests": "lots"}) is None
    partial = rate_limits({"x-ratelimit-remaining-tokens": "5"})
    assert partial == RateLimits(remaining_tokens=5)


@pytest.mark.parametrize(
    ("changes", "wait"),
    [
        ({}, (51.0, "x-ratelimit-reset-requests")),
        ({"x-ratelimit-remaining-requests": "0"}, (51.0, "x-ratelimit-reset-requests")),
        ({"x-ratelimit-remaining-tokens": "0"}, (60.0, "x-ratelimit-reset-tokens")),
        (
            {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "bad"},
            (51.0, "x-ratelimit-reset-requests"),
        ),
        ({"x-ratelimit-reset-requests": ""}, (60.0, "x-ratelimit-reset-tokens")),
    ],
)
def test_reset_wait_prefers_the_exhausted_limit(changes: dict, wait: tuple) -> None:
    assert reset_wait(rate_limits({**HEROKU, **changes}), now=NOW) == wait


def test_reset_wait_without_any_reset() -> None:
    assert reset_wait(None, now=NOW) is None
    assert reset_wait(RateLimits(remaining_requests=0), now=NOW) is None
