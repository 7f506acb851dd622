"""Redaction: the key whole or in pieces, URL credentials and Authorization values."""

from __future__ import annotations

import pytest
from fuzzing import fuzz_settings
from hypothesis import example, given
from hypothesis import strategies as st

from chatrepl.core.redact import (
    MASK,
    MIN_RUN,
    Redactor,
    StreamRedactor,
    redact_bytes,
    redact_chunks,
)

KEY = "inf-0123456789abcdefghijklmnopqrstuvwxyzABCD"  # 44 characters, like Heroku's


def runs_of(text: str, secret: str, size: int = MIN_RUN) -> list[str]:
    """Every `size`-character piece of `secret` that occurs in `text`."""
    return [
        secret[i : i + size] for i in range(len(secret) - size + 1) if secret[i : i + size] in text
    ]


@pytest.fixture
def redact() -> Redactor:
    return Redactor([KEY])


def test_the_whole_key_is_masked(redact: Redactor) -> None:
    assert redact(f"bad key {KEY} here") == f"bad key {MASK} here"


@pytest.mark.parametrize(("start", "end"), [(0, 37), (5, 13), (30, 44), (0, 8), (12, 40)])
def test_any_run_of_eight_or_more_characters_is_masked(
    redact: Redactor, start: int, end: int
) -> None:
    text = f"<html>{'x' * 10} {KEY[start:end]}</html>"
    shown = redact(text)
    assert runs_of(shown, KEY) == []
    assert shown == f"<html>{'x' * 10} {MASK}</html>"


def test_seven_characters_are_not_a_key(redact: Redactor) -> None:
    assert redact(f"x {KEY[3:10]} y") == f"x {KEY[3:10]} y"


def test_a_cut_snippet_masked_before_truncation_shows_nothing_of_the_key(redact: Redactor) -> None:
    body = "x" * 117 + "Authorization: Bearer " + KEY
    # masking first, then cutting to 160, is what the backend does
    assert runs_of(redact(body)[:160], KEY, 4) == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("see http://user:s3cret-pass@host.example/v1", "see http://***@host.example/v1"),
        ("HTTPS://bob@h.example", "HTTPS://***@h.example"),
        ("Authorization: Bearer abc.def-123", "Authorization: Bearer ***"),
        ('{"authorization": "Basic dXNlcjpwYXNz"}', '{"authorization": "Basic ***"}'),
        ("authorization=tok_123456", "authorization=***"),
        ("got bearer sk_live_1234567890 back", "got bearer *** back"),
        ("a bearer of good news", "a bearer of good news"),  # no token shape: left alone
        ("mail bob@example.com", "mail bob@example.com"),  # not a URL
    ],
)
def test_url_credentials_and_authorization_values_are_masked(text: str, shown: str) -> None:
    assert Redactor()(text) == shown


def test_secrets_only_leaves_a_model_explaining_headers_alone(redact: Redactor) -> None:
    reply = "Send `Authorization: Bearer YOUR_KEY_HERE` with each request."
    assert redact.secrets_in(reply) == reply
    assert redact.secrets_in(f"echo {KEY}") == f"echo {MASK}"


def test_short_secrets_are_masked_only_whole() -> None:
    redact = Redactor(["abc12", "xy"])  # "xy" is too short to be anything but noise
    assert redact("key abc12 and xy") == f"key {MASK} and xy"


def test_several_secrets_each_masked() -> None:
    redact = Redactor([KEY, "hunter2-password"])
    assert redact(f"{KEY} and hunter2-password") == f"{MASK} and {MASK}"


@given(
    st.text(max_size=60),
    st.integers(0, len(KEY) - MIN_RUN),
    st.integers(MIN_RUN, len(KEY)),
    st.text(max_size=60),
)
def test_no_run_of_the_key_survives_in_any_text(
    before: str, start: int, size: int, after: str
) -> None:
    piece = KEY[start : start + size]
    shown = Redactor([KEY])(before + piece + after)
    assert runs_of(shown, KEY) == []


# Secrets and text from one small alphabet: runs of secret characters that are not a
# piece of a secret (the quick look lets them through to the full search), pieces of
# a secret with a character changed, a short whole secret, non-ASCII text.
ALPHABET = "abcdefgh-_0123XYZé "
SECRETS = st.lists(st.text(ALPHABET, min_size=4, max_size=14), min_size=1, max_size=3)


@pytest.mark.fuzz
@fuzz_settings
@given(SECRETS, st.data())
def test_the_quick_look_masks_what_the_full_search_masks(
    secrets: list[str], data: st.DataObject
) -> None:
    redact = Redactor(secrets)
    pieces = st.one_of(
        st.text(ALPHABET, max_size=12),
        st.sampled_from(secrets).flatmap(
            lambda s: st.tuples(st.integers(0, len(s)), st.integers(0, len(s))).map(
                lambda ij: s[min(ij) : max(ij)]
            )
        ),
    )
    text = "".join(data.draw(st.lists(pieces, max_size=8)))
    expected = redact._mask_runs(text)  # the general rule: every run, every whole secret
    for whole in redact._wholes:
        expected = expected.replace(whole, MASK)
    assert redact.secrets_in(text) == expected


PROSE = st.text(alphabet=" .,;!?()\néüß", max_size=40)  # nothing that occurs in the key


@given(st.lists(st.integers(1, 20), min_size=1, max_size=30), PROSE)
@example(cuts=[1, 1, 13, 20, 20, 1, 1], prose="")  # found by CI's fuzz step: "inf" leaked
@example(cuts=[9, 1, 1], prose="")
def test_a_key_split_across_stream_pieces_is_still_masked(cuts: list[int], prose: str) -> None:
    text = f"{prose} Bearer {KEY} {prose} {KEY[:20]}{prose}"
    pieces, rest = [], text
    for cut in cuts:
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    stream = StreamRedactor(Redactor([KEY]))
    shown = "".join(stream.feed(p) for p in pieces) + stream.flush()
    # at most the one character a piece may end on shows next to each mask
    assert runs_of(shown, KEY, 3) == []
    assert shown.count(MASK) == 2 and shown.endswith(prose)


def test_a_key_streamed_one_character_at_a_time_shows_at_most_one_of_them() -> None:
    stream = StreamRedactor(Redactor([KEY]))
    shown = "".join(stream.feed(c) for c in f"key: {KEY}.") + stream.flush()
    assert shown == f"key: {KEY[0]}{MASK}."  # the first letter alone gives nothing away


def test_the_stream_holds_back_only_what_could_start_the_key() -> None:
    stream = StreamRedactor(Redactor([KEY]))
    assert stream.feed("Hello, world") == "Hello, world"  # "d" alone is no key: no delay
    assert stream.feed(" inf-0123") == " "  # could be the key: wait
    assert stream.feed("456789abcdef!") == f"{MASK}!"
    assert stream.flush() == ""


def test_bodies_in_chunks_keep_their_bytes_and_lose_the_key() -> None:
    body = 'data: {"x": "é ' + KEY + '"}\n\n'
    raw = body.encode() + b"\xff\xfe"  # invalid UTF-8 passes through untouched
    chunks = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    out = b"".join(redact_chunks(chunks, Redactor([KEY])))
    assert out == ('data: {"x": "é ' + MASK + '"}\n\n').encode() + b"\xff\xfe"
    assert redact_bytes(raw, Redactor([KEY])) == out
    assert b"".join(redact_chunks(chunks, Redactor())) == raw  # no secret: bytes as they were
