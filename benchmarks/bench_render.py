"""CPU cost of streaming markdown replies: incremental RichView vs. naive re-rendering.

    python benchmarks/bench_render.py [--quick]

Streams realistic replies of 8, 32 and 128 KB in 4-character chunks into a terminal-like
sink (a rich Console with force_terminal=True writing to /dev/null, 100x40), both as
fast as possible and paced at 1,000 tokens/s (a token is 4 characters; pacing sleeps, so
CPU is what is measured, not wall time). CPU is time.process_time(), which counts every
thread of the process, the refresh thread included.

(a) incremental: RichView (finished blocks printed once, live tail redrawn <= 20/s)
(b) naive: rich Live updated with Markdown(whole reply) on every chunk, as peers do. It is
    quadratic, so it only runs unpaced, up to 32 KB, and stops at a CPU budget.
(c) print once: console.print(Markdown(reply)) of the finished reply, the floor.

--quick skips the paced 128 KB run (~33 s of wall time).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from markdown_sample import realistic_markdown
from rich.console import Console

from chatrepl.core.messages import TextDelta
from chatrepl.ui.rich_view import RichView

CHUNK = 4
TOKENS_PER_SECOND = 1000
NAIVE_BUDGET = 10.0  # CPU seconds per naive run
WIDTH, HEIGHT = 100, 40
SIZES = {"8KB": 8 * 1024, "32KB": 32 * 1024, "128KB": 128 * 1024}


def sink() -> Console:
    """A terminal-like console whose bytes go nowhere."""
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the console
    return Console(
        file=devnull, force_terminal=True, color_system="truecolor", width=WIDTH, height=HEIGHT
    )


def chunks(text: str) -> list[str]:
    """The reply as the stream delivers it."""
    return [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]


def feed(pieces: list[str], each: Callable[[str], None], *, paced: bool) -> None:
    """Call `each` per chunk; when paced, keep to TOKENS_PER_SECOND by the clock.

    Sleeping once per token would cost more CPU than some renderers being measured, so
    the feeder sleeps only when 5 ms ahead: chunks arrive in small bursts, as network
    reads deliver them.
    """
    start = time.perf_counter()
    for n, piece in enumerate(pieces):
        if paced and n % 5 == 0:
            delay = start + n / TOKENS_PER_SECOND - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        each(piece)


def incremental(text: str, *, paced: bool) -> None:
    """Stream through RichView."""
    view = RichView(sink())
    view.begin_reply()
    feed(chunks(text), lambda piece: view.show(TextDelta(piece)), paced=paced)
    view.end_reply(None)


def naive(text: str, *, paced: bool) -> float:
    """Re-render the whole reply on every chunk; returns the fraction done in budget."""
    from rich.live import Live
    from rich.markdown import Markdown

    pieces = chunks(text)
    start = time.process_time()
    shown = ""
    with Live(console=sink(), refresh_per_second=20, vertical_overflow="visible") as live:
        for n, piece in enumerate(pieces):
            shown += piece
            live.update(Markdown(shown), refresh=True)
            if time.process_time() - start > NAIVE_BUDGET:
                return (n + 1) / len(pieces)
    return 1.0


def print_once(text: str, *, paced: bool) -> None:
    """The floor: render the finished reply once."""
    from rich.markdown import Markdown

    sink().print(Markdown(text))


def measure(run: Callable[..., object], text: str, *, paced: bool) -> tuple[float, float, object]:
    """CPU seconds (all threads), wall seconds and the run's result."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = run(text, paced=paced)
    return time.process_time() - cpu, time.perf_counter() - wall, result


def screen_text(data: str) -> list[str]:
    """What a WIDTHxHEIGHT terminal shows, scrollback included, after `data`."""
    import pyte

    screen = pyte.HistoryScreen(WIDTH, HEIGHT, history=1_000_000)
    # The tty turns LF into CRLF (onlcr); pyte gets the bytes before that.
    pyte.Stream(screen).feed(data.replace("\n", "\r\n"))
    rows = ["".join(line[x].data for x in range(WIDTH)).rstrip() for line in screen.history.top]
    rows += [row.rstrip() for row in screen.display]
    while rows and not rows[-1]:
        rows.pop()
    return rows


