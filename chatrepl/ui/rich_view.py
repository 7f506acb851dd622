"""The rich adapter for the View port: `RichView`, streaming markdown incrementally.

Streaming design: the reply is split (see mdstream) into finished top-level markdown
blocks, printed once into scrollback, and an unfinished tail, drawn in a small rich
`Live` region that is never taller than the screen. A ticker thread does all parsing and
drawing at most `refresh_per_second` times a second, so `show()` only appends text
under a lock; it also keeps the tail fresh while the reader blocks in a socket read.

When `a` ends at a top-level block boundary, `Markdown(a + b)` draws `a` as
`Markdown(a)` does, then `b` as it would after a block that ends like `a` does (see
`_InReply`), so the final scrollback equals printing the whole reply once. An open code
block is previewed from cached highlighted rows (`_CodeTail`), so a long one costs the
same per refresh as a short one.

Nothing from rich is imported at module level: the CLI imports this module before the
first prompt, and rich.markdown (markdown_it, pygments) costs tens of milliseconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chatrepl.core.messages import ReasoningDelta, TextDelta, TurnStats
from chatrepl.ui.stats import STATS_STYLE, format_stats, one_line

if TYPE_CHECKING:
    from pygments.lexer import Lexer
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.live import Live
    from rich.segment import Segment

    from chatrepl.core.reply import CompareResult
    from chatrepl.ui.mdstream import OpenFence

CODE_THEME = "monokai"  # rich.markdown's default; the live preview must match it
REASONING_STYLE = "dim italic"
HIGHLIGHT_STYLE = "bold reverse"  # a search hit's matching words


# rich.markdown puts a blank line before a top-level block when the element that closed
# last asks for one, so a block rendered on its own can differ from the same block inside
# the whole reply. Rendering it after this one-line paragraph, and dropping that line,
# puts it in the same state as after any block but a rule.
_PRIMER = "x\n\n"
_PRIMER_LINES = 1


class _InReply:
    """Markdown blocks drawn exactly as they appear inside the whole reply.

    `after_gap`: the block before them asks for a blank line (every kind but a rule).
    `max_lines`: draw only the last lines, so a live tail never outgrows the screen.
    """

    def __init__(self, source: str, *, after_gap: bool, max_lines: int | None = None) -> None:
        self.source = source
        self.after_gap = after_gap
        self.max_lines = max_lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.markdown import Markdown

        source = _PRIMER + self.source if self.after_gap else self.source
        markdown = Markdown(source, code_theme=CODE_THEME)
        lines = console.render_lines(markdown, options.update(height=None), pad=False)
        yield from _rows(lines[_PRIMER_LINES if self.after_gap else 0 :], self.max_lines)


class _LastLines:
    """Any renderable cut to its last `max_lines` lines (the reasoning preview)."""

    def __init__(self, renderable: RenderableType, *, max_lines: int) -> None:
        self.renderable = renderable
        self.max_lines = max_lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options.update(height=None), pad=False)
        yield from _rows(lines, self.max_lines)


def _rows(lines: list[list[Segment]], max_lines: int | None) -> RenderResult:
    from rich.segment import Segment

    for line in lines[-max_lines:] if max_lines else lines:
        yield from line
        yield Segment.line()


class _CodeRows:
    """Rendered rows of an open code block, kept between refreshes.

    Highlighting the last screenful of a long block on every refresh would cost ~10 ms;
    lines only ever get appended, so each refresh renders just the new ones.
    """

    def __init__(self) -> None:
        self.key: tuple[str, int] | None = None  # (lexer, width) the rows were made for
        self.lexer: Lexer | str = "text"  # looked up once: pygments' lookup costs ~1 ms
        self.done = 0  # how many code lines are in `rows`
        self.rows: list[list[Segment]] = []
        self.pad: list[Segment] = []  # the blank row rich puts above and below code

    def reset(self) -> None:
        """Forget the rows: the block they belong to was printed."""
        self.key, self.done, self.rows = None, 0, []

    def update(self, console: Console, width: int, fence: OpenFence, keep: int) -> None:
        """Render the lines added since the last call; keep the last `keep` rows."""
        if self.key != (fence.lexer, width):
            from rich.syntax import Syntax

            self.reset()
            self.key = (fence.lexer, width)
            self.lexer = Syntax("", fence.lexer).lexer or fence.lexer
            self.pad = self.render(console, "", width)[0]
        if len(fence.lines) > self.done:
            new = fence.lines[max(self.done, len(fence.lines) - keep) :]
            self.rows += self.render(console, "\n".join(new), width)
            self.rows = self.rows[-keep:]
            self.done = len(fence.lines)

    def render(self, console: Console, code: str, width: int) -> list[list[Segment]]:
        """Rows of highlighted code, as rich.markdown's CodeBlock draws them."""
        from rich.syntax import Syntax

        # CodeBlock uses padding=1: one column each side and one row above and below;
        # the rows above and below are added by the caller.
        syntax = Syntax(code, self.lexer, theme=CODE_THEME, word_wrap=True, padding=(0, 1))
        return console.render_lines(syntax, console.options.update(width=width), pad=False)


