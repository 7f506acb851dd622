"""The view-side pieces that need no rich: the stats line, `PlainView` and `make_view`.

`PlainView` serves pipes, `--plain` and NO_COLOR: the reply passes through untouched.
`make_view` picks it or the rich view (chatrepl.render), importing rich only for the latter.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from chatrepl.messages import ReasoningDelta, TextDelta, TurnStats
from chatrepl.ports import View

if TYPE_CHECKING:
    from chatrepl.compare import CompareResult

STATS_STYLE = "dim"


def format_stats(stats: TurnStats) -> str:
    """One line about a finished reply: model, latency, size and speed."""
    flag = "[interrupted] " if stats.interrupted else ""
    if stats.truncated and not stats.interrupted:
        flag = "[stream ended early] "
    parts: list[str] = []
    if stats.model:
        parts.append(stats.model)
    if stats.ttft is not None:
        parts.append(f"first token {stats.ttft:.2f}s")
    if stats.duration is not None:
        parts.append(f"total {stats.duration:.2f}s")
    if stats.usage is not None and stats.usage.completion_tokens is not None:
        parts.append(f"{stats.usage.completion_tokens} tokens")
    rate = stats.tokens_per_second
    if rate is not None:
        parts.append(f"{rate:.1f} tok/s")
    if stats.finish_reason and stats.finish_reason not in ("stop", "error"):
        parts.append(f"finish: {stats.finish_reason}")
    return (flag + " · ".join(parts)).strip()


def one_line(text: str) -> str:
    """Collapse a message to a single line (errors must not spill over several)."""
    return " ".join(text.split())



class PlainView:
    """The View for pipes, --plain and NO_COLOR: the reply passes through untouched.

    Reply text goes to stdout exactly as it arrives; everything else (reasoning, info,
    errors, stats) goes to stderr so `chatrepl "q" > answer.md` captures only the answer.
    """

    def __init__(self, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> None:
        self._stdout = stdout
        self._stderr = stderr
        self._at_line_start = True  # of stdout, so the stats line does not glue to the reply
        self._reasoning_open = False

    @property
    def out(self) -> IO[str]:
        """Where reply text goes (sys.stdout unless given)."""
        return self._stdout if self._stdout is not None else sys.stdout

    @property
    def err(self) -> IO[str]:
        """Where everything else goes (sys.stderr unless given)."""
        return self._stderr if self._stderr is not None else sys.stderr

    def info(self, text: str) -> None:
        """A plain line for the user."""
        self._line(text)

    def error(self, text: str) -> None:
        """A one-line failure."""
        self._line(f"error: {one_line(text)}")

    def table(self, rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
        """A small table as aligned columns."""
        if title:
            self._line(title)
        widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=False)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self._line("  " + "  ".join(cells).rstrip())

    def compare(self, results: Sequence[CompareResult]) -> None:
        """Each model's answer in turn, under a header line (stdout), stats on stderr."""
        for result in results:
            self.out.write(f"=== {result.model} ===\n")
            if result.text:
                self.out.write(result.text + ("" if result.text.endswith("\n") else "\n"))
            self.out.flush()
            if result.error:
                self.error(f"{result.model}: {result.error}")
            elif result.stats:
                self._line(format_stats(result.stats))

    def begin_reply(self) -> None:
        """A reply is about to stream."""
        self._reasoning_open = False

    def show(self, event: TextDelta | ReasoningDelta) -> None:
        """Write the piece as is and flush, so pipes see it at once."""
        if isinstance(event, ReasoningDelta):
            self._reasoning_open = True
            self.err.write(event.text)
            self.err.flush()
            return
        self._close_reasoning()
        if event.text:
            self.out.write(event.text)
            self.out.flush()
            self._at_line_start = event.text.endswith("\n")

    def end_reply(self, stats: TurnStats | None) -> None:
        """End the reply's last line; the stats line goes to stderr."""
        self._close_reasoning()
        # End with a newline, as `echo` does: the shell prompt, `wc -l` and `while read`
        # all expect one. The reply's own bytes are otherwise untouched.
        if not self._at_line_start:
            self.out.write("\n")
            self.out.flush()
            self._at_line_start = True
        if stats is not None:
            self._line(format_stats(stats))

    def _close_reasoning(self) -> None:
        if self._reasoning_open:
            self._reasoning_open = False
            self.err.write("\n")
            self.err.flush()

    def _line(self, text: str) -> None:
        self.out.flush()  # keep the order right when both go to one terminal
        self.err.write(text + "\n")
        self.err.flush()


def make_view(*, plain: bool, stdout_isatty: bool, no_color: bool) -> View:
    """The view for this run: rich on a terminal, plain pass-through otherwise."""
    if plain or no_color or not stdout_isatty:
        return PlainView()
    from chatrepl.render import RichView  # rich loads only when a terminal needs it

    return RichView()
