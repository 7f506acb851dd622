"""What chatrepl's client costs: TTFT and tokens/s through `HttpBackend` vs a bare client.

Both clients talk to the same llama.cpp server (`chatrepl.adapters.llamacpp`, SmolLM2 by default)
in the same run, with the same request, alternating which goes first so that drift,
prompt caching and CPU contention hit both alike. The bare client is `http.client`
reading the raw chunked stream and decoding each `data:` line with `json.loads`: the
least any Python client has to do. The ratio of the medians is chatrepl's overhead.

    python benchmarks/bench_local.py [--reps 9] [--max-tokens 128] [--model PATH.gguf]

Decode rate = (completion tokens - 1) / (last token - first token), the same for both.
`ignore_eos` (a llama.cpp extension) makes every reply exactly --max-tokens long.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chatrepl.adapters.http import HttpBackend
from chatrepl.adapters.llamacpp import LocalServer, start_local_server
from chatrepl.core.messages import TextDelta, UsageReport
from chatrepl.core.settings import Secret, Settings

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."


@dataclass(frozen=True, slots=True)
class Sample:
    """One streamed reply, timed from just before the request is sent."""

    ttft: float
    total: float
    tokens: int

    @property
    def decode_rate(self) -> float:
        """Tokens per second after the first one (prompt processing excluded)."""
        return (self.tokens - 1) / max(self.total - self.ttft, 1e-9)


def payload(server: LocalServer, max_tokens: int) -> dict[str, Any]:
    """The request both clients send."""
    return {
        "model": server.model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def via_chatrepl(backend: HttpBackend, body: dict[str, Any]) -> Sample:
    """Stream one reply through chatrepl's HttpBackend (SSE parsing included)."""
    start = time.perf_counter()
    first: float | None = None
    tokens = 0
    for event in backend.stream(body):
        if isinstance(event, TextDelta) and event.text and first is None:
            first = time.perf_counter()
        elif isinstance(event, UsageReport):
            tokens = event.usage.completion_tokens or 0
    end = time.perf_counter()
    assert first is not None and tokens, "no reply"
    return Sample(first - start, end - start, tokens)


def via_bare_http(server: LocalServer, body: dict[str, Any]) -> Sample:
    """Stream one reply with http.client, splitting `data:` lines by hand."""
    parts = urlsplit(server.url)
    encoded = json.dumps(body).encode()
    headers = {
        "Authorization": f"Bearer {server.key}",
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
    }
    start = time.perf_counter()
    # A fresh connection each time: llama.cpp closes it after a stream anyway.
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    connection.request("POST", "/v1/chat/completions", encoded, headers)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    first: float | None = None
    tokens = 0
    pending = b""
    while chunk := response.read1(65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                continue
            data = json.loads(line[6:])
            choices = data.get("choices") or [{}]
            if first is None and (choices[0].get("delta") or {}).get("content"):
                first = time.perf_counter()
            if data.get("usage"):
                tokens = data["usage"]["completion_tokens"]
    end = time.perf_counter()
    connection.close()
    assert first is not None and tokens, "no reply"
    return Sample(first - start, end - start, tokens)


def median(samples: list[Sample], key: Callable[[Sample], float]) -> float:
    """The median of one measure."""
    return statistics.median(key(s) for s in samples)


def main() -> None:
    """Run the comparison and print medians and the overhead ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=9, help="measured runs per client")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--model", metavar="PATH.gguf", help="default: the bundled SmolLM2")
    args = parser.parse_args()

    with start_local_server(args.model) as server:
        print(f"llama.cpp server with {server.model} loaded in {server.load_seconds:.2f} s")
        settings = Settings(url=server.url, key=Secret(server.key, "local"), model=server.model)
        body = payload(server, args.max_tokens)
        runs: dict[str, list[Sample]] = {"bare http.client": [], "chatrepl HttpBackend": []}
        with HttpBackend(settings) as backend:
            clients: dict[str, Callable[[], Sample]] = {
                "bare http.client": lambda: via_bare_http(server, body),
                "chatrepl HttpBackend": lambda: via_chatrepl(backend, body),
            }
            for warm in clients.values():  # first requests pay for caches and connections
                warm()
            for rep in range(args.reps):
                order = list(clients) if rep % 2 == 0 else list(reversed(clients))
                for name in order:
                    runs[name].append(clients[name]())

    print(f"{args.reps} runs each, {args.max_tokens} tokens per reply; median (best):")
    print(f"{'client':<22} {'TTFT ms':>14} {'decode tok/s':>16} {'total s':>9}")
    for name, samples in runs.items():
        # The best run is what the client costs on an idle machine; the median is typical.
        best_ttft = min(s.ttft for s in samples) * 1000
        best_rate = max(s.decode_rate for s in samples)
        print(
            f"{name:<22} {median(samples, lambda s: s.ttft) * 1000:>6.1f} ({best_ttft:5.1f}) "
            f"{median(samples, lambda s: s.decode_rate):>7.1f} ({best_rate:6.1f}) "
            f"{median(samples, lambda s: s.total):>9.3f}"
        )
    bare, ours = runs["bare http.client"], runs["chatrepl HttpBackend"]
    ttft_ours, ttft_bare = median(ours, lambda s: s.ttft), median(bare, lambda s: s.ttft)
    rate_ratio = median(ours, lambda s: s.decode_rate) / median(bare, lambda s: s.decode_rate)
    print(
        f"overhead ratio (chatrepl / bare): TTFT x{ttft_ours / ttft_bare:.2f} "
        f"({(ttft_ours - ttft_bare) * 1000:+.1f} ms), tokens/s x{rate_ratio:.2f} "
        "(1.00 = no overhead)"
    )


if __name__ == "__main__":
    main()
