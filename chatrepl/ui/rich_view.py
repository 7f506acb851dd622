"""The rich adapter for the View port: `RichView`, streaming markdown incrementally.

Streaming design: `StreamRenderer` (stream_render) turns the reply into rows: finished
top-level blocks, printed once into scrollback, and the unfinished tail, drawn in a
small live region (live_region) that is never taller than the screen. `_ReplyStream` drives it
from a ticker thread: `show()` only appends text under a lock and wakes the ticker, so
the first text is drawn as soon as it arrives; after that the ticker draws about
`refresh_per_second` times a second, in step with the reads of a stream that keeps up
(never sooner than half an interval apart). Only every `FULL_EVERY` seconds (or at once
for a burst) is a refresh a full one: new text parsed, finished blocks printed, the tail
drawn as markdown; the refreshes between only write the new text plain after what is
shown. While finished text waits (a fast stream outruns rendering) it is printed
progressively, `PRINT_BUDGET` seconds of rendering per refresh, so the screen never
stands still for long. It also keeps the tail fresh while
the reader blocks in a socket read, and follows the terminal's real size when it
changes (even when COLUMNS is exported: lines wider than the screen would wrap and
leave copies of the live region behind).

Nothing from rich is imported at module level: the CLI imports this module before the
first prompt, and rich.markdown (markdown_it, pygments) costs tens of milliseconds;
`warm_up()` loads it while the user types.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chatrepl.core.messages import ReasoningDelta, TextDelta, TurnStats
from chatrepl.ui.code_render import CODE_THEME
from chatrepl.ui.live_region import LiveRegion
from chatrepl.ui.stats import STATS_STYLE, fold_line, format_stats, one_line
from chatrepl.ui.stream_render import (
    REASONING_STYLE,
    ROUGH_FOR,
    Line,
    StreamRenderer,
    rough_rows,
)
from chatrepl.ui.table_layout import (
    FOLD_INDENT,
    TABLE_GAP,
    TABLE_INDENT,
    column_widths,
    rows_to_fold,
)

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.text import Text

    from chatrepl.core.comparison import Comparison
    from chatrepl.core.reply import CompareResult
    from chatrepl.ui.compare_view import CompareStream

__all__ = ["CODE_THEME", "REASONING_STYLE", "RichView", "recording_view", "save_svg", "warm_up"]

HIGHLIGHT_STYLE = "bold reverse"  # a search hit's matching words
PRINT_BUDGET = 0.03  # seconds of rendering finished blocks per refresh while they wait
FEED_LIMIT = 16_384  # characters of new text parsed at most per refresh
# The languages replies most often show code in: their lexers load while the user types.
# (About 40 ms in all; css and sql alone would cost as much again: they load when used.)
WARM_LEXERS = (
    *("python", "javascript", "typescript", "json", "bash", "rust", "go", "java"),
    *("c", "cpp", "html", "yaml", "diff", "text"),
)
SPACED = 0.02  # seconds without text after which new text is a fresh read
BURST = 2_048  # characters waiting: a refresh comes at once, not at the next tick
FULL_EVERY = 0.3  # seconds between full refreshes while a stream keeps up (see _show_plain)


def warm_up() -> None:
    """Import and exercise what the first reply needs (rich.markdown, pygments, the
    block parser), so its first text is drawn at once."""
    import io

    from rich.console import Console

    from chatrepl.ui.code_render import _lexer
    from chatrepl.ui.mdstream import find_blocks

    find_blocks("x\n\ny\n")
    for name in WARM_LEXERS:  # importing a lexer's module costs up to 10 ms, once
        _lexer(name)
    console = Console(file=io.StringIO(), width=40, force_terminal=True)
    renderer = StreamRenderer(console, width=40, height=10)
    renderer.feed("# x\n\n*y* `z`\n\n```python\nx = 1\n```\n\n- a\n")
    rows = renderer.live_rows()
    renderer.finish()
    printed = renderer.print_rows(1.0)
    # The live region too: its first use (escape codes of each style) would cost the
    # first reply milliseconds between Enter and its first text.
    stream = _ReplyStream(console, refresh_per_second=20, live=False)
    stream.close()
    region = LiveRegion(console)
    region.start()
    region.update(printed, rows)
    console.print("x")
    region.stop()


class _Rows:
    """Rows already rendered (and trimmed), handed to rich to write as they are."""

    def __init__(self, rows: list[Line]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        line = Segment.line()
        for row in self.rows:
            yield from row
            yield line


def _appended(old: list[Line], new: list[Line]) -> str | None:
    """The plain text `new` adds to the end of `old`'s last row, when that is all that
    changes (the same rows, the last one only longer, by unstyled text); else None."""
    if len(old) != len(new) or not old:
        return None
    for before, after in zip(old[:-1], new[:-1], strict=True):
        if before is not after and before != after:
            return None
    before, after = old[-1], new[-1]
    if not before or len(after) < len(before) or after[: len(before) - 1] != before[:-1]:
        return None
    last, grown = before[-1], after[len(before) - 1]
    if grown.style != last.style or grown.control or not grown.text.startswith(last.text):
        return None
    added = after[len(before) :]
    if any(segment.style is not None or segment.control for segment in added):
        return None
    if grown.text != last.text and last.style is not None:
        return None  # the row's own styled text grew: draw it properly
    return grown.text[len(last.text) :] + "".join(segment.text for segment in added)


def _terminal_fd(console: Console) -> int | None:
    """The file descriptor of the console's terminal, if it writes to one."""
    if not console.is_terminal:
        return None
    try:
        fd = console.file.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