class _CodeTail:
    """An open fenced code block drawn live from cached rows plus the line in progress."""

    def __init__(
        self, fence: OpenFence, rows: _CodeRows, *, after_gap: bool, max_lines: int
    ) -> None:
        self.fence = fence
        self.rows = rows
        self.after_gap = after_gap  # a code block is drawn at once: the blank line is ours
        self.max_lines = max_lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        self.rows.update(console, width, self.fence, self.max_lines)
        lines: list[list[Segment]] = [[]] if self.after_gap else []
        lines += [self.rows.pad, *self.rows.rows]
        if self.fence.partial.strip():
            lines += self.rows.render(console, self.fence.partial, width)
        lines.append(self.rows.pad)
        yield from _rows(lines, self.max_lines)


class _Slot:
    """What the Live region shows. Live keeps one renderable between its own refreshes
    and draws it again after every print, so the tail is swapped in here."""

    def __init__(self) -> None:
        self.current: RenderableType = ""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.current


class _ReplyStream:
    """One reply being streamed: finished blocks go to scrollback, the tail stays live."""

    def __init__(self, console: Console, *, refresh_per_second: float) -> None:
        from rich.live import Live

        self.console = console
        self._interval = 1.0 / refresh_per_second
        self._lock = threading.Lock()
        self._pending: list[str] = []  # answer text not yet looked at by the ticker
        self._reasoning_pending: list[str] = []
        self._tail = ""  # answer text not yet printed into scrollback
        self._reasoning = ""  # reasoning text not yet printed (a partial line)
        self._answer_started = False
        self._reasoning_open = False  # reasoning was shown and the answer has not begun
        self._gap = False  # the last printed block asks for a blank line after it
        self._live_kind: str | None = None
        self._code_rows = _CodeRows()
        self._fence: OpenFence | None = None  # the tail is this code block, still open
        self._dirty = True
        self._failed = False
        self._unprinted = ""  # taken from the buffers for a print that has not finished
        from chatrepl.ui.mdstream import NewlineNormalizer

        self._normalizer = NewlineNormalizer()
        # A recording console keeps every byte it writes: live redraws would all end up
        # in the picture, so it only ever gets the finished blocks.
        self._live: Live | None = None
        self._slot = _Slot()
        if console.is_terminal and not console.is_dumb_terminal and not console.record:
            self._live = Live(
                self._slot,
                console=console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._run, name="chatrepl-render", daemon=True)
        self._ticker.start()

    # --- called by the engine's thread -----------------------------------------

    def add(self, event: TextDelta | ReasoningDelta) -> None:
        """Queue a piece of the reply; the ticker draws it."""
        with self._lock:
            if isinstance(event, ReasoningDelta):
                if self._answer_started:
                    return  # reasoning after the answer began would split the markdown
                self._reasoning_pending.append(event.text)
            else:
                self._answer_started = True
                self._pending.append(event.text)
            self._dirty = True

    def draw(self) -> None:
        """Draw what has arrived now instead of at the next tick."""
        self._tick()

    def close(self) -> None:
        """Print everything still pending and give the terminal back."""
        self._stop.set()
        try:
            if self._ticker is not threading.current_thread():
                self._ticker.join()
        finally:
            with self._lock:
                try:
                    self._flush()
                except Exception:
                    self._failed = True  # the text matters more than its looks
                    self._flush()
                finally:
                    if self._live is not None:
                        self._live.stop()

    # --- the ticker ------------------------------------------------------------

    def _run(self) -> None:
        wait = 0.0  # draw the placeholder at once
        while not self._stop.wait(wait):
            started = time.perf_counter()
            try:
                self._tick()
            except Exception:
                # Never kill the reply over a rendering bug: close() prints it unrendered.
                self._failed = True
                return
            # Back off when a refresh gets costly (a huge list or table being written),
            # so redrawing never takes more than about a third of the time.
            wait = max(self._interval, 2.0 * (time.perf_counter() - started))

    def _tick(self) -> None:
        from rich.console import Group

        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            printed = self._take_reasoning(final=False) + self._take_blocks()
            if self._live is not None:
                # The new tail goes in first, so the print below redraws the live region
                # only once, already without the blocks it moves into scrollback.
                self._slot.current = self._tail_view()
            if printed:
                self.console.print(Group(*printed))
            elif self._live is not None:
                self._live.refresh()
            self._unprinted = ""

    def _flush(self) -> None:
        from rich.console import Group
        from rich.text import Text

        self._dirty = False
        self._slot.current = ""
        if self._failed:
            rest = self._unprinted + self._reasoning + "".join(self._reasoning_pending)
            rest += self._tail + "".join(self._pending)
            self._unprinted, self._reasoning, self._tail = "", "", ""
            self._reasoning_pending.clear()
            self._pending.clear()
            if rest:
                self.console.print(Text(rest))
            return
        printed = self._take_reasoning(final=True)
        self._tail += self._normalizer.feed("".join(self._pending)) + self._normalizer.flush()
        self._pending.clear()
        if self._tail:
            printed.append(_InReply(self._tail, after_gap=self._gap))
            self._unprinted += self._tail
            self._tail = ""
        if printed:
            self.console.print(Group(*printed))
        self._unprinted = ""

    # --- helpers (the lock is held) -------------------------------------------

    def _take_reasoning(self, *, final: bool) -> list[RenderableType]:
        from rich.text import Text

        if self._reasoning_pending:
            self._reasoning += "".join(self._reasoning_pending)
            self._reasoning_pending.clear()
            self._reasoning_open = True
        if not self._reasoning_open:
            return []
        if self._answer_started or final:
            # The reasoning is over: print its last partial line, then leave a gap.
            rest, self._reasoning = self._reasoning.rstrip("\n"), ""
            self._reasoning_open = False
            self._gap = True
            self._unprinted += rest + "\n\n"
            return [Text(rest, REASONING_STYLE)] if rest else []
        end = self._reasoning.rfind("\n") + 1
        if not end:
            return []
        lines, self._reasoning = self._reasoning[: end - 1], self._reasoning[end:]
        self._unprinted += lines + "\n"
        return [Text(lines, REASONING_STYLE)]

    def _take_blocks(self) -> list[RenderableType]:
        from rich.markdown import Markdown, UnknownElement

        from chatrepl.ui.mdstream import find_cut, open_fence

        if self._pending:
            self._tail += self._normalizer.feed("".join(self._pending))
            self._pending.clear()
        # An open fence runs to the end of the text: nothing in it can be finished, and
        # this check is far cheaper than parsing a long code block on every refresh.
        self._fence = open_fence(self._tail)
        if self._fence is not None:
            self._live_kind = "fence"
            return []
        cut = find_cut(self._tail)
        self._live_kind = cut.live_kind
        if not cut.end:
            return []
        self._code_rows.reset()
        finished, self._tail = self._tail[: cut.end], self._tail[cut.end :]
        self._unprinted += finished
        if cut.live_kind == "fence":
            self._fence = open_fence(self._tail)
        printed: list[RenderableType] = [_InReply(finished, after_gap=self._gap)]
        element = Markdown.elements.get(cut.last_kind or "", UnknownElement)
        self._gap = element.new_line
        return printed

    def _tail_view(self) -> RenderableType:
        from rich.text import Text

        from chatrepl.ui.mdstream import preview_source

        room = max(1, self.console.size.height - 2)
        if self._reasoning_open:
            return _LastLines(Text(self._reasoning, REASONING_STYLE), max_lines=room)
        if not self._tail:
            return Text("…", style="dim") if not self._answer_started else Text("")
        if self._fence is not None:
            return _CodeTail(self._fence, self._code_rows, after_gap=self._gap, max_lines=room)
        source = preview_source(self._tail, self._live_kind, room)
        return _InReply(source, after_gap=self._gap, max_lines=room)


