"""The fan-out of a comparison: one request per target, all streaming at once.

Each target's reply is drained in its own thread (requests' connection pool is
thread-safe), so comparing N models takes about as long as the slowest of them, and a
slow or failing one holds back none of the others: every event is handed to `show`
as it arrives, and each reply to `done` as soon as it ends. The waiting thread is the
caller's: Ctrl-C (or a termination signal) lands there, stops every worker and keeps
what each had received, marked interrupted. The conversation is not touched here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from chatrepl.core.errors import ChatReplError, TerminatedBySignal, UnexpectedError
from chatrepl.core.messages import StreamEvent
from chatrepl.core.reply import Clock, CompareResult, ReplyCollector, Shown, drain

# After Ctrl-C, how long the workers get to notice and close their requests before
# their replies are taken as they stand (a stalled stream may not wake for minutes).
GRACE = 0.5


@dataclass(frozen=True, slots=True)
class Job:
    """One column to stream: its model (for the stats), how to open its stream, or why
    it cannot be asked at all."""

    model: str
    open_stream: Callable[[], Iterator[StreamEvent]] | None
    temperature: float | None = None
    max_tokens: int | None = None
    params: dict[str, Any] | None = None
    failure: ChatReplError | None = None  # e.g. an endpoint that cannot be reached


@dataclass(slots=True)
class FanOut:
    """What a fan-out came to: every reply (in job order) and what stopped it, if anything."""

    results: list[CompareResult]
    interrupted: bool = False
    signal: TerminatedBySignal | None = None


def fan_out(
    jobs: list[Job],
    *,
    show: Callable[[int, Shown], None] | None = None,
    done: Callable[[int, CompareResult], None] | None = None,
    clock: Clock = time.monotonic,
    wall_clock: Clock = time.time,
    grace: float = GRACE,
) -> FanOut:
    """Stream every job at once; `show(i, event)` and `done(i, result)` are called from
    the workers' threads as things happen. Returns when all have ended, or at once
    (with every partial reply) when the waiting thread is interrupted."""
    cancelled = threading.Event()
    closed = threading.Event()  # after this, late events from a stuck worker are dropped
    lock = threading.Lock()
    collectors = [
        ReplyCollector(
            model=job.model,
            temperature=job.temperature,
            max_tokens=job.max_tokens,
            params=job.params,
            clock=clock,
            wall_clock=wall_clock,
        )
        for job in jobs
    ]
    results: list[CompareResult | None] = [None] * len(jobs)

    def finish(index: int, result: CompareResult) -> None:
        with lock:
            if results[index] is not None or closed.is_set():
                return
            results[index] = result
        if done is not None:
            done(index, result)

    def work(index: int, job: Job) -> None:
        collector = collectors[index]

        def shown(event: Shown) -> None:
            if show is not None and not closed.is_set():
                show(index, event)

        try:
            if job.open_stream is None:
                failure = job.failure or ChatReplError("cannot be asked")
                reply = collector.result(error=failure)
            else:
                reply = drain(job.open_stream, collector, show=shown, cancelled=cancelled)
        except Exception as exc:  # a worker must report, never die silently
            reply = collector.result(error=UnexpectedError(exc))
        finish(index, CompareResult(job.model, reply))

    threads = [
        threading.Thread(target=work, args=(i, job), name=f"chatrepl-compare-{i}", daemon=True)
        for i, job in enumerate(jobs)
    ]
    # every request leaves before any reply is read: the threads start back to back
    for thread in threads:
        thread.start()
    outcome = FanOut([])
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)  # short joins keep the waiting thread responsive to Ctrl-C
    except (KeyboardInterrupt, TerminatedBySignal) as exc:
        outcome.interrupted = True
        if isinstance(exc, TerminatedBySignal):
            outcome.signal = exc
        cancelled.set()
        _settle(threads, grace)
        # a worker still blocked in a read keeps its reply so far, marked interrupted
        for index, collector in enumerate(collectors):
            finish(index, CompareResult(jobs[index].model, collector.result(interrupted=True)))
    closed.set()
    outcome.results = [r for r in results if r is not None]
    return outcome


def _settle(threads: list[threading.Thread], grace: float) -> None:
    """Give interrupted workers a moment to close their requests (a second Ctrl-C skips it)."""
    deadline = time.monotonic() + grace
    try:
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        pass