class _ReplyStream:
    """One reply being streamed: finished blocks go to scrollback, the tail stays live."""

    def __init__(
        self,
        console: Console,
        *,
        refresh_per_second: float,
        budget: float = PRINT_BUDGET,
        live: bool = True,
    ) -> None:
        self.console = console
        self._interval = 1.0 / refresh_per_second
        self._budget = budget
        self._lock = threading.Lock()  # guards the pending text only
        self._draw_lock = threading.Lock()  # one refresh at a time
        self._text: list[str] = []  # answer text not yet handed to the renderer
        self._held = ""  # answer text shown plain, not yet handed to it either
        self._full_at = 0.0  # when the last full refresh began
        self._full_rows: list[Line] = []  # the live rows it drew
        self._thinking: list[str] = []
        self._answer_started = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._hurry = threading.Event()  # a burst is waiting, or the reply is over
        self._pending = 0  # characters handed over since the last refresh took them
        self._arrived = 0.0  # when text last came
        self._spaced = False  # text came after a quiet spell since the last refresh
        self._abort = False
        self._failed = False
        self._fd = _terminal_fd(console)
        self._size = self._real_size()
        width, height = console.size  # COLUMNS/LINES win until the terminal is resized
        # A recording console keeps every byte: its picture needs the padding spaces.
        # A dumb terminal knows no "erase to end of line" either: plain spaces there.
        to_edge = console.is_terminal and not console.is_dumb_terminal and not console.record
        self.renderer = StreamRenderer(console, width=width, height=height, to_edge=to_edge)
        # A recording console keeps every byte it writes: live redraws would all end up
        # in the picture, so it only ever gets the finished blocks.
        self._region: LiveRegion | None = None
        self._shown: list[Line] = []  # the rows the live region shows
        if live and console.is_terminal and not console.is_dumb_terminal and not console.record:
            self._region = LiveRegion(console)
            self._region.start()
        self._ticker = threading.Thread(target=self._run, name="chatrepl-render", daemon=True)
        self._ticker.start()

    # --- called by the engine's thread -----------------------------------------

    def add(self, event: TextDelta | ReasoningDelta) -> None:
        """Queue a piece of the reply; the ticker draws it."""
        with self._lock:
            if isinstance(event, ReasoningDelta):
                if self._answer_started:
                    return  # reasoning after the answer began would split the markdown
                self._thinking.append(event.text)
            else:
                self._answer_started = True
                self._text.append(event.text)
            self._pending += len(event.text)
            if self._pending >= BURST and not self._hurry.is_set():
                self._hurry.set()
            now = time.perf_counter()
            if now - self._arrived > SPACED:
                self._spaced = True  # a fresh read: see _run
            self._arrived = now
        # Setting an event takes its lock and notifies: once per token adds up. Text that
        # comes after the ticker cleared it (then takes the text) finds it clear.
        if not self._wake.is_set():
            self._wake.set()

    def draw(self) -> None:
        """Draw what has arrived now instead of at the next tick, all of it as markdown."""
        self._tick(exact=True)

    def close(self) -> None:
        """Print everything still pending and give the terminal back."""
        self._stop.set()
        self._hurry.set()
        self._wake.set()
        try:
            try:
                if self._ticker is not threading.current_thread():
                    self._ticker.join()
            except KeyboardInterrupt:
                # The reply is complete; only its drawing is cut short: print the rest
                # as plain text at once rather than lose it.
                self._abort = True
                self._ticker.join()
                self._failed = True
            with self._draw_lock:
                if self._failed:
                    self._print_unrendered()
                else:
                    try:
                        self._finish()
                    except Exception:
                        self._failed = True  # the text matters more than its looks
                        self._print_unrendered()
        finally:
            if self._region is not None:
                self._region.stop()

    # --- the ticker ------------------------------------------------------------

    def _run(self) -> None:
        last = -1.0
        try:
            self._tick()  # the placeholder, at once
            while not self._abort:
                if self.renderer.backlog or self._text:
                    time.sleep(0)  # let the reader take the GIL between refreshes
                else:
                    if self._stop.is_set():
                        break
                    # Text shown raw is drawn as markdown a moment later, new text or not.
                    timeout = ROUGH_FOR if self.renderer.rough else None
                    if self._held:
                        timeout = max(0.0, self._full_at + FULL_EVERY - time.perf_counter())
                    self._wake.wait(timeout)
                    # At most refresh_per_second refreshes of the tail; the first text,
                    # and a burst of text (finished blocks to print: work done once,
                    # not a redraw), at once. Text after a quiet spell is a read of a
                    # stream that keeps up (those come spaced, see adapters/reads): it is
                    # drawn with its read, half an interval after the last refresh at the
                    # earliest, so refreshes fall in step with the reads instead of
                    # showing each up to an interval late.
                    interval = self._interval / 2 if self._spaced else self._interval
                    pause = last + interval - time.perf_counter()
                    if pause > 0:
                        self._hurry.wait(pause)
                    self._wake.clear()
                self._spaced = False
                last = time.perf_counter()
                self._tick()
            # Closing: print what waits, still a budget at a time, so the screen moves.
            while not self._abort and self._finish_step():
                time.sleep(0)  # a refresh at a time: the screen moves, Ctrl-C is seen
        except Exception:
            # Never kill the reply over a rendering bug: close() prints it unrendered.
            self._failed = True

    def _tick(self, *, exact: bool = False) -> None:
        with self._draw_lock:
            if self._failed or (not exact and self._show_plain()):
                return
            self._full_at = time.perf_counter()
            text, thinking = self._take_pending(FEED_LIMIT)
            resized = self._follow_resize()
            renderer = self.renderer
            if text or thinking:
                renderer.feed(text, thinking)
            elif self._drawn and not (resized or renderer.backlog or renderer.rough or exact):
                return  # nothing new to show
            began = time.perf_counter()
            printed = renderer.print_rows(self._budget)
            # What printing left of the budget for drawing the tail (when it printed).
            spare = self._budget - (time.perf_counter() - began) if printed else None
            self._draw(printed, exact=exact, spare=spare)
            self._full_rows = self._shown

    def _show_plain(self) -> bool:
        """Between full refreshes of a stream that keeps up, write new answer text as plain
        text after the rows the last one drew, and nothing else (True when that is all
        this refresh has to do).

        Parsing it, printing the blocks it finishes and drawing the tail as markdown wait
        for the next full refresh, `FULL_EVERY` after the last (sooner for a burst): spread
        over twenty refreshes a second, that work costs about twice as much CPU as in a
        few larger steps (each step starts with cold caches), and a paced reply is mostly
        that work. The screen still moves with every read.
        """
        region = self._region
        if (
            region is None
            or not self._drawn
            or self._hurry.is_set()
            or time.perf_counter() - self._full_at >= FULL_EVERY
            or not self.renderer.takes_raw
            or self._real_size() != self._size
        ):
            return False
        with self._lock:
            if self._thinking:
                return False
            if not self._text:
                return True  # nothing new; what is shown plain waits for the full refresh
            self._held += "".join(self._text)
            self._text = []
        renderer = self.renderer
        rows = rough_rows(self._full_rows, self._held, renderer.width)
        self._show(region, [], rows[-max(1, renderer.height - 2) :])
        return True

    _drawn = False  # the live region was drawn at least once

    def _draw(
        self, printed: list[Line], *, exact: bool = False, spare: float | None = None
    ) -> None:
        """Print rows into scrollback and redraw the live region below them."""
        region = self._region
        if region is None:
            if printed:
                self.console.print(_Rows(printed), crop=False)
            self._drawn = True
            return
        self._show(region, printed, self.renderer.live_rows(exact=exact, spare=spare))

    def _show(self, region: LiveRegion, printed: list[Line], rows: list[Line]) -> None:
        """Print `printed` above the live region and show `rows` in it, writing no more
        than what changed."""
        changed = rows is not self._shown or not self._drawn
        extra = _appended(self._shown, rows) if changed and not printed else None
        self._shown = rows
        if extra:
            # Only words added to the last row: written where the cursor is (the end of
            # that row), not the whole region again.
            region.append(extra, rows)
        elif printed or changed:  # not when it would draw the same rows again
            region.update(printed, rows)
        self._drawn = True

    def _finish_step(self) -> bool:
        """One refresh of the closing drain; False once everything is printed."""
        with self._draw_lock:
            if self._failed:
                return False
            text, thinking = self._take_pending(FEED_LIMIT)
            self.renderer.feed(text, thinking)
            if self._text:
                return True  # more text to parse first
            self.renderer.finish()
            if not self.renderer.backlog:
                return False
            self._draw(self.renderer.print_rows(self._budget))
            return self.renderer.backlog

    def _take_pending(self, limit: int | None = None) -> tuple[str, str]:
        """The text that arrived since the last refresh; past `limit` characters the rest
        waits for the next one (parsing a burst of 200 KB at once takes a quarter second)."""
        with self._lock:
            text, self._text, self._held = self._held + "".join(self._text), [], ""
            thinking, self._thinking = "".join(self._thinking), []
            self._pending = 0
            if not self._stop.is_set():
                self._hurry.clear()
            if limit is not None and len(text) > limit:
                cut = text.rfind("\n", 0, limit) + 1 or limit
                text, self._text = text[:cut], [text[cut:]]
        return text, thinking

    def _finish(self) -> None:
        text, thinking = self._take_pending()
        renderer = self.renderer
        renderer.feed(text, thinking)
        renderer.finish()
        rows: list[Line] = []
        while renderer.backlog:
            rows += renderer.print_rows(1.0)
        self._shown = []
        if self._region is not None:
            self._region.update(rows, [])
        elif rows:
            self.console.print(_Rows(rows), crop=False)

    def _print_unrendered(self) -> None:
        from rich.text import Text

        with self._lock:
            rest = "".join(self._thinking) + self._held + "".join(self._text)
            self._text, self._thinking, self._held = [], [], ""
        rest = self.renderer.unprinted() + rest
        self.renderer.drop_unprinted()
        self._shown = []
        if self._region is not None:
            self._region.update([], [])  # the live rows are in `rest`
        if rest:
            self.console.print(Text(rest))

    def _real_size(self) -> tuple[int, int] | None:
        if self._fd is None:
            return None
        try:
            size = os.get_terminal_size(self._fd)
        except OSError:
            return None
        return size.columns, size.lines

    def _follow_resize(self) -> bool:
        """Draw at the terminal's new size after a resize (True when it changed)."""
        size = self._real_size()
        if size is None or size == self._size:
            return False
        self._size = size
        self.console.size = size  # overrides COLUMNS/LINES, which no longer hold
        self.renderer.resize(*size)
        return True


