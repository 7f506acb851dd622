"""Side-by-side comparison: the same conversation sent to several models at once.

Each model's reply is collected in its own thread (requests' connection pool is
thread-safe), so comparing three models takes about as long as the slowest of them.
The conversation itself is not changed: a comparison is a look, not a turn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from chatrepl.errors import ChatReplError
from chatrepl.messages import Finish, StreamEvent, TextDelta, TurnStats, Usage, UsageReport
from chatrepl.ports import Backend
from chatrepl.sse import split_think_tags


@dataclass(frozen=True, slots=True)
class CompareResult:
    """One model's answer (or its one-line failure)."""

    model: str
    text: str
    stats: TurnStats | None
    error: str | None = None


def collect(backend: Backend, payload: dict[str, Any], *, cancelled: threading.Event,
            clock: Callable[[], float] = time.monotonic) -> CompareResult:
    """Drain one reply; stop early (closing the request) if `cancelled` is set."""
    model = str(payload.get("model") or "(default)")
    start = clock()
    first: float | None = None
    parts: list[str] = []
    usage: Usage | None = None
    finish: str | None = None
    events: Iterator[StreamEvent] | None = None
    try:
        events = backend.stream(payload)
        for event in split_think_tags(events):
            if cancelled.is_set():
                break
            if isinstance(event, TextDelta):
                first = first if first is not None else clock()
                parts.append(event.text)
            elif isinstance(event, UsageReport):
                usage = event.usage
            elif isinstance(event, Finish):
                finish = event.reason
    except ChatReplError as exc:
        return CompareResult(model, "".join(parts), None, str(exc))
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    end = clock()
    stats = TurnStats(model=model, temperature=payload.get("temperature"),
                      max_tokens=payload.get("max_tokens"),
                      ttft=None if first is None else first - start, duration=end - start,
                      usage=usage, finish_reason=finish, truncated=finish is None)
    return CompareResult(model, "".join(parts), stats)


def compare(backend: Backend, payload: dict[str, Any], models: list[str]) -> list[CompareResult]:
    """Send `payload` to every model in parallel; results in the order given.

    Ctrl-C (KeyboardInterrupt in the waiting thread) cancels the workers and re-raises.
    """
    cancelled = threading.Event()
    results: list[CompareResult | None] = [None] * len(models)

    def work(index: int, model: str) -> None:
        try:
            results[index] = collect(backend, {**payload, "model": model}, cancelled=cancelled)
        except Exception as exc:  # a worker must report, never die silently
            results[index] = CompareResult(model, "", None, f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(i, m), daemon=True)
               for i, m in enumerate(models)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)  # short joins keep the main thread responsive to Ctrl-C
    except KeyboardInterrupt:
        cancelled.set()
        raise
    return [r if r is not None else CompareResult(m, "", None, "no result")
            for r, m in zip(results, models, strict=True)]
