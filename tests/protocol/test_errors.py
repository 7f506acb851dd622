"""Error bodies of every shape become one readable line: never raw JSON, never markup."""

from __future__ import annotations

import json

import pytest

from chatrepl.protocol.errors import (
    MAX_LINE,
    error_message,
    error_status,
    error_text,
    html_text,
    reason_phrase,
)

DOUBLE = json.dumps(
    {
        "error": json.dumps(
            {
                "code": 400,
                "message": "unrecognized request argument supplied: stream_options",
                "type": "invalid_request",
            }
        )
    }
)

CLOUDFLARE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>502 Bad Gateway | example.com</title>
<style>body { color: red }</style><script>var x = "<b>";</script></head>
<body><h1>Bad gateway</h1><p>The web server reported a bad gateway error.</p></body></html>"""

NO_TITLE = """<html><head><script>alert("x")</script></head>
<body>
  <h1>Service &amp; Unavailable</h1>
  <p>Try again   later.</p>
</body></html>"""


@pytest.mark.parametrize(
    ("body", "status", "line"),
    [
        (json.dumps({"error": {"code": 400, "message": "bad", "type": "x"}}), 400, "bad"),
        (DOUBLE, 400, "unrecognized request argument supplied: stream_options"),
        (json.dumps({"error": "plain words"}), 500, "plain words"),
        (json.dumps({"object": "error", "message": "overloaded", "code": 503}), 503, "overloaded"),
        (json.dumps({"detail": "Not authenticated"}), 401, "Not authenticated"),
        (
            json.dumps(
                {"detail": [{"loc": ["body", "temperature"], "msg": "must be <= 1", "type": "v"}]}
            ),
            422,
            "temperature: must be <= 1",
        ),
        (json.dumps({"message": "Forbidden"}), 403, "Forbidden"),
        (CLOUDFLARE, 502, "502 Bad Gateway | example.com"),
        (NO_TITLE, 503, "Service & Unavailable Try again later."),
        ("upstream connect error or disconnect/reset before headers", 503, None),
        ("", 502, "Bad Gateway"),
        ("  \n", 429, "Too Many Requests"),
        (b"", 599, "an error with no explanation"),
        (json.dumps({"unexpected": {"shape": 1}}), 500, "Internal Server Error"),
        ('{"error": not json', 500, '{"error": not json'),
    ],
)
def test_every_shape_is_one_readable_line(body: str | bytes, status: int, line: str | None) -> None:
    got = error_text(body, status=status)
    assert got == (line if line is not None else body)
    assert "\n" not in got
    assert "<" not in got or "<=" in got  # never markup


def test_html_is_recognised_by_its_content_type_too() -> None:
    page = "  <div>Gateway Timeout</div>"
    assert error_text(page, status=504, content_type="text/html; charset=utf-8") == (
        "Gateway Timeout"
    )


def test_a_long_body_is_cut_to_one_line() -> None:
    got = error_text("word " * 500, status=500)
    assert len(got) == MAX_LINE and got.endswith("…")


def test_clean_runs_before_cutting_so_a_secret_cannot_survive_half_cut() -> None:
    secret = "inf-" + "s" * 60
    body = "x" * (MAX_LINE - 10) + secret
    got = error_text(body, status=500, clean=lambda t: t.replace(secret, "inf-…ssss"))
    assert "sssssssss" not in got


def test_error_status_reads_nested_double_encoded_and_flat_codes() -> None:
    assert error_status(json.loads(DOUBLE)) == 400
    assert error_status({"object": "error", "code": 503}) == 503
    assert error_status({"error": {"code": "rate_limited"}}) is None
    assert error_status({"error": {"code": True}}) is None
    assert error_status("text") is None


def test_triple_encoding_is_unwrapped_but_nothing_loops() -> None:
    inner = json.dumps({"message": "deep"})
    assert error_message({"error": json.dumps({"error": inner})}) == "deep"
    assert error_message({"error": {"error": {"error": {"error": {"error": {}}}}}}) == (
        "the server gave no error message"
    )


def test_html_text_of_a_broken_page() -> None:
    assert html_text("<html><title>Oops") == "Oops"
    assert html_text("<p>") is None


def test_reason_phrase() -> None:
    assert reason_phrase(404) == "Not Found"
