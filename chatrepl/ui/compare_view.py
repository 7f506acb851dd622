"""The live comparison view: every reply streams into its own column as it arrives.

Each column has its own `StreamRenderer` (the main view's incremental markdown: finished
blocks rendered once, only the tail redrawn, rendering time-budgeted), at the column's
width. What goes into scrollback must never change again, so rows are printed in bands:

- **Side by side** (at least `MIN_COLUMN` cells per column): a band of rows is printed
  once every column still streaming has rendered that far; a finished column adds blank
  cells. When one column outruns the live region (a slow or stalled neighbour), its
  rows are printed anyway with blanks beside them: the slow model's text then starts
  lower down, but no column ever waits for another, and no row is printed twice.
- **Stacked** (a narrow terminal): one panel at a time goes into scrollback, in full
  width; the panel printed is the first in display order that has anything to show
  (so a stalled model goes last), while the others show their last lines live below it.

The live region (ui/live_region, transient, never taller than the screen) holds the rows
not printed yet and a status line; a ticker thread redraws it at most
`refresh_per_second` times a second. Workers only queue text under a lock.
Each column ends with its own stats or its one-line error as soon as its reply ends.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chatrepl.core.comparison import Comparison
from chatrepl.core.messages import ReasoningDelta, TextDelta
from chatrepl.core.reply import CompareResult
from chatrepl.ui.compare_table import column_end
from chatrepl.ui.live_region import LiveRegion
from chatrepl.ui.stats import STATS_STYLE
from chatrepl.ui.stream_render import ROUGH_FOR, Line, StreamRenderer, trim_row

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.style import Style

# Styles whose spaces show more than a background (an erase draws none of it).
_PAINTS_SPACE = ("underline", "underline2", "reverse", "strike", "overline", "frame", "encircle")

MIN_COLUMN = 48  # cells: narrower than this per model, the replies are stacked
GAP = " │ "
PRINT_BUDGET = 0.02  # seconds of rendering finished blocks per refresh, for all columns
DRAIN_BUDGET = 0.04  # the same, once every reply is over (nothing else to show)
LIVE_BUDGET = 0.01  # seconds of drawing live tails per refresh, for all columns
FEED_LIMIT = 16_384  # characters of new text parsed at most per column per refresh
PREVIEW = 4  # rows of a waiting panel shown live in the stacked layout


class _Rows:
    """Rendered rows, handed to rich to write without trailing padding."""

    def __init__(self, rows: list[Line]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        line = Segment.line()
        colour = console.is_terminal and console.color_system is not None
        for row in self.rows:
            yield from unpad(row, erase=colour)
            yield line


def _bg_only(style: Style | None) -> bool:
    """A style whose spaces show only a background (what "erase characters" paints)."""
    return (
        style is not None
        and style.bgcolor is not None
        and not any(getattr(style, a) for a in _PAINTS_SPACE)
    )


def unpad(row: Line, *, erase: bool) -> Line:
    """`row` without the painted spaces it ends in (a code block's background).

    `erase` (a colour terminal): each run becomes "erase N characters" in its style and
    the cursor moves past it, which paints the same cells without writing a character,
    so nothing copied from the screen ends in spaces. Else the spaces show nothing and go.
    """
    from rich.segment import ControlType, Segment

    end = len(row)
    while end and not row[end - 1].control and _bg_only(row[end - 1].style):
        if row[end - 1].text.strip(" "):
            break
        end -= 1
    kept = row[end - 1].text.rstrip(" ") if end else ""
    partial = bool(end) and not row[end - 1].control and _bg_only(row[end - 1].style)
    partial = partial and len(kept) < len(row[end - 1].text)
    if end == len(row) and not partial:
        return row  # the common case: no painted spaces at its end
    head = [*row[: end - 1], Segment(kept, row[end - 1].style)] if partial else row[:end]
    tail = row[end - 1 :] if partial else row[end:]
    if not erase:
        return trim_row(head, width=None)  # what was before the painted run may be spaces
    out = list(head)
    for number, segment in enumerate(tail):
        cells = len(segment.text) - (len(kept) if partial and number == 0 else 0)
        if cells > 0:
            code = f"\x1b[{cells}X\x1b[{cells}C"
            # A control segment takes no cells: rich's own measuring is unaffected.
            out.append(Segment(code, segment.style, [(ControlType.CURSOR_FORWARD, cells)]))
    return out


@dataclass(slots=True)
class _Column:
    """One target's column: its renderer, rows rendered but not printed, its ending."""

    index: int  # into the comparison's targets
    label: str
    renderer: StreamRenderer
    pending: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    answer_started: bool = False
    shown: bool = False  # its first text went to the ticker (the next tick is at once)
    ready: list[Line] = field(default_factory=list)
    result: CompareResult | None = None
    tail: list[Line] = field(default_factory=list)  # the live tail, as of the last refresh
    ended: bool = False  # its ending line is in `ready`
    printed: bool = False  # stacked: the whole panel is in scrollback


def _real_size(console: Console) -> tuple[int, int]:
    """The terminal's size (COLUMNS/LINES may be stale), else the console's idea of it."""
    if console.is_terminal:
        try:
            fd = console.file.fileno()
            if os.isatty(fd):
                size = os.get_terminal_size(fd)
                return size.columns, size.lines
        except (AttributeError, OSError, ValueError):
            pass
    width, height = console.size
    return width, height


class CompareStream:
    """One comparison being streamed live into columns (or stacked panels)."""

    def __init__(
        self,
        console: Console,
        comparison: Comparison,
        *,
        refresh_per_second: float = 20,
        live: bool = True,
        budget: float = PRINT_BUDGET,
    ) -> None:
        self.console = console
        self.comparison = comparison
        self._interval = 1.0 / refresh_per_second
        self._budget = budget
        self.side = True
        tail_height = self._layout(_real_size(console))
        self.columns = [
            _Column(
                index,
                comparison.label(index),
                StreamRenderer(console, width=self.column_width, height=tail_height),
            )
            for index in comparison.order
        ]
        self._by_index = {c.index: c for c in self.columns}
        self._lock = threading.Lock()  # guards what the workers queue
        self._draw_lock = threading.Lock()
        self._wake = threading.Event()
        self._hurry = threading.Event()  # refresh now: a column's first text, or the end
        self._stop = threading.Event()
        self._closing = threading.Event()  # every reply is over: print what is left
        self._current: _Column | None = None  # stacked: the panel going into scrollback
        self._failed = False
        self._turn = 0  # the column that prints first at the next refresh
        self._shown: list[Line] = []  # the rows the live region shows
        self._region: LiveRegion | None = None
        if self.side:
            self._print(self._header_band())
        if live and console.is_terminal and not console.is_dumb_terminal and not console.record:
            self._region = LiveRegion(console)
            self._region.start()
        self._wake.set()  # the status line at once, before any text arrives
        self._ticker = threading.Thread(target=self._run, name="chatrepl-compare", daemon=True)
        self._ticker.start()

    def _layout(self, size: tuple[int, int]) -> int:
        """Columns (or stacked panels) for a terminal of `size`; the live tails' height.
        Once stacked, a comparison stays stacked: rows waiting to be printed are as wide
        as the screen was."""
        self.width, self.height = size
        count = max(1, len(self.comparison.targets))
        column = (self.width - len(GAP) * (count - 1)) // count
        self.side = self.side and count > 1 and column >= MIN_COLUMN
        self.column_width = column if self.side else max(10, self.width - 1)
        self.room = max(4, self.height - 3)  # rows the live region may take
        return self.room if self.side else max(3, self.room // count)

    def _follow_resize(self) -> None:
        """The terminal was resized: what was rendered goes out as it was (scrollback
        never changes), everything after it at the new size."""
        size = _real_size(self.console)
        if size == (self.width, self.height):
            return
        was_side, old_width = self.side, self.column_width
        if was_side:  # rows rendered at the old width: printed now, in the old columns
            self._print(self._band([c.ready for c in self.columns], self._tallest_ready()))
            for column in self.columns:
                column.ready = []
        tail_height = self._layout(size)
        if self.console.is_terminal:
            self.console.size = size  # COLUMNS/LINES no longer hold
        for column in self.columns:
            column.renderer.resize(self.column_width, tail_height)
            if was_side and not self.side:
                column.printed = column.ended  # its panel is already in scrollback
        if self.side and self.column_width != old_width:
            self._print(self._header_band())  # the columns go on under new headers

    def _tallest_ready(self) -> int:
        return max((len(c.ready) for c in self.columns), default=0)

    # --- called by the workers' threads ----------------------------------------

    def add(self, index: int, event: TextDelta | ReasoningDelta) -> None:
        """Queue a piece of target `index`'s reply."""
        column = self._by_index.get(index)
        if column is None:
            return
        with self._lock:
            if isinstance(event, ReasoningDelta):
                if not column.answer_started:
                    column.thinking.append(event.text)
            else:
                column.answer_started = True
                column.pending.append(event.text)
            first = not column.shown
            column.shown = True
        if first:  # the first text of a column is shown at once, not at the next tick
            self._hurry.set()
        self._wake.set()

    def done(self, index: int, result: CompareResult) -> None:
        """Target `index`'s reply ended."""
        column = self._by_index.get(index)
        if column is None:
            return
        with self._lock:
            column.result = result
        self._wake.set()

    # --- called by the engine's thread -----------------------------------------

    def close(self) -> None:
        """Print every column to its end and give the terminal back: the ticker prints
        what is left a budget at a time, so the screen keeps moving to the end."""
        self._closing.set()
        self._hurry.set()
        self._wake.set()
        try:
            try:
                self._ticker.join()
            except KeyboardInterrupt:  # a second Ctrl-C: print the rest now
                self._stop.set()
                with contextlib.suppress(KeyboardInterrupt):
                    self._ticker.join()
            with self._draw_lock:
                self._finish_all()
        finally:
            if self._region is not None:
                self._region.stop()

    # --- the ticker ------------------------------------------------------------

    def _run(self) -> None:
        last = -1.0
        try:
            while not self._stop.is_set():
                if self._closing.is_set():
                    if all(c.ended for c in self.columns):
                        break  # close() prints the last rows
                    self._tick()
                    time.sleep(0.001)  # let the engine's thread take the GIL
                    continue
                # A tail shown partly raw is drawn as markdown a moment later, new text or not.
                self._wake.wait(ROUGH_FOR if self._rough() else None)
                pause = last + self._interval - time.perf_counter()
                if pause > 0:
                    self._hurry.wait(pause)
                self._hurry.clear()
                self._wake.clear()
                last = time.perf_counter()
                self._tick()
                if self._backlog():
                    self._wake.set()  # finished text waits: go on printing it
                    time.sleep(0.001)
        except Exception:
            self._failed = True  # close() prints the text plainly

    def _backlog(self) -> bool:
        return any(c.renderer.backlog for c in self.columns)

    def _rough(self) -> bool:
        return any(c.renderer.rough and not c.ended for c in self.columns)

    def _tick(self) -> None:
        with self._draw_lock:
            if self._failed:
                return
            size = (self.width, self.height)
            self._follow_resize()
            resized = size != (self.width, self.height)
            first = self._turn
            lengths = [len(c.ready) for c in self.columns]
            # Once every reply is over, longer steps: fewer redraws, the screen still moving.
            closing = self._closing.is_set()
            self._advance(max(self._budget, DRAIN_BUDGET) if closing else self._budget, final=False)
            clock = time.perf_counter
            began = clock()
            count = len(self.columns)
            for turn in range(count):
                n = (first + turn) % count
                column = self.columns[n]
                if column.ended:
                    column.tail = []
                    continue
                # Four tails drawn as markdown in one refresh cost four times one: past
                # the budget, a tail still true (nothing of it printed since) waits a turn.
                same = len(column.ready) == lengths[n] and not column.renderer.backlog
                same = same and not resized  # a tail drawn at the old size is not true
                if same and turn and clock() - began > LIVE_BUDGET:
                    self._wake.set()  # drawn at the next refresh, new text or not
                    continue
                # the main view's cheaper tail: new words raw, as markdown every ROUGH_FOR
                column.tail = column.renderer.live_rows(exact=False)
            rows = self._take_bands(final=False)
            if self._region is not None:
                # the rows go into scrollback and the region is redrawn below, in one write
                self._shown = self._unpadded(self._live_rows())
                self._region.update(self._unpadded(rows), self._shown)
            elif rows:
                self._print(rows)

    def _finish_all(self) -> None:
        if self._failed:
            self._print_plain()
            return
        try:
            self._advance(None, final=True)
            rows = self._take_bands(final=True)
        except Exception:
            self._print_plain()
            return
        self._shown = []
        self._print(rows)

    def _advance(self, budget: float | None, *, final: bool) -> None:
        """Feed each column what arrived and render its finished blocks, for about
        `budget` seconds in all: columns take turns to go first, so four columns ending a
        long block at once cost one refresh no more than one column does."""
        clock = time.perf_counter
        began = clock()
        count = len(self.columns)
        first, self._turn = self._turn, (self._turn + 1) % count
        for turn in range(count):
            column = self.columns[(first + turn) % count]
            with self._lock:
                text, column.pending = "".join(column.pending), []
                thinking, column.thinking = "".join(column.thinking), []
                result = column.result
                if not final and len(text) > FEED_LIMIT:
                    cut = text.rfind("\n", 0, FEED_LIMIT) + 1 or FEED_LIMIT
                    text, column.pending = text[:cut], [text[cut:]]
            renderer = column.renderer
            if text or thinking:
                renderer.feed(text, thinking)
            closing = final or result is not None or self._closing.is_set()
            over = closing and not column.pending
            if over:
                renderer.finish()
            if budget is None:
                while renderer.backlog:
                    column.ready += renderer.print_rows(1.0)
            elif renderer.backlog:
                left = budget - (clock() - began)
                if left > 0 or turn == 0:  # the first column prints something every time
                    # a share of what is left: the columns keep in step
                    column.ready += renderer.print_rows(max(left / (count - turn), 0.001))
            if over and not renderer.backlog and not column.ended:
                column.ended = True
                column.ready += self._ending(column)

    def _ending(self, column: _Column) -> list[Line]:
        from rich.text import Text

        result = column.result
        if result is None:
            line, is_error = "interrupted", False
        else:
            line, is_error = column_end(self.comparison, column.index, result)
        text = Text(line, style="red" if is_error else STATS_STYLE)
        return [[], *self._render(text, self.column_width)]

    def _render(self, renderable: object, width: int) -> list[Line]:
        options = self.console.options.update(width=width, height=None)
        rows = self.console.render_lines(renderable, options, pad=False)  # type: ignore[arg-type]
        return [trim_row(row, width=None) for row in rows]

    # --- side by side ------------------------------------------------------------

    def _header_band(self) -> list[Line]:
        from rich.segment import Segment
        from rich.text import Text

        cells = [self._render(Text(c.label, style="bold"), self.column_width) for c in self.columns]
        rule = [[[Segment("─" * self.column_width, None)]] for _ in self.columns]
        return [*self._band(cells, max(len(c) for c in cells)), *self._band(rule, 1)]

    def _band(self, cells: list[list[Line]], count: int) -> list[Line]:
        """`count` screen rows made of each column's first rows (blank where it has none)."""
        from rich.segment import Segment

        rows: list[Line] = []
        last = len(cells) - 1
        for r in range(count):
            row: Line = []
            for p, column in enumerate(cells):
                cell = column[r] if r < len(column) else []
                row += cell
                if p < last:
                    used = sum(s.cell_length for s in cell)
                    row.append(Segment(" " * max(0, self.column_width - used) + GAP, None))
            rows.append(trim_row(row, width=None))
        return rows

    def _take_bands(self, *, final: bool) -> list[Line]:
        if not self.side:
            return self._take_stacked(final=final)
        columns = self.columns
        if final:
            count = max(len(c.ready) for c in columns)
        else:
            active = [c for c in columns if not c.ended]
            count = min((len(c.ready) for c in active), default=max(len(c.ready) for c in columns))
            # an ended column counts too: its last rows (its stats) must stay in view
            tallest = max(len(c.ready) + len(c.tail) for c in columns)
            if tallest > self.room:  # the live region would outgrow the screen
                push = min(tallest - self.room, max(len(c.ready) for c in columns))
                # ... unless a column behind is only waiting its turn to print (the next
                # refresh): rows go beside blanks only for a column with nothing to print
                behind = [c for c in active if len(c.ready) < push]
                if not any(c.renderer.backlog for c in behind):
                    count = max(count, push)
        if count <= 0:
            return []
        rows = self._band([c.ready for c in columns], count)
        for c in columns:
            del c.ready[:count]
        return rows

    # --- stacked -----------------------------------------------------------------

    def _panel_header(self, column: _Column) -> list[Line]:
        from rich.rule import Rule

        label = column.label
        if not (self.comparison.blind and not self.comparison.revealed):
            # panels go out as their replies end: the number says which one /pick N keeps
            label = f"{self.comparison.order.index(column.index) + 1} · {label}"
        return [[], *self._render(Rule(label, align="left"), self.column_width)]

    def _choose(self, *, final: bool) -> _Column | None:
        waiting = [c for c in self.columns if not c.printed]
        for good in (
            lambda c: c.ended,
            lambda c: bool(c.ready) or c.renderer.backlog,
            lambda c: final,
        ):
            for column in waiting:
                if good(column):
                    return column
        return None

    def _take_stacked(self, *, final: bool) -> list[Line]:
        rows: list[Line] = []
        while True:
            if self._current is None:
                self._current = self._choose(final=final)
                if self._current is None:
                    return rows
                rows += self._panel_header(self._current)
            current = self._current
            rows += current.ready
            current.ready = []
            if not current.ended:
                return rows
            current.printed = True
            self._current = None

    # --- the live region -----------------------------------------------------------

    def _live_rows(self) -> list[Line]:
        from rich.segment import Segment

        if self.side:
            active = [c for c in self.columns if not c.ended or c.ready]
            cells = [[*c.ready, *c.tail] for c in self.columns]
            rows = self._band(cells, min(self.room, max((len(c) for c in cells), default=0)))
        else:
            rows = []
            if self._current is not None:
                rows += self._current.tail[-(self.room // 2) :]
            for column in self.columns:
                if column.printed or column is self._current:
                    continue
                preview = [*column.ready, *column.tail][-PREVIEW:]
                rows += self._panel_header(column)[1:] + preview
            rows = rows[-self.room :]
            active = [c for c in self.columns if not c.ended]
        waiting = [c.label for c in self.columns if c.result is None]
        if waiting and active:
            names = ", ".join(waiting)
            line = f"streaming: {names} · Ctrl-C stops all"
            if len(line) > self.width - 1:
                line = f"streaming {len(waiting)} of {len(self.columns)} · Ctrl-C stops all"
            rows.append([Segment(line[: self.width - 1], self.console.get_style(STATS_STYLE))])
        return rows

    # --- output ------------------------------------------------------------------

    def _print(self, rows: list[Line]) -> None:
        """Rows into scrollback, above the live region (which keeps its rows)."""
        if self._region is not None:
            self._region.update(self._unpadded(rows), self._shown)
        elif rows:
            self.console.print(_Rows(rows), crop=False)

    def _unpadded(self, rows: list[Line]) -> list[Line]:
        """Rows for the live region, without their padding (as `_Rows` writes them)."""
        erase = self.console.color_system is not None
        return [unpad(row, erase=erase) for row in rows]

    def _print_plain(self) -> None:
        """Rendering failed: every column's text, plainly, so nothing is lost."""
        from rich.text import Text

        self._shown = []
        if self._region is not None:
            self._region.update([], [])  # what it showed is in the text printed below
        for column in self.columns:
            if column.printed:
                continue
            renderer = column.renderer
            with self._lock:
                rest = "".join(column.thinking) + "".join(column.pending)
                column.pending, column.thinking = [], []
            text = renderer.unprinted() + rest
            renderer.drop_unprinted()
            self._print(self._panel_header(column))
            self._print(column.ready)
            column.ready = []
            if text:
                self.console.print(Text(text))
            if not column.ended:
                self._print(self._ending(column))
