"""Reading a streamed body with as few wake-ups as the screen needs: `gathered_reads`.

A server flushes every token as its own HTTP chunk, and `raw.read1()` returns one chunk
per call, so a reader that keeps up wakes once per token: at 1,000 tokens a second that
costs more CPU (~90 µs a wake-up here, between the kernel, urllib3 and http.client)
than rendering the reply. Instead, after each read what can be read without waiting
joins it (for `spacing` at most, so a server faster than this loop cannot keep it
gathering), and reads are spaced `spacing` apart: the first bytes come at once, later
ones at most about `spacing` late (the screen redraws every 50 ms anyway), and a slow
trickle costs one wake-up per `spacing`, not one per token. A reader that is behind
(the data keeps coming faster than it is used) never sleeps.

Whether bytes are waiting is asked of http.client's buffered reader with the socket
briefly non-blocking; where that cannot be done (another transport) nothing is
gathered or spaced, and reading is what plain `read1()` does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

GATHER_LIMIT = 1 << 18  # bytes: one gathered read is at most about this big
FIRST_BYTES = 1024  # read as they come: the role chunk would hold the first token back


def waiting_bytes(raw: Any) -> Callable[[], bool] | None:
    """A check that a read of `raw` (urllib3's response) would not wait, if one can be had."""
    try:
        response = raw._fp  # http.client's response
        peek = response.fp.peek  # its BufferedReader over the socket
        sock = raw._connection.sock
        get_timeout, set_timeout = sock.gettimeout, sock.settimeout
        response.chunked, response.chunk_left  # noqa: B018 - both must exist
    except AttributeError:
        return None

    def ready() -> bool:
        timeout = get_timeout()
        set_timeout(0.0)
        try:
            waiting = peek(1)  # all that is buffered, or what one read without waiting got
        except (OSError, ValueError):  # nothing there (SSLWantReadError is an OSError)
            return False
        finally:
            set_timeout(timeout)
        left = response.chunk_left
        if not response.chunked or left:
            return bool(waiting)
        return _next_chunk_started(waiting, after_crlf=left == 0)

    return ready


def _next_chunk_started(waiting: bytes, *, after_crlf: bool) -> bool:
    """Whether the next chunk's size line and a first byte of it are all in `waiting`.

    Between chunks http.client reads the last chunk's CRLF, then the size line, and waits
    for whatever of them is missing: only with all of it here does a read not wait.
    """
    start = 2 if after_crlf else 0
    end = waiting.find(b"\n", start)
    if end < 0:
        return False
    try:
        size = int(waiting[start:end].split(b";", 1)[0], 16)
    except ValueError:
        return False
    return size > 0 and len(waiting) > end + 1  # the last chunk: let a plain read end it


def gathered_reads(
    read1: Callable[[int], bytes],
    ready: Callable[[], bool] | None,
    *,
    size: int,
    spacing: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[bytes]:
    """The body's bytes as they arrive, each read joined with what was already waiting."""
    last = None
    taken = 0  # bytes so far: the first kilobyte (the role, the first tokens) comes as is
    while True:
        if ready is not None and last is not None and taken >= FIRST_BYTES:
            wait = last + spacing - clock()
            if wait > 0:
                sleep(wait)
        data = read1(size)
        if not data:
            return
        started = clock()
        if ready is not None and last is not None and taken >= FIRST_BYTES:
            # Gather for `spacing` at most: a server faster than this loop would
            # otherwise keep it gathering, and the screen waiting, to the end.
            parts, total = [data], len(data)
            while total < GATHER_LIMIT and clock() - started < spacing and ready():
                more = read1(size)
                if not more:
                    yield b"".join(parts)
                    return
                parts.append(more)
                total += len(more)
            if len(parts) > 1:
                data = b"".join(parts)
        last = started
        taken += len(data)
        yield data