class RichView:
    """The View for a terminal: rich markdown replies, styled info, error and stats lines."""

    def __init__(
        self,
        console: Console,
        *,
        plain: bool = False,
        refresh_per_second: float = 20,
        live: bool = True,
    ) -> None:
        self.console = console
        self.live = live  # False: into a pipe (forced colour), finished blocks only
        self.plain = plain  # replies as raw text (no markdown), everything else styled
        self.refresh_per_second = refresh_per_second
        self._stream: _ReplyStream | None = None
        self._compare: CompareStream | None = None
        self._line_open = False  # plain mode: the reply's last line has no newline yet

    def info(self, text: str) -> None:
        """A plain line for the user."""
        self.console.print(text, markup=False, highlight=False)

    def error(self, text: str) -> None:
        """A one-line failure, in red."""
        from rich.text import Text

        self._print_line(Text(f"error: {one_line(text)}", style="red"))

    def notice(self, text: str) -> None:
        """A dim line about what is happening (a retry wait), above any live reply."""
        from rich.text import Text

        self._print_line(Text(one_line(text), style=STATS_STYLE))

    def _print_line(self, text: Text) -> None:
        """A styled line, wrapped without the space rich leaves where it breaks a line."""
        from chatrepl.ui.stream_render import trim_row

        rows = self.console.render_lines(text, pad=False)
        self.console.print(_Rows([trim_row(row, width=None) for row in rows]), crop=False)

    def table(self, rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
        """A small table (help, settings, models, sessions). When it is wider than the
        terminal, a last cell of prose wraps in its column if the column leaves it room;
        one with a long word (a setting's source, a path) or squeezed by wide cells
        before it goes on lines of its own under its row, never cut with `…`."""
        from rich import box
        from rich.table import Table

        table = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
        for row in rows:
            table.add_row(*(_cell(cell) for cell in row))
        folded = rows_to_fold(rows, self.console.width)
        if not folded:
            self.console.print(table, markup=False, highlight=False)
            return
        self._print_folded(rows, folded, title=title)

    def _print_folded(
        self, rows: Sequence[Sequence[str]], folded: dict[int, int], *, title: str | None
    ) -> None:
        from rich.cells import cell_len
        from rich.text import Text

        widths = column_widths(rows, folded)
        lines: list[Text] = [Text(title)] if title else []
        lines.append(Text(""))  # where the simple box leaves its empty top line
        room = max(10, self.console.width - len(FOLD_INDENT) - 1)
        for number, row in enumerate(rows):
            cut = len(row) - folded.get(number, 0)
            kept, below = row[:cut], row[cut:]
            line = Text(TABLE_INDENT)
            for column, cell in enumerate(kept[:-1]):
                line.append_text(_text(cell))
                line.append(" " * (widths[column] - cell_len(str(cell))) + TABLE_GAP)
            start = line.cell_len
            if kept:
                # prose that does not fit wraps in its column, under its first line
                pieces = _text(kept[-1]).wrap(self.console, max(10, self.console.width - 1 - start))
                line.append_text(pieces[0] if pieces else Text(""))
                lines.append(line)
                for piece in list(pieces)[1:]:
                    lines.append(Text(" " * start).append_text(piece))
            for cell in below:
                # wrapped at words within the indented width; a path longer than that
                # breaks anywhere (fold), never cut with `…`
                for piece in _text(cell).wrap(self.console, room, overflow="fold"):
                    piece.rstrip()
                    lines.append(Text(FOLD_INDENT).append_text(piece))
        lines.append(Text(""))
        for line in lines:
            line.rstrip()
            self.console.print(line, markup=False, highlight=False, crop=False)

    def begin_compare(self, comparison: Comparison) -> None:
        """Open the live columns (see ui/compare_view)."""
        from chatrepl.ui.compare_view import CompareStream

        self._end_stream()
        self._end_compare()
        self._compare = CompareStream(
            self.console, comparison, refresh_per_second=self.refresh_per_second, live=self.live
        )

    def compare_show(self, index: int, event: TextDelta | ReasoningDelta) -> None:
        """A piece of one column's reply (from that target's thread)."""
        stream = self._compare
        if stream is not None:
            stream.add(index, event)

    def compare_done(self, index: int, result: CompareResult) -> None:
        """One column's reply ended: it gets its stats or its error line."""
        stream = self._compare
        if stream is not None:
            stream.done(index, result)

    def end_compare(self, comparison: Comparison) -> None:
        """Print every column to its end, then the metrics table (blind: a note)."""
        from chatrepl.ui.compare_table import BLIND_NOTE, hidden

        self._end_compare()
        if hidden(comparison):
            self.notice(BLIND_NOTE)
            return
        self._metrics(comparison)

    def reveal(self, comparison: Comparison) -> None:
        """Which letter was which model, with the metrics table."""
        self._metrics(comparison, title="revealed")

    def _metrics(self, comparison: Comparison, *, title: str | None = None) -> None:
        from rich import box
        from rich.table import Table

        from chatrepl.ui.compare_table import metrics_rows

        head, *rows = metrics_rows(comparison)
        if not rows:
            return
        table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
        for name in head:
            table.add_column(name, overflow="fold")  # wrapped when narrow, never cut with …
        for row in rows:
            table.add_row(*row)
        from chatrepl.ui.stream_render import trim_row

        lines = self.console.render_lines(table, pad=False)
        self.console.print(_Rows([trim_row(line, width=None) for line in lines]), crop=False)

    def _end_compare(self) -> None:
        stream, self._compare = self._compare, None
        if stream is not None:
            stream.close()

    def begin_reply(self) -> None:
        """A reply is about to stream."""
        self._end_stream()
        if not self.plain:
            self._stream = _ReplyStream(
                self.console, refresh_per_second=self.refresh_per_second, live=self.live
            )

    def show(self, event: TextDelta | ReasoningDelta) -> None:
        """Display one piece of the reply as it arrives."""
        if self._stream is not None:
            self._stream.add(event)
            return
        if not event.text:
            return
        style = REASONING_STYLE if isinstance(event, ReasoningDelta) else None
        self.console.out(event.text, style=style, end="", highlight=False)
        self.console.file.flush()
        self._line_open = not event.text.endswith("\n")

    def refresh(self) -> None:
        """Draw the reply so far at once (the refresh thread does this on its own)."""
        if self._stream is not None:
            self._stream.draw()

    def end_reply(self, stats: TurnStats | None) -> None:
        """Print what is left of the reply, restore the terminal, then the stats line."""
        self._end_stream()
        if self._line_open:
            self.console.out("")  # end the reply's last line
            self._line_open = False
        if stats is not None:
            from rich.text import Text

            # broken between its ` · ` parts, as in a pipe, when the terminal is narrow
            line = fold_line(format_stats(stats), self.console.width - 1)
            self._print_line(Text(line, style=STATS_STYLE))

    def _end_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()


def _text(cell: str) -> Text:
    """A cell as rich Text, a search hit's matches highlighted."""
    from rich.text import Text

    shown = _cell(cell)
    return shown if isinstance(shown, Text) else Text(str(shown))


def _cell(cell: str) -> Any:
    """A table cell; a search hit's snippet gets its matches highlighted."""
    spans = getattr(cell, "spans", ())
    if not spans:
        return cell
    from rich.text import Text

    text = Text(str(cell))
    for start, end in spans:
        text.stylize(HIGHLIGHT_STYLE, start, end)
    return text


def recording_view(*, width: int = 100, height: int = 40) -> tuple[RichView, Any]:
    """A RichView on a recording console, for README pictures (see `save_svg`)."""
    import io

    from rich.console import Console

    console = Console(
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        width=width,
        height=height,
        color_system="truecolor",
    )
    return RichView(console), console


def save_svg(console: Any, path: str, *, title: str = "chatrepl") -> None:
    """Write what a recording console showed as an SVG picture."""
    console.save_svg(path, title=title)
