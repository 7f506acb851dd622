"""One streamed markdown reply rendered at a given width: `StreamRenderer`. No thread, no
terminal: it turns text into rows (lists of rich Segments), and its caller writes them.

- Text is cut (see mdstream) into finished top-level blocks, queued once, and an
  unfinished tail. Each new piece of text is parsed once; only the tail (one block) is
  parsed again, so a refresh costs the same however much of the reply is finished.
- `print_rows(budget)` renders queued blocks for about `budget` seconds (small blocks
  together, a long code block a few lines at a time, see code_render), so a burst of
  text is printed progressively instead of freezing the screen while it renders.
- `live_rows()` is the tail, drawn as it would look finished, cut to the screen height;
  nothing while queued blocks wait (the tail comes after them).

When `a` ends at a top-level block boundary, `Markdown(a + b)` draws `a` as
`Markdown(a)` does, then `b` as it would after a block that ends like `a` does (see
`_markdown_rows`), so the rows printed equal printing the whole reply once.

Rows carry no trailing padding: rich pads every line to the full width with spaces.
Spaces that show nothing (no background, underline, reverse or strike) are dropped; a run
that paints (a code block's background) becomes "erase to the end of the line" in its
style when the row reaches the right edge of the terminal (`to_edge`), which paints the
same cells without writing them, so nothing copied from the screen ends in spaces.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.segment import Segment
    from rich.style import Style

    from chatrepl.ui.code_render import CodeRows, FencePrinter
    from chatrepl.ui.mdstream import OpenFence

Line = list["Segment"]
REASONING_STYLE = "dim italic"
BIG_CODE = 2_000  # characters: a code block longer than this is printed in slices
STEP_CHARS = 1_500  # characters rendered at most in one step of printing finished text
_START_COST = 4e-6  # seconds of rendering per character, until measured

# rich.markdown puts a blank line before a top-level block when the element that closed
# last asks for one, so a block rendered on its own can differ from the same block inside
# the whole reply. Rendering it after this one-line paragraph, and dropping that line,
# puts it in the same state as after any block but a rule.
_PRIMER = "x\n\n"
_PRIMER_LINES = 1


@dataclass(frozen=True, slots=True)
class _Block:
    """A finished piece waiting to be printed."""

    source: str
    after_gap: bool  # the block before it asks for a blank line
    kind: str  # a markdown token type, or "reasoning"


class StreamRenderer:
    """Rows for one reply at `width` columns; the caller feeds text and writes rows."""

    def __init__(self, console: Console, *, width: int, height: int, to_edge: bool = False) -> None:
        from chatrepl.ui.code_render import CodeRows
        from chatrepl.ui.mdstream import NewlineNormalizer

        self.console = console
        self.height = height
        self.to_edge = to_edge  # the rows end at the terminal's right edge
        self.width = width
        self._options = self._options_for(width)
        self._tail = ""  # answer text after the last finished block
        self._reasoning = ""  # reasoning text not yet queued (a partial line)
        self._answer_started = False
        self._reasoning_open = False  # reasoning was shown and the answer has not begun
        self._gap = False  # the last queued block asks for a blank line after it
        self._queue: deque[_Block] = deque()
        self._fence: FencePrinter | None = None  # a long code block being printed
        self._open: OpenFence | None = None  # the tail is this code block, still open
        self._live_kind: str | None = None
        self._code_rows: CodeRows = CodeRows()
        self._normalizer = NewlineNormalizer()
        self._cost = _START_COST
        self._finished = False

    # --- input -----------------------------------------------------------------

    def feed(self, text: str, reasoning: str = "") -> None:
        """Take new reasoning, then new answer text."""
        if reasoning and not self._answer_started:
            self._reasoning += reasoning
            self._reasoning_open = True
            self._queue_reasoning(final=False)
        if text:
            if not self._answer_started:
                self._answer_started = True
                self._queue_reasoning(final=True)
            self._tail += self._normalizer.feed(text)
            self._queue_blocks()

    def finish(self) -> None:
        """The reply is over: queue everything that is left."""
        if self._finished:
            return
        self._finished = True
        self._queue_reasoning(final=True)
        self._tail += self._normalizer.flush()
        if self._tail:
            kind = "fence" if self._open is not None else (self._live_kind or "paragraph_open")
            self._queue.append(_Block(self._tail, self._gap, kind))
            self._tail, self._open = "", None

    def resize(self, width: int, height: int) -> None:
        """Draw at a new size from now on."""
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            self._options = self._options_for(width)
            self._code_rows.reset()

    # --- output ----------------------------------------------------------------

    @property
    def backlog(self) -> bool:
        """Finished text is waiting to be printed."""
        return bool(self._queue) or self._fence is not None

    def print_rows(self, budget: float) -> list[Line]:
        """Rows of finished blocks for about `budget` seconds of rendering (one block at
        least), to be printed once into scrollback."""
        clock = time.perf_counter
        start = clock()
        rows: list[Line] = []
        while self.backlog:
            left = budget - (clock() - start)
            if rows and left <= 0:
                break
            # Small steps: the cost per character varies by kind (a table costs several
            # times a paragraph), and a step is never cut short.
            allowed = max(1, min(STEP_CHARS, int(left / self._cost)))
            began = clock()
            if self._fence is not None:
                chars = self._fence_rows(rows, allowed)
            else:
                chars = self._block_rows(rows, allowed)
            if chars >= 300:  # too short to time reliably
                measured = (clock() - began) / chars
                self._cost = 0.7 * self._cost + 0.3 * measured
        return [self._trim(row) for row in rows]

    def live_rows(self) -> list[Line]:
        """The unfinished tail as it looks now, at most the screen height less two rows."""
        from rich.markdown import Markdown
        from rich.text import Text

        from chatrepl.ui.code_render import CODE_THEME
        from chatrepl.ui.mdstream import preview_source

        if self.backlog:
            return []
        room = max(1, self.height - 2)
        if self._reasoning_open:
            text = Text(self._reasoning, REASONING_STYLE)
            rows = self.console.render_lines(text, self._options, pad=False)[-room:]
        elif not self._tail:
            return [] if self._answer_started else self._render(Text("…", style="dim"))
        elif self._open is not None:
            rows = self._code_rows.preview(
                self.console, self.width, self._open, after_gap=self._gap, max_lines=room
            )
        else:
            source = preview_source(self._tail, self._live_kind, room)
            # The blank row rich would put before it, without rendering the primer.
            rows = self._render(Markdown(source, code_theme=CODE_THEME))
            rows = ([[], *rows] if self._gap and rows else rows)[-room:]
        return [self._trim(row) for row in rows]

    def unprinted(self) -> str:
        """Everything not printed yet, as plain text (for when rendering fails)."""
        rest = self._fence.rest() + "\n" if self._fence is not None else ""
        rest += "".join(block.source for block in self._queue) + self._reasoning
        return rest + self._tail + self._normalizer.flush()

    def drop_unprinted(self) -> None:
        """Forget what was not printed (it was printed some other way)."""
        self._queue.clear()
        self._fence = None
        self._tail = self._reasoning = ""
        self._reasoning_open = False

    # --- helpers ---------------------------------------------------------------

    def _options_for(self, width: int) -> ConsoleOptions:
        return self.console.options.update(width=width, height=None)

    def _queue_reasoning(self, *, final: bool) -> None:
        if not self._reasoning_open:
            return
        if final:
            # The reasoning is over: its last partial line, then a gap before the answer.
            rest, self._reasoning = self._reasoning.rstrip("\n"), ""
            self._reasoning_open = False
            self._gap = True
            if rest:
                self._queue.append(_Block(rest, False, "reasoning"))
            return
        end = self._reasoning.rfind("\n") + 1
        if end:
            lines, self._reasoning = self._reasoning[: end - 1], self._reasoning[end:]
            self._queue.append(_Block(lines, False, "reasoning"))

    def _queue_blocks(self) -> None:
        from rich.markdown import Markdown, UnknownElement

        from chatrepl.ui.mdstream import find_blocks, open_fence

        # An open fence runs to the end of the text: nothing in it can be finished, and
        # this check is far cheaper than parsing a long code block on every refresh.
        self._open = open_fence(self._tail)
        if self._open is not None:
            self._live_kind = "fence"
            return
        blocks = find_blocks(self._tail)
        self._live_kind = blocks.live_kind
        if not blocks.ends:
            return
        self._code_rows.reset()
        start = 0
        for end, kind in blocks.ends:
            self._queue.append(_Block(self._tail[start:end], self._gap, kind))
            self._gap = Markdown.elements.get(kind, UnknownElement).new_line
            start = end
        self._tail = self._tail[start:]
        if blocks.live_kind == "fence":
            self._open = open_fence(self._tail)

    def _block_rows(self, rows: list[Line], allowed: int) -> int:
        from rich.text import Text

        from chatrepl.ui.code_render import FencePrinter
        from chatrepl.ui.mdstream import CODE_KINDS

        first = self._queue.popleft()
        if first.kind == "reasoning":
            rows += self._render(Text(first.source, REASONING_STYLE))
            return len(first.source)
        if first.kind in CODE_KINDS and len(first.source) > BIG_CODE:
            if first.after_gap:
                rows.append([])
            self._fence = FencePrinter(self.console, self._options, first.source)
            return 0
        # Neighbouring small blocks render together: one Markdown costs less than many.
        parts, size = [first.source], len(first.source)
        while self._queue and size < allowed:
            block = self._queue[0]
            if block.kind == "reasoning" or (
                block.kind in CODE_KINDS and len(block.source) > BIG_CODE
            ):
                break
            parts.append(self._queue.popleft().source)
            size += len(block.source)
        rows += self._markdown_rows("".join(parts), after_gap=first.after_gap)
        return size

    def _fence_rows(self, rows: list[Line], allowed: int) -> int:
        fence = self._fence
        assert fence is not None
        rows += fence.take(allowed)
        if fence.done:
            self._fence = None
        return allowed

    def _markdown_rows(self, source: str, *, after_gap: bool) -> list[Line]:
        from rich.markdown import Markdown

        from chatrepl.ui.code_render import CODE_THEME

        markdown = Markdown(_PRIMER + source if after_gap else source, code_theme=CODE_THEME)
        rows = self.console.render_lines(markdown, self._options, pad=False)
        return rows[_PRIMER_LINES:] if after_gap else rows

    def _render(self, renderable: RenderableType) -> list[Line]:
        return self.console.render_lines(renderable, self._options, pad=False)

    def _trim(self, row: Line) -> Line:
        return trim_row(row, width=self.width if self.to_edge else None)


_PAINTS_SPACE = ("underline", "underline2", "reverse", "strike", "overline", "frame", "encircle")
_paints_cache: dict[Any, bool] = {}


def _paints(style: Style | None) -> bool:
    """Whether a space in this style shows anything."""
    if style is None:
        return False
    known = _paints_cache.get(style)
    if known is None:
        known = style.bgcolor is not None or any(getattr(style, a) for a in _PAINTS_SPACE)
        if len(_paints_cache) < 4096:
            _paints_cache[style] = known
    return known


def trim_row(row: Line, *, width: int | None) -> Line:
    """`row` without the spaces rich padded it with.

    With `width` (the row ends at the terminal's right edge), a painted run of spaces that
    reaches that edge becomes "erase to end of line" in its style: the same cells, unwritten.
    """
    from rich.segment import Segment

    end = len(row)
    while end and not row[end - 1].control and not _paints(row[end - 1].style):
        text = row[end - 1].text
        kept = text.rstrip(" ")
        if kept:
            if len(kept) == len(text):
                return row[:end] if end < len(row) else row
            return [*row[: end - 1], Segment(kept, row[end - 1].style)]
        end -= 1
    if end < len(row):
        return row[:end]
    if width is None or not row:
        return row
    # The row ends in painted spaces: replace the run that reaches the edge, if what it
    # paints is only a background (an erase draws no underline or strike-through).
    style = row[-1].style
    if style is None or any(getattr(style, a) for a in _PAINTS_SPACE):
        return row
    cells = sum(segment.cell_length for segment in row)
    if cells != width:
        return row
    end = len(row)
    while end and row[end - 1].style == style and not row[end - 1].text.strip(" "):
        end -= 1
    head = row[:end]
    if end:
        text = row[end - 1].text
        kept = text.rstrip(" ")
        if row[end - 1].style == style and not row[end - 1].control and kept != text:
            head = [*row[: end - 1], Segment(kept, style)] if kept else row[: end - 1]
    if len(head) == len(row) and head[-1] is row[-1]:
        return row  # no padding at the end: text fills the row
    return [*head, _erase_line(style)]


def _erase_line(style: Style | None) -> Segment:
    from rich.segment import ControlType, Segment

    # A control segment takes no cells, so rich's own line measuring is unaffected.
    return Segment("\x1b[K", style, [(ControlType.ERASE_IN_LINE, 0)])
