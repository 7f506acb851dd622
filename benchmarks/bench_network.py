"""Network benchmarks for HttpBackend against tests/fakeserver.py.

Run: python benchmarks/bench_network.py

1. First-token latency: from the server flushing the first content event to HttpBackend
   yielding it, for chunked and close-delimited streams, next to requests' iter_lines()
   on the close-delimited one (which holds lines back). Floor: median within 5 ms.
2. Connection reuse: TCP connections accepted over 10 turns. Floor: 1.
3. Client CPU per SSE event over a 20,000-event stream, with the server in a subprocess
   so its CPU is not counted; compared with a bare `raw.read1()` + split loop.
   Floor: 20 µs per event.
Exits 1 if a floor fails.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakeserver import FakeServer, Reply, sse_chunks  # noqa: E402

from chatrepl.adapters.http import HttpBackend  # noqa: E402
from chatrepl.core.messages import TextDelta  # noqa: E402
from chatrepl.core.settings import Secret, Settings  # noqa: E402

LATENCY_FLOOR_MS = 5.0
CPU_FLOOR_US = 20.0
# a key, as in real use: every body is then redacted as it is read (core.redact)
KEY = Secret("inf-7Gq2WmZ9xR4kLp0sVt8cYh3NbJ6dFe1uQ5oT", "INFERENCE_KEY")  # random-looking


def settings_for(url: str, timeout: float) -> Settings:
    return Settings(url=url, key=KEY, timeout=timeout)


EVENTS = 20_000
PAYLOAD = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "stream": True}

results: list[bool] = []


def verdict(ok: bool) -> str:
    """Record and format one floor's outcome."""
    results.append(ok)
    return "PASS" if ok else "FAIL"


# --- 1. first-token latency --------------------------------------------------------


GAP = 0.2  # seconds the server pauses after the first delta, as a model might


def latency_reply(*, chunked: bool) -> Reply:
    """The role chunk and the first delta, a pause, then the rest of the answer."""
    reply = Reply(chunks=sse_chunks("First token then more"), chunked=chunked, hold_after=2)
    threading.Timer(GAP, reply.release.set).start()
    return reply


def flushed_at(reply: Reply, index: int) -> float:
    """When the server flushed chunk `index`; it notes the time just after the write,
    and the client thread may wake up before the server thread gets to note it."""
    deadline = time.monotonic() + 1
    while len(reply.sent_at) <= index and time.monotonic() < deadline:
        time.sleep(0.0001)
    return reply.sent_at[index]


def backend_first_event(server: FakeServer, backend: HttpBackend, *, chunked: bool) -> float:
    """Seconds from the server flushing the first delta to HttpBackend yielding it."""
    reply = latency_reply(chunked=chunked)
    server.enqueue(reply)
    latency = None
    for event in backend.stream(PAYLOAD):
        if latency is None and isinstance(event, TextDelta):
            latency = time.monotonic() - flushed_at(reply, 1)
    if latency is None:
        raise RuntimeError("no text arrived")
    return latency


def iter_lines_first_event(server: FakeServer, session: requests.Session) -> float:
    """The same, reading with requests' iter_lines() on a close-delimited stream."""
    reply = latency_reply(chunked=False)
    server.enqueue(reply)
    url = server.url + "/v1/chat/completions"
    latency = None
    with session.post(url, json=PAYLOAD, stream=True, timeout=10) as response:
        for line in response.iter_lines():
            if latency is None and b'"Firs"' in line:
                latency = time.monotonic() - flushed_at(reply, 1)
    if latency is None:
        raise RuntimeError("no text arrived")
    return latency


def bench_latency(rounds: int = 10) -> None:
    print("1. first-token latency (server flush -> event in hand), ms")
    with FakeServer() as server:
        backend = HttpBackend(settings_for(server.url, 10))
        session = requests.Session()
        cases: list[tuple[str, Callable[[], float], bool]] = [
            (
                "HttpBackend, chunked",
                lambda: backend_first_event(server, backend, chunked=True),
                True,
            ),
            (
                "HttpBackend, close-delimited",
                lambda: backend_first_event(server, backend, chunked=False),
                True,
            ),
            (
                "requests iter_lines(), close-delimited",
                lambda: iter_lines_first_event(server, session),
                False,
            ),
        ]
        for name, measure, floored in cases:
            samples = [measure() * 1000 for _ in range(rounds)]
            median, worst = statistics.median(samples), max(samples)
            line = f"   {name:<40} median {median:7.2f}  max {worst:7.2f}"
            if floored:
                line += f"   floor {LATENCY_FLOOR_MS:g} ms: {verdict(median <= LATENCY_FLOOR_MS)}"
            else:
                line += f"   (for comparison; the server paused {GAP * 1000:g} ms)"
            print(line)
        backend.close()
        session.close()


