"""Side-by-side comparison: the same conversation sent to several models at once.

Each model's reply is drained in its own thread (requests' connection pool is
thread-safe), so comparing three models takes about as long as the slowest of them.
The conversation itself is not changed: a comparison is a look, not a turn.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from chatrepl.core.errors import ChatReplError
from chatrepl.core.ports import Backend
from chatrepl.core.reply import Clock, CompareResult, ReplyCollector, drain


def collect(
    backend: Backend,
    payload: dict[str, Any],
    *,
    cancelled: threading.Event,
    clock: Clock = time.monotonic,
    wall_clock: Clock = time.time,
) -> CompareResult:
    """Drain one model's reply; stop early (closing the request) once `cancelled` is set."""
    model = str(payload.get("model") or "(default)")
    collector = ReplyCollector(
        model=model,
        temperature=payload.get("temperature"),
        max_tokens=payload.get("max_tokens"),
        clock=clock,
        wall_clock=wall_clock,
    )
    reply = drain(lambda: backend.stream(payload), collector, cancelled=cancelled)
    return CompareResult(model, reply)


def compare(
    backend: Backend,
    payload: dict[str, Any],
    models: list[str],
) -> list[CompareResult]:
    """Send `payload` to every model in parallel; results in the order given.

    Ctrl-C (KeyboardInterrupt in the waiting thread) cancels the workers and re-raises.
    """
    cancelled = threading.Event()
    results: list[CompareResult | None] = [None] * len(models)

    def work(index: int, model: str) -> None:
        try:
            results[index] = collect(backend, {**payload, "model": model}, cancelled=cancelled)
        except Exception as exc:  # a worker must report, never die silently
            failure = ChatReplError(f"{type(exc).__name__}: {exc}")
            results[index] = _failed(model, failure)

    threads = [
        threading.Thread(target=work, args=(i, m), daemon=True) for i, m in enumerate(models)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)  # short joins keep the main thread responsive to Ctrl-C
    except KeyboardInterrupt:
        cancelled.set()
        raise
    return [
        r if r is not None else _failed(m, ChatReplError("no result"))
        for r, m in zip(results, models, strict=True)
    ]


def _failed(model: str, error: ChatReplError) -> CompareResult:
    collector = ReplyCollector(model=model, clock=time.monotonic, wall_clock=time.time)
    return CompareResult(model, collector.result(error=error))
