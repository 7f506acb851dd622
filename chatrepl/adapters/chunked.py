"""Reading a chunked body a whole socket read at a time: `ChunkedDecoder`, `direct_reads`.

A server that flushes every token sends it as its own HTTP chunk, and http.client's
`read1()` returns one chunk per call: a fast 64 KB reply is 16,000 calls through
urllib3 and http.client (~8 µs each), most of the client's network CPU. Here the bytes
come straight from http.client's buffered socket reader, as much as has arrived, and
the chunk framing of the whole buffer is undone in one pass: split at its CRLFs, and
when every other piece is the hex size of the piece after it (unless a chunk's data
holds a CRLF, or a size line an extension) the data is taken as it is, without a
Python step per chunk; otherwise, and for the last chunk of a read, the framing is
undone a chunk at a time.

What http.client does is kept: a chunk's size line may carry extensions (`;…`), the two
bytes after a chunk's data are skipped unchecked, trailers after the last chunk are read
and dropped, a size that is not hex is a `ValueError`, and a body that ends before its
last chunk is an `IncompleteRead` (inside urllib3's `ProtocolError`, as urllib3 raises
it). When the last chunk has been read, http.client's response is closed as it would
close it, so urllib3 hands the connection back to its pool.

Reads are spaced as in `reads.gathered_reads` (the first kilobyte as it comes, then
at most one read per `spacing`), but a read that filled the buffer is followed at once:
more is waiting, and a pause would only leave the screen without text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from http.client import IncompleteRead
from typing import Any

import urllib3.exceptions

from chatrepl.adapters.reads import FIRST_BYTES

MAX_SIZE_LINE = 4096  # bytes: a chunk-size line longer than this is not one


class ChunkedDecoder:
    """HTTP/1.1 chunked transfer coding undone incrementally: `feed(bytes) -> bytes`."""

    __slots__ = ("_buffer", "_crlf", "_left", "_trailer", "done")

    def __init__(self) -> None:
        self._buffer = b""  # an unfinished size or trailer line
        self._left = 0  # data bytes of the current chunk still to come
        self._crlf = 0  # bytes of the CRLF after a chunk's data still to skip
        self._trailer = False  # the last chunk came: trailer lines until a blank one
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """The body bytes in `data` (a read of the raw connection)."""
        if self.done:
            return b""
        buffer = self._buffer + data if self._buffer else data
        size = len(buffer)
        out: list[bytes] = []
        append, find = out.append, buffer.find
        pos = 0
        if self._left:  # the rest of a chunk's data
            pos = min(self._left, size)
            append(buffer[:pos])
            self._left -= pos
            if not self._left:
                self._crlf = 2
        if self._crlf:  # the CRLF after a chunk's data, unchecked as http.client does
            skip = min(self._crlf, size - pos)
            self._crlf -= skip
            pos += skip
        if not (self._trailer or self._left or self._crlf):
            pos = _whole_chunks(buffer, pos, out)
        while not (self._trailer or self._left or self._crlf):  # whole chunks
            newline = find(b"\n", pos)
            if newline < 0:
                break
            chunk = _chunk_size(buffer[pos:newline])
            pos = newline + 1
            if not chunk:
                self._trailer = True
                break
            end = pos + chunk
            if end + 2 > size:  # it goes on in the next read
                append(buffer[pos:end])
                self._left = max(0, end - size)
                self._crlf = 2 - max(0, size - end) if not self._left else 0
                pos = size
                break
            append(buffer[pos:end])
            pos = end + 2
        while self._trailer:  # trailer lines, up to a blank one
            newline = find(b"\n", pos)
            if newline < 0:
                break
            line = buffer[pos:newline]
            pos = newline + 1
            if line in (b"", b"\r"):
                self.done = True
                break
        rest = b"" if self.done or self._left or self._crlf else buffer[pos:]
        if len(rest) > MAX_SIZE_LINE:
            raise ValueError("malformed chunked encoding: a chunk-size line too long")
        self._buffer = rest
        if not out:
            return b""
        return out[0] if len(out) == 1 else b"".join(out)


def _whole_chunks(buffer: bytes, pos: int, out: list[bytes]) -> int:
    """Take the data of the whole chunks from the size line at `pos` on, when their
    framing is plain (bare hex sizes, each chunk as long as its line says, none empty);
    return where the chunk-at-a-time loop goes on (`pos` when nothing was taken).

    Splitting at every CRLF also splits a chunk whose data holds one, but then the
    pieces are not a size and data of that size, and nothing is taken. When every size
    is the hex of the data after it, the framing really is so: a size line ends at its
    CRLF, the data is that many bytes, the two after it are skipped, and the next size
    line starts there.
    """
    parts = (buffer[pos:] if pos else buffer).split(b"\r\n")  # [size, data, size, …]
    count = (len(parts) - 1) // 2  # pairs whose data a CRLF follows
    datas = parts[1 : 2 * count : 2]
    if not all(datas):  # an empty one: the last chunk, or no plain framing
        count = datas.index(b"")
        del datas[count:]
    if not count:
        return pos
    sizes = parts[0 : 2 * count : 2]
    lengths = tuple(map(len, datas))
    # One comparison for all the size lines (none can hold the separator: there are
    # as many separators on each side), case as http.client takes it.
    if b"%x " * count % lengths != b" ".join(sizes).lower() + b" ":
        return pos
    out += datas
    return pos + sum(map(len, sizes)) + sum(lengths) + 4 * count


def _chunk_size(line: bytes) -> int:
    try:
        size = int(line, 16)  # int() ignores the CR, as http.client's does
    except ValueError:
        try:
            size = int(line.split(b";", 1)[0], 16)  # an extension
        except ValueError:
            raise ValueError(f"malformed chunk size line {line[:40]!r}") from None
    if size < 0:
        raise ValueError(f"malformed chunk size line {line[:40]!r}")
    return size


class DirectBody:
    """A chunked body read from http.client's socket reader, bypassing its decoding."""

    def __init__(self, read1: Callable[[int], bytes], close: Callable[[], None]) -> None:
        self._read1 = read1
        self._close = close
        self.decoder = ChunkedDecoder()

    def read(self, size: int) -> bytes:
        """The body bytes of one read of the connection; b"" once the body has ended."""
        decoder = self.decoder
        while not decoder.done:
            data = self._read1(size)
            if not data:
                raise urllib3.exceptions.ProtocolError(
                    "Connection broken: the body ended before its last chunk",
                    IncompleteRead(b""),
                )
            body = decoder.feed(data)
            if decoder.done:
                self._close()  # as http.client does: urllib3 then reuses the connection
            if body:
                return body
        return b""


def direct_body(raw: Any) -> DirectBody | None:
    """A `DirectBody` for urllib3's response `raw`, when its body is chunked, not yet read
    and not compressed; None otherwise (it is read the ordinary way)."""
    try:
        response = raw._fp  # http.client's response
        fp = response.fp
        if not response.chunked or response.chunk_left is not None or fp is None:
            return None
        if raw.headers.get("content-encoding", "identity").lower() != "identity":
            return None
        if raw._has_decoded_content or len(raw._decoded_buffer):
            return None
        read1, close = fp.read1, response._close_conn
    except AttributeError:
        return None
    return DirectBody(read1, close)


def direct_reads(
    body: DirectBody,
    *,
    size: int,
    spacing: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[bytes]:
    """The body's bytes as they arrive, at most one read per `spacing` while reads keep
    up with the stream (a read that came back full is followed at once)."""
    last = None
    taken = 0
    full = False
    while True:
        if last is not None and taken >= FIRST_BYTES and not full:
            wait = last + spacing - clock()
            if wait > 0:
                sleep(wait)
        last = clock()
        data = body.read(size)
        if not data:
            return
        full = len(data) >= size // 2
        taken += len(data)
        yield data
