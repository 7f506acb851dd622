"""The chunked body undone a whole read at a time: the bytes http.client would give, cut
at any points; its errors; and the real backend on it, reusing its connection."""

from __future__ import annotations

import io
import itertools
from http.client import HTTPResponse, IncompleteRead

import pytest
import requests
import urllib3.exceptions
from fakeserver import FakeServer, Reply
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from chatrepl.adapters.chunked import (
    ChunkedDecoder,
    DirectBody,
    _whole_chunks,
    direct_body,
    direct_reads,
)
from chatrepl.adapters.http import HttpBackend
from chatrepl.core.messages import TextDelta
from chatrepl.core.settings import Settings


def http_client_body(raw: bytes) -> bytes:
    """What http.client makes of a chunked body."""

    class Sock:
        def makefile(self, *args: object, **kwargs: object) -> io.BytesIO:
            return io.BytesIO(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + raw)

    response = HTTPResponse(Sock())  # type: ignore[arg-type]
    response.begin()
    return response.read()


@st.composite
def chunked_bodies(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A chunked body (sizes in either case, extensions, trailers) and what it carries."""
    pieces = draw(st.lists(st.binary(min_size=1, max_size=70), max_size=8))
    raw = b""
    for piece in pieces:
        size = b"%x" % len(piece)
        size = size.upper() if draw(st.booleans()) else size
        raw += size + draw(st.sampled_from([b"", b";ext=1", b"; name"])) + b"\r\n"
        raw += piece + b"\r\n"
    raw += b"0\r\n" + draw(st.sampled_from([b"", b"X-Trailer: 1\r\n"])) + b"\r\n"
    return raw, b"".join(pieces)


@fuzz_settings
@given(chunked_bodies(), st.data())
def test_any_cutting_gives_what_http_client_gives(
    body: tuple[bytes, bytes], data: st.DataObject
) -> None:
    raw, carried = body
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=10)))
    decoder = ChunkedDecoder()
    out = b"".join(decoder.feed(raw[a:b]) for a, b in itertools.pairwise([0, *cuts, len(raw)]))
    assert decoder.done
    assert out == carried == http_client_body(raw)
    assert decoder.feed(b"more") == b""  # nothing after the last chunk is body


# Data that looks like framing: CRLFs, hex between them, a whole size line or last chunk.
LOOK_ALIKES = st.sampled_from([b"\r\n", b"\r\n5\r\n", b"\r\n0\r\n\r\n", b"a\r\n", b"\r", b"\n"])


@st.composite
def framed_bodies(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A chunked body, mostly framed plainly (what a whole read is taken in at once),
    whose data may look like framing; and a mask of which of its bytes are data."""
    raw, mask = b"", b""
    for _ in range(draw(st.integers(0, 12))):
        parts = st.one_of(st.binary(min_size=1, max_size=20), LOOK_ALIKES)
        piece = b"".join(draw(st.lists(parts, min_size=1, max_size=4)))
        size = b"%x" % len(piece)
        line = draw(st.sampled_from([size, size, size, size.upper(), b"0" + size, size + b";x"]))
        raw += line + b"\r\n" + piece + b"\r\n"
        mask += b"-" * (len(line) + 2) + b"d" * len(piece) + b"--"
    end = b"0\r\n" + draw(st.sampled_from([b"", b"X-Trailer: 1\r\n"])) + b"\r\n"
    return raw + end, mask + b"-" * len(end)


@fuzz_settings
@given(framed_bodies(), st.data())
def test_each_read_gives_exactly_the_data_bytes_it_holds(
    body: tuple[bytes, bytes], data: st.DataObject
) -> None:
    raw, mask = body
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=10)))
    decoder = ChunkedDecoder()
    for a, b in itertools.pairwise([0, *cuts, len(raw)]):
        pairs = zip(raw[a:b], mask[a:b], strict=True)
        held = bytes(byte for byte, kind in pairs if kind == ord("d"))
        assert decoder.feed(raw[a:b]) == held  # as soon as it arrives, no more, no less
    assert decoder.done


def test_plain_chunks_are_taken_in_one_step_and_look_alikes_are_not() -> None:
    out: list[bytes] = []
    body = b"3\r\nabc\r\nA\r\n0123456789\r\n2\r\nde"
    assert _whole_chunks(body, 0, out) == body.index(b"2\r\nde")  # the last: chunk by chunk
    assert out == [b"abc", b"0123456789"]
    for framing in [
        b"4\r\na\r\nb\r\n1\r\nc\r\n",  # a CRLF in the data: the pieces do not fit
        b"3;x\r\nabc\r\n1\r\nc\r\n",  # an extension
        b"x3\r\nabc\r\n1\r\nc\r\n",  # not hex
        b"0\r\n\r\n",  # the last chunk
    ]:
        out.clear()
        assert _whole_chunks(framing, 0, out) == 0
        assert out == []


def test_a_size_that_is_not_hex_is_malformed_chunked_encoding() -> None:
    with pytest.raises(ValueError, match="chunk"):
        ChunkedDecoder().feed(b"zz\r\nnot a chunk\r\n")
    with pytest.raises(ValueError, match="chunk"):
        ChunkedDecoder().feed(b"-5\r\n")
    with pytest.raises(ValueError, match="chunk"):
        ChunkedDecoder().feed(b"1" * 5000)  # no size line is that long


def test_a_body_that_ends_before_its_last_chunk_is_an_incomplete_read() -> None:
    reads = iter([b"5\r\nhel", b""])
    closed: list[bool] = []
    body = DirectBody(lambda size: next(reads), lambda: closed.append(True))
    assert body.read(64) == b"hel"
    with pytest.raises(urllib3.exceptions.ProtocolError) as caught:
        body.read(64)
    assert isinstance(caught.value.args[1], IncompleteRead)
    assert not closed  # only a complete body hands its connection back


def test_a_full_read_is_followed_at_once_and_a_short_one_is_spaced() -> None:
    waves = iter([b"400\r\n" + b"x" * 1024 + b"\r\n", b"3\r\nabc\r\n", b"0\r\n\r\n"])
    body = DirectBody(lambda size: next(waves), lambda: None)
    sleeps: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    got = list(direct_reads(body, size=1024, spacing=0.02, clock=lambda: now[0], sleep=sleep))
    assert got == [b"x" * 1024, b"abc"]
    assert sleeps == [0.02]  # none after the full read, one after the short one


def test_the_backend_reads_chunked_replies_directly_and_keeps_its_connection(
    fake_server: FakeServer,
) -> None:
    text = "".join(f"w{n:03d} " for n in range(300))
    backend = HttpBackend(Settings(url=fake_server.url, timeout=10))
    for _ in range(3):
        fake_server.enqueue(Reply.text(text, chunk_size=3))
        deltas = backend.stream({"model": "m", "messages": [], "stream": True})
        assert "".join(e.text for e in deltas if isinstance(e, TextDelta)) == text
    assert fake_server.connections == 1


def test_only_a_plain_chunked_body_is_read_directly(fake_server: FakeServer) -> None:
    def raw_of(reply: Reply) -> object:
        fake_server.enqueue(reply)
        response = requests.post(
            fake_server.url + "/v1/chat/completions", json={"stream": True}, stream=True
        )
        return response.raw

    assert direct_body(raw_of(Reply.text("hi"))) is not None
    assert direct_body(raw_of(Reply.text("hi", chunked=False))) is None
    assert direct_body(raw_of(Reply.text("hi", gzip=True))) is None
    assert direct_body(object()) is None