class RichView:
    """The View for a terminal: rich markdown replies, styled info, error and stats lines."""

    def __init__(
        self,
        console: Console,
        *,
        plain: bool = False,
        refresh_per_second: float = 20,
    ) -> None:
        self.console = console
        self.plain = plain  # replies as raw text (no markdown), everything else styled
        self.refresh_per_second = refresh_per_second
        self._stream: _ReplyStream | None = None
        self._line_open = False  # plain mode: the reply's last line has no newline yet

    def info(self, text: str) -> None:
        """A plain line for the user."""
        self.console.print(text, markup=False, highlight=False)

    def error(self, text: str) -> None:
        """A one-line failure, in red."""
        from rich.text import Text

        self.console.print(Text(f"error: {one_line(text)}", style="red"))

    def notice(self, text: str) -> None:
        """A dim line about what is happening (a retry wait), above any live reply."""
        from rich.text import Text

        self.console.print(Text(one_line(text), style=STATS_STYLE))

    def table(self, rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
        """A small table (help, settings, models, sessions)."""
        from rich import box
        from rich.table import Table

        table = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
        for row in rows:
            table.add_row(*(_cell(cell) for cell in row))
        self.console.print(table, markup=False, highlight=False)

    def compare(self, results: Sequence[CompareResult]) -> None:
        """Each model's answer as markdown in its own column, its stats at the bottom."""
        from rich.columns import Columns
        from rich.console import Group
        from rich.markdown import Markdown
        from rich.panel import Panel
        from rich.text import Text

        width = max(20, (self.console.width - 1) // max(1, len(results)) - 1)
        panels = []
        for result in results:
            parts: list[Any] = [Markdown(result.text)] if result.text else []
            if result.error:
                parts.append(Text(f"error: {one_line(result.error)}", style="red"))
            if result.stats:  # inside, not in the border, where a narrow column cuts it
                parts.append(Text(format_stats(result.stats), style=STATS_STYLE))
            panels.append(Panel(Group(*parts), title=result.model, width=width))
        self.console.print(Columns(panels, equal=True))

    def begin_reply(self) -> None:
        """A reply is about to stream."""
        self._end_stream()
        if not self.plain:
            self._stream = _ReplyStream(self.console, refresh_per_second=self.refresh_per_second)

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

            self.console.print(Text(format_stats(stats), style=STATS_STYLE))

    def _end_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()


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
