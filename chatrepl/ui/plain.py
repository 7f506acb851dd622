"""`PlainView`: the View for pipes and `--plain`; the reply passes through."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO

from chatrepl.core.messages import ReasoningDelta, TextDelta, TurnStats
from chatrepl.core.reply import CompareResult
from chatrepl.ui.stats import fold_line, format_stats, one_line
from chatrepl.ui.table_layout import plain_lines


class PlainView:
    """The View for pipes and --plain: the reply passes through untouched (NO_COLOR on a
    terminal gets the rich view without colour instead).

    Reply text goes to stdout exactly as it arrives; everything else (reasoning, info,
    errors, stats) goes to stderr so `chatrepl "q" > answer.md` captures only the answer.
    """

    def __init__(
        self,
        stdout: IO[str],
        stderr: IO[str],
        *,
        settle: Callable[[], None] | None = None,
        err_width: Callable[[], int | None] | None = None,
    ) -> None:
        self.out = stdout  # reply text
        self.err = stderr  # everything else
        # stdout is a pipe (`| tee`): wait for its reader before a stderr line, so the
        # line does not overtake the reply on the terminal both end up on
        self._settle = settle
        self._unsettled = False  # stdout was written since the last wait
        # stderr's terminal width: a line wider is broken between words, not mid-word
        self._err_width = err_width
        self._at_line_start = True  # of stdout, so the stats line does not glue to the reply
        self._reasoning_open = False

    def info(self, text: str) -> None:
        """A plain line for the user."""
        self._line(text)

    def error(self, text: str) -> None:
        """A one-line failure."""
        self._line(f"error: {one_line(text)}")

    def notice(self, text: str) -> None:
        """A line about what is happening (stderr, like every non-reply line)."""
        self._line(one_line(text))

    def table(self, rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
        """A small table as aligned columns."""
        if title:
            self._line(title)
        width = self._err_width() if self._err_width is not None else None
        folded = plain_lines(rows, width) if width else None
        if folded is not None:  # too wide for the terminal: laid out to fit, nothing cut
            for line in folded:
                self._line(line)
            return
        widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=False)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self._line("  " + "  ".join(cells).rstrip())

    def compare(self, results: Sequence[CompareResult]) -> None:
        """Each model's answer in turn, under a header line (stdout), stats on stderr."""
        for result in results:
            self._unsettled = True
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
            self._unsettled = True
            self.out.write(event.text)
            self.out.flush()
            self._at_line_start = event.text.endswith("\n")

    def end_reply(self, stats: TurnStats | None) -> None:
        """End the reply's last line; the stats line goes to stderr."""
        self._close_reasoning()
        # End with a newline, as `echo` does: the shell prompt, `wc -l` and `while read`
        # all expect one. The reply's own bytes are otherwise untouched.
        if not self._at_line_start:
            self._unsettled = True
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
        if self._settle is not None and self._unsettled:
            self._unsettled = False
            self._settle()
        width = self._err_width() if self._err_width is not None else None
        if width and len(text) >= width:
            text = fold_line(text, width - 1)
        self.err.write(text + "\n")
        self.err.flush()
