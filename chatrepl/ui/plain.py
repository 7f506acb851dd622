"""`PlainView`: the View for pipes and `--plain`; the reply passes through."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import IO

from chatrepl.core.comparison import Comparison
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
        self._comparison: Comparison | None = None
        self._lock = threading.Lock()  # the comparison's replies end in their own threads

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

    def begin_compare(self, comparison: Comparison) -> None:
        """Replies are printed whole, each as soon as it ends (a pipe cannot show columns)."""
        self._comparison = comparison

    def compare_show(self, index: int, event: TextDelta | ReasoningDelta) -> None:
        """Nothing yet: the reply is printed whole when it ends."""

    def compare_done(self, index: int, result: CompareResult) -> None:
        """One reply, under its model as a Markdown heading, then its stats or error."""
        from chatrepl.ui.compare_table import column_end

        comparison = self._comparison
        if comparison is None:
            return
        ending, _ = column_end(comparison, index, result)
        text = result.text.rstrip("\n")
        body = f"{text}\n\n" if text else ""
        with self._lock:
            self._unsettled = True
            self.out.write(f"## {comparison.label(index)}\n\n{body}*{ending}*\n\n")
            self.out.flush()

    def end_compare(self, comparison: Comparison) -> None:
        """The metrics table as a Markdown table (blind: a note instead)."""
        from chatrepl.ui.compare_table import BLIND_NOTE, hidden

        self._comparison = None
        if hidden(comparison):
            self._line(BLIND_NOTE)
            return
        self._metrics(comparison)

    def reveal(self, comparison: Comparison) -> None:
        """Which letter was which model, with the metrics table."""
        self._metrics(comparison)

    def _metrics(self, comparison: Comparison) -> None:
        from chatrepl.ui.compare_table import markdown_table, metrics_rows

        rows = metrics_rows(comparison)
        if len(rows) > 1:
            with self._lock:
                self._unsettled = True
                self.out.write(markdown_table(rows) + "\n")
                self.out.flush()

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
