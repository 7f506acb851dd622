"""gathered_reads: one read takes everything already waiting; reads that keep up with a
slow stream are spaced, so a token-by-token trickle costs one wake-up per spacing."""

from __future__ import annotations

from collections import deque

import pytest
from fakeserver import FakeServer, Reply

from chatrepl.adapters import reads as reads_module
from chatrepl.adapters.http import HttpBackend
from chatrepl.adapters.reads import _next_chunk_started, gathered_reads, waiting_bytes
from chatrepl.core.messages import TextDelta
from chatrepl.core.settings import Settings


class Source:
    """Chunks arriving in waves: a wave is what is there when a read starts."""

    def __init__(self, waves: list[list[bytes]]) -> None:
        self.waves = deque(deque(wave) for wave in waves)
        self.now = 0.0
        self.sleeps: list[float] = []

    def read1(self, size: int) -> bytes:
        while self.waves and not self.waves[0]:
            self.waves.popleft()  # a read that waits: the next wave has come
        return self.waves[0].popleft() if self.waves else b""

    def ready(self) -> bool:
        return bool(self.waves and self.waves[0])

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_first_kilobyte(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reads_module, "FIRST_BYTES", 0)  # these streams are tiny


def test_the_first_kilobyte_is_read_as_it_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reads_module, "FIRST_BYTES", 2)  # a kilobyte, scaled down
    source = Source([[b"a"], [b"b", b"c"], [b"d"], [b"e"]])
    assert reads(source) == [b"a", b"b", b"c", b"d", b"e"]  # nothing gathered early on
    assert len(source.sleeps) == 4  # none before "b": only once 2 bytes have come


def reads(source: Source, *, ready: bool = True) -> list[bytes]:
    return list(
        gathered_reads(
            source.read1,
            source.ready if ready else None,
            size=64,
            spacing=0.01,
            clock=lambda: source.now,
            sleep=source.sleep,
        )
    )


def test_what_is_waiting_joins_the_read_but_the_first_bytes_go_at_once() -> None:
    source = Source([[b"a", b"b", b"c"], [b"d"], [b"e", b"f"]])
    assert reads(source) == [b"a", b"bc", b"d", b"ef"]


def test_gathering_stops_after_the_spacing_even_if_more_keeps_coming() -> None:
    source = Source([[b"a"], [b"b", *[b"x"] * 50]])
    ticking = iter(range(1000))
    got = list(
        gathered_reads(
            source.read1,
            source.ready,
            size=64,
            spacing=0.01,
            clock=lambda: next(ticking) * 0.001,  # each look at the clock: 1 ms later
            sleep=source.sleep,
        )
    )
    assert got[0] == b"a"
    assert len(got) > 3 and all(len(chunk) <= 12 for chunk in got)  # not all 51 at once
    assert b"".join(got) == b"ab" + b"x" * 50


def test_reads_that_keep_up_are_spaced_but_the_first_is_not() -> None:
    source = Source([[b"a"], [b"b"], [b"c"]])
    assert reads(source) == [b"a", b"b", b"c"]
    # Before every read but the first (the last one finds the end of the body).
    assert source.sleeps == pytest.approx([0.01] * 3)


def test_without_a_way_to_look_ahead_reads_are_plain() -> None:
    source = Source([[b"a", b"b"], [b"c"]])
    assert reads(source, ready=False) == [b"a", b"b", b"c"]
    assert source.sleeps == []
    assert waiting_bytes(object()) is None


def test_a_chunk_counts_as_waiting_only_once_its_size_line_and_a_byte_are_here() -> None:
    assert _next_chunk_started(b"\r\n5\r\nhello", after_crlf=True)
    assert not _next_chunk_started(b"\r\n5\r\n", after_crlf=True)  # no data yet
    assert not _next_chunk_started(b"\r\n5", after_crlf=True)  # size line cut
    assert not _next_chunk_started(b"\r", after_crlf=True)
    assert not _next_chunk_started(b"0\r\n\r\n", after_crlf=False)  # the end: read plainly
    assert _next_chunk_started(b"1a;ext=1\r\nx", after_crlf=False)


def test_a_burst_of_events_reaches_the_backend_in_few_reads(fake_server: FakeServer) -> None:
    text = "".join(f"w{n:03d} " for n in range(200))
    fake_server.enqueue(Reply.text(text, chunk_size=5))  # 200 events, each its own chunk
    backend = HttpBackend(Settings(url=fake_server.url, timeout=10))
    deltas = [
        e
        for e in backend.stream({"model": "m", "messages": [], "stream": True})
        if isinstance(e, TextDelta)
    ]
    assert "".join(d.text for d in deltas) == text
    assert len(deltas) < 20  # one delta per read, not per event
