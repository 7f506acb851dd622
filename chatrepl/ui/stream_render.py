"""One streamed markdown reply rendered at a given width: `StreamRenderer`. No thread, no
terminal: it turns text into rows (lists of rich Segments), and its caller writes them.

- Text is cut (see mdstream) into finished top-level blocks, queued once, and an
  unfinished tail. Each new piece of text is parsed once; only the tail (one block) is
  parsed again, so a refresh costs the same however much of the reply is finished.
- `print_rows(budget)` renders queued blocks for about `budget` seconds (small blocks
  together, a code block a few lines at a time, mostly from its tokens, see code_render),
  so a burst of text is printed progressively instead of freezing the screen.
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
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.segment import Segment
    from rich.style import Style

    from chatrepl.ui.code_render import CodeRows, FencePrinter
    from chatrepl.ui.mdstream import OpenFence

Line = list["Segment"]
T = TypeVar("T")
REASONING_STYLE = "dim italic"
STEP_CHARS = 1_500  # characters rendered at most in one step of printing finished text
_START_COST = 4e-6  # seconds of rendering per character, until measured
ROUGH_FOR = 0.15  # seconds new text may be shown raw after a full drawing of the tail
# ... and longer after a costly one: a full drawing of the tail takes at most about
# 1/ROUGH_SHARE of the time until the next (a long list or table costs milliseconds).
ROUGH_SHARE = 150

# rich.markdown puts a blank line before a top-level block when the element that closed
# last asks for one, so a block rendered on its own can differ from the same block inside
# the whole reply. Rendering it after this one-line paragraph, and dropping that line,
# puts it in the same state as after any block but a rule.
_PRIMER = "x\n\n"
_PRIMER_LINES = 1


def markdown(source: str) -> Any:
    """rich's `Markdown` for `source`, parsed by one MarkdownIt built once (rich builds a
    new one for every `Markdown`, a tenth of a millisecond each time: more than a short
    block costs to parse)."""
    return _markdown_class()(source)


@lru_cache(maxsize=1)
def _markdown_class() -> Any:
    from markdown_it import MarkdownIt
    from rich.markdown import Markdown

    from chatrepl.ui.code_render import CODE_THEME

    parser = MarkdownIt().enable("strikethrough").enable("table")  # as rich.markdown's

    class SharedParser(Markdown):
        def __init__(self, markup: str) -> None:  # what Markdown.__init__ sets
            self.markup = markup
            self.parsed = parser.parse(markup)
            self.code_theme = CODE_THEME
            self.justify = None
            self.style = "none"
            self.hyperlinks = True
            self.inline_code_lexer = None
            self.inline_code_theme = CODE_THEME

    probe = "x *y*\n\n- z"
    real, shared = Markdown(probe, code_theme=CODE_THEME), SharedParser(probe)
    same = vars(real).keys() == vars(shared).keys() and all(
        getattr(real, k) == getattr(shared, k) for k in vars(real) if k != "parsed"
    )
    if not same:  # another rich sets other fields: build them its own way
        return lambda source: Markdown(source, code_theme=CODE_THEME)
    return SharedParser


class RowMemo(Generic[T]):
    """What `make` gives for each row, made once while the same row (the same object)
    comes back call after call; rows no longer passed are forgotten."""

    def __init__(self, make: Callable[[Line], T]) -> None:
        self._make = make
        self._known: dict[int, tuple[Line, T]] = {}  # id(row) -> (row, what it made)

    def __call__(self, rows: list[Line]) -> list[T]:
        known, kept = self._known, {}
        out = []
        for row in rows:
            hit = known.get(id(row))
            if hit is None or hit[0] is not row:  # the row kept in `hit` holds its id
                hit = (row, self._make(row))
            kept[id(row)] = hit
            out.append(hit[1])
        self._known = kept
        return out


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
        self._fence: FencePrinter | None = None  # a code block being printed
        self._open: OpenFence | None = None  # the tail is this code block, still open
        self._live_kind: str | None = None
        self._code_rows: CodeRows = CodeRows()
        self._normalizer = NewlineNormalizer()
        self._cost = _START_COST
        self._finished = False
        self.rough = False  # the live rows shown carry text not drawn as markdown yet
        self._live_key: tuple[Any, ...] | None = None  # what the live rows were made of
        self._live_rows: list[Line] = []
        self._full: tuple[Any, str, list[Line]] | None = None  # the last full drawing
        self._full_at = 0.0  # when it was made
        self._full_cost = 0.0  # and what it cost, in seconds
        # Each row of an open code block trimmed once while it stays on screen: most are
        # the same from one refresh to the next (and the same trimmed row lets the live
        # region reuse what it wrote for it).
        self._trim_kept: RowMemo[Line] = RowMemo(self._trim)
        self._parsed = 0  # how much of the tail the block parser has seen (whole lines)

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
            added = self._normalizer.feed(text)
            self._tail += added
            # Blocks are cut at whole lines only: text with no line end in it changes
            # nothing the parser would see (an open fence still needs its last line).
            if "\n" in added or self._open is not None:
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
            self._tail, self._open, self._parsed = "", None, 0

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

    @property
    def takes_raw(self) -> bool:
        """New answer text can be shown for a moment as plain text after the live rows:
        the answer has begun, nothing waits to be printed, no reasoning is shown and the
        tail is not an open code block (plain text there would lack its background)."""
        return (
            self._answer_started
            and not self.backlog
            and not self._reasoning_open
            and self._open is None
        )

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

    def live_rows(self, *, exact: bool = True, spare: float | None = None) -> list[Line]:
        """The unfinished tail as it looks now, at most the screen height less two rows.

        Not `exact`, text that came since the last full drawing may be added to it raw
        (`rough` says so) for a while after it: a full drawing of a long list or table
        costs milliseconds, twenty times a second, while the reply is one-time work. So
        it is when the last full drawing took longer than `spare` seconds (what printing
        left of a refresh's budget): one refresh does not do both.
        The same tail twice gives the same list back, undrawn.
        """
        from rich.text import Text

        from chatrepl.ui.mdstream import preview_source

        if self.backlog:
            self.rough = False
            return []
        room = max(1, self.height - 2)
        size = (self.width, self.height, self._gap)
        if self._reasoning_open:
            key: tuple[Any, ...] = ("reasoning", self._reasoning, size)
        elif not self._tail:
            key = ("empty", self._answer_started, size)
        elif self._open is not None:
            key = ("fence", self._tail, size)
        else:
            key = ("markdown", self._tail, size)
        clock = time.perf_counter
        began = clock()
        rough = not exact and (
            began - self._full_at < max(ROUGH_FOR, ROUGH_SHARE * self._full_cost)
            or (spare is not None and self._full_cost > spare)
        )
        if key == self._live_key and (rough or not self.rough):
            return self._live_rows
        drawn = False
        if self._reasoning_open:
            text = Text(self._reasoning, REASONING_STYLE)
            rows = self.console.render_lines(text, self._options, pad=False)[-room:]
            rows = [self._trim(row) for row in rows]
        elif not self._tail:
            rows = [] if self._answer_started else self._render(Text("…", style="dim"))
        elif self._open is not None:
            rows = self._code_rows.preview(
                self.console,
                self.width,
                self._open,
                after_gap=self._gap,
                max_lines=room,
                rough=rough,
            )
            rows = self._trim_kept(rows)
            drawn = not rough
            rough = rough and self._code_rows.rough
        else:
            source = preview_source(self._tail, self._live_kind, room)
            shown = self._full
            if (
                rough
                and shown is not None
                and shown[0][:2] == size[:2]
                and (shown[0] != size or not source.startswith(shown[1]))
            ):
                # A new block began (the one drawn went to scrollback): it too is shown
                # raw until the next full drawing is due, not drawn at once; a paced
                # stream finishes a block every few refreshes.
                shown = self._full = (size, "", [[], []] if self._gap else [[]])
            if rough and shown is not None and shown[0] == size and source.startswith(shown[1]):
                rows = rough_rows(shown[2], source[len(shown[1]) :], self.width)[-room:]
            else:
                rough = False
                rendered = self._render(markdown(source))
                # The blank row rich would put before it, without rendering the primer.
                gapped = [[], *rendered] if self._gap and rendered else rendered
                full = [self._trim(row) for row in gapped]
                self._full = (size, source, full)
                rows = full[-room:]
                drawn = True
        if drawn:
            self._full_at, self._full_cost = clock(), clock() - began
        self.rough = rough
        self._live_key, self._live_rows = key, rows
        return rows

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
        self._parsed = 0

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

        from chatrepl.ui.mdstream import find_blocks, open_fence, still_open

        # An open fence runs to the end of the text: nothing in it can be finished, and
        # this check is far cheaper than parsing a long code block on every refresh.
        self._open = open_fence(self._tail)
        if self._open is not None:
            self._live_kind = "fence"
            return
        complete = self._tail.rfind("\n") + 1
        if still_open(self._live_kind, self._tail, self._parsed, complete):
            self._parsed = complete  # another list item or table row: nothing finished
            return
        blocks = find_blocks(self._tail)
        self._live_kind = blocks.live_kind
        self._parsed = complete - blocks.end
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
        from chatrepl.ui.mdstream import CODE_KINDS, code_block

        first = self._queue.popleft()
        if first.kind == "reasoning":
            rows += self._render(Text(first.source, REASONING_STYLE))
            return len(first.source)
        # A code block of any size is drawn by FencePrinter: most of its rows come from
        # pygments' tokens directly, a tenth of what rich's Syntax costs, and a long one a
        # budget at a time.
        code = code_block(first.source) if first.kind in CODE_KINDS else None
        if code is not None:
            if first.after_gap:
                rows.append([])
            self._fence = FencePrinter(self.console, self._options, *code)
            return 0
        # Neighbouring small blocks render together: one Markdown costs less than many.
        parts, size = [first.source], len(first.source)
        while self._queue and size < allowed:
            block = self._queue[0]
            if block.kind == "reasoning" or block.kind in CODE_KINDS:
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
        return fence.taken

    def _markdown_rows(self, source: str, *, after_gap: bool) -> list[Line]:
        rendered = markdown(_PRIMER + source if after_gap else source)
        rows = self.console.render_lines(rendered, self._options, pad=False)
        return rows[_PRIMER_LINES:] if after_gap else rows

    def _render(self, renderable: RenderableType) -> list[Line]:
        return self.console.render_lines(renderable, self._options, pad=False)

    def _trim(self, row: Line) -> Line:
        return trim_row(row, width=self.width if self.to_edge else None)


def rough_rows(rows: list[Line], extra: str, width: int) -> list[Line]:
    """`rows` with `extra` written after them as plain text, wrapped at `width` cells."""
    from rich.cells import cell_len, chop_cells
    from rich.segment import Segment

    kept = len(rows) - 1  # rows before this one are left as they are
    done = rows[:-1]
    last = list(rows[-1]) if rows else []
    used = sum(segment.cell_length for segment in last)
    for number, line in enumerate(extra.split("\n")):
        if number:
            done.append(last)
            last, used = [], 0
        while line:
            if used >= width:
                done.append(last)
                last, used = [], 0
            part = chop_cells(line, width - used)[0]
            last.append(Segment(part))
            used += cell_len(part)
            line = line[len(part) :]
    done.append(last)
    # No trailing spaces written, even for a moment (a word's space waits for the word).
    return done[: max(0, kept)] + [trim_row(row, width=None) for row in done[max(0, kept) :]]


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