def scrollback_equal(text: str, *, paced: bool) -> bool:
    """Whether streaming leaves the same screen as printing the finished reply once."""
    from rich.markdown import Markdown

    def console() -> Console:
        return Console(
            file=io.StringIO(),
            force_terminal=True,
            color_system="truecolor",
            width=WIDTH,
            height=HEIGHT,
        )

    once = console()
    once.print(Markdown(text))
    streamed = console()
    view = RichView(streamed)
    view.begin_reply()
    feed(chunks(text), lambda piece: view.show(TextDelta(piece)), paced=paced)
    view.end_reply(None)
    return screen_text(streamed.file.getvalue()) == screen_text(once.file.getvalue())


def main() -> int:
    """Run the benchmark, print the table and the floors; exit 1 if a floor fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the paced 128 KB run")
    args = parser.parse_args()

    docs = {name: realistic_markdown(size) for name, size in SIZES.items()}
    incremental(docs["8KB"], paced=False)  # warm up imports and lexers
    print_once(docs["8KB"], paced=False)

    cpu: dict[tuple[str, str, str], float] = {}
    print(
        f"{'reply':>6} {'pacing':>9} {'incremental':>12} {'naive':>16} {'print once':>11}"
        f" {'wall':>7}"
    )
    for paced in (False, True):
        pacing = "1k tok/s" if paced else "unpaced"
        for name, text in docs.items():
            if paced and name == "128KB" and args.quick:
                continue
            inc, wall, _ = measure(incremental, text, paced=paced)
            once, _, _ = measure(print_once, text, paced=False)
            cpu[("inc", pacing, name)] = inc
            cpu[("once", pacing, name)] = once
            naive_cell = "-"
            if not paced and name != "128KB":
                spent, _, done = measure(naive, text, paced=False)
                assert isinstance(done, float)
                naive_cell = f"{spent:.2f}s" if done >= 1 else f">{spent:.0f}s ({done:.0%} done)"
            print(
                f"{name:>6} {pacing:>9} {inc:>11.2f}s {naive_cell:>16} {once:>10.2f}s"
                f" {wall:>6.1f}s",
                flush=True,
            )

    checks: list[tuple[str, float, float]] = [
        (
            "unpaced 128KB/32KB incremental CPU",
            cpu[("inc", "unpaced", "128KB")] / cpu[("inc", "unpaced", "32KB")],
            6.0,
        ),
        (
            "unpaced 128KB incremental / print once",
            cpu[("inc", "unpaced", "128KB")] / cpu[("once", "unpaced", "128KB")],
            3.0,
        ),
        (
            "paced 32KB / 8KB incremental CPU",
            cpu[("inc", "1k tok/s", "32KB")] / cpu[("inc", "1k tok/s", "8KB")],
            6.0,
        ),
    ]
    if ("inc", "1k tok/s", "128KB") in cpu:
        checks.append(
            (
                "paced 128KB/32KB incremental CPU",
                cpu[("inc", "1k tok/s", "128KB")] / cpu[("inc", "1k tok/s", "32KB")],
                6.0,
            )
        )
        checks.append(
            ("paced 128KB incremental CPU seconds", cpu[("inc", "1k tok/s", "128KB")], 4.0)
        )
    harness, _, _ = measure(
        lambda text, paced: feed(chunks(text), len, paced=paced), docs["32KB"], paced=True
    )
    print(f"(the paced feeder alone costs {harness:.2f}s of CPU per 32KB; it is included)")
    print()
    ok = True
    for label, value, floor in checks:
        passed = value <= floor
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  {label}: {value:.2f} (floor <= {floor:g})")
    for paced in (False, True):
        equal = scrollback_equal(docs["32KB"], paced=paced)
        ok &= equal
        print(
            f"{'PASS' if equal else 'FAIL'}  scrollback equals printing once "
            f"(32KB, {'paced' if paced else 'unpaced'}, pyte {WIDTH}x{HEIGHT})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