# --- 2. connection reuse -----------------------------------------------------------


def bench_reuse(turns: int = 10) -> None:
    print("2. connection reuse")
    with FakeServer() as server, HttpBackend(settings_for(server.url, 10)) as backend:
        for turn in range(turns):
            payload = {**PAYLOAD, "messages": [{"role": "user", "content": f"turn {turn}"}]}
            list(backend.stream(payload))
        count = server.connections
    print(f"   {turns} turns -> {count} TCP connection(s)   floor 1: {verdict(count == 1)}")


# --- 3. client CPU per event ---------------------------------------------------------


def start_server_process(replies: list[dict[str, Any]]) -> tuple[subprocess.Popen[str], str]:
    """tests/fakeserver.py in its own process, so its CPU time is not ours."""
    script = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
    with script:
        json.dump({"replies": replies}, script)
    command = [sys.executable, str(ROOT / "tests" / "fakeserver.py"), "--script", script.name]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    Path(script.name).unlink()
    return process, url


def cpu_of(run: Callable[[], int]) -> tuple[float, int]:
    """Process CPU seconds spent by `run`, and the events it counted."""
    start = time.process_time()
    count = run()
    return time.process_time() - start, count


def bare_loop(session: requests.Session, url: str) -> int:
    """The least any client can do: read1 and split on blank lines."""
    count, buffer = 0, b""
    with session.post(url + "/v1/chat/completions", json=PAYLOAD, stream=True, timeout=30) as r:
        while data := r.raw.read1(65536, decode_content=True):
            parts = (buffer + data).split(b"\n\n")
            buffer = parts.pop()
            count += len(parts)
    return count


def backend_loop(backend: HttpBackend) -> int:
    """The SSE events HttpBackend read: each carries 2 characters, and the deltas of
    one read come out joined, so count characters, not deltas."""
    return sum(len(e.text) for e in backend.stream(PAYLOAD) if isinstance(e, TextDelta)) // 2


def bench_cpu(repeats: int = 3) -> None:
    print(f"3. client CPU per SSE event ({EVENTS:,} events, server in a subprocess), µs")
    modes = {"one event per write": 1, "64 events per write": 64}
    for mode, group in modes.items():
        reply = {"text": "ab" * EVENTS, "chunk_size": 2, "events_per_chunk": group}
        process, url = start_server_process([reply] * (3 * repeats))
        try:
            ours, plain, bare = measure_cpu(url, repeats)
        finally:
            process.terminate()
            process.wait(5)
        ok = verdict(ours <= CPU_FLOOR_US)
        print(
            f"   {mode:<20} HttpBackend {ours:6.2f} (no key to redact: {plain:5.2f})"
            f"   bare read1+split {bare:5.2f}   ratio {ours / bare:4.1f}x"
            f"   floor {CPU_FLOOR_US:g} µs: {ok}"
        )


def measure_cpu(url: str, repeats: int) -> tuple[float, float, float]:
    """Best-of-`repeats` CPU µs per event: HttpBackend with a key (so redacting), the
    same with no key (nothing to redact), then the bare loop, alternating."""
    keyless = Settings(url=url, timeout=30)
    with (
        requests.Session() as session,
        HttpBackend(settings_for(url, 30)) as backend,
        HttpBackend(keyless) as plain,
    ):
        runs: dict[str, list[float]] = {"ours": [], "plain": [], "bare": []}
        for _ in range(repeats):
            runs["bare"].append(_per_event(cpu_of(lambda: bare_loop(session, url))))
            runs["ours"].append(_per_event(cpu_of(lambda: backend_loop(backend))))
            runs["plain"].append(_per_event(cpu_of(lambda: backend_loop(plain))))
    return min(runs["ours"]), min(runs["plain"]), min(runs["bare"])


def _per_event(measured: tuple[float, int]) -> float:
    seconds, count = measured
    return seconds / max(count, 1) * 1e6


def main() -> int:
    """Run the three benchmarks; exit status 1 if any floor fails."""
    bench_latency()
    bench_reuse()
    bench_cpu()
    print("ALL PASS" if all(results) else "SOME FAIL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
