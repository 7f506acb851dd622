"""The rows at the bottom of the terminal that a reply's tail is drawn in: `LiveRegion`.

It does what rich's `Live` (transient, refreshed only when told) did for a reply, at a
fraction of the cost: rows already rendered and trimmed (see stream_render) go to the
terminal as they are, in one write per refresh. rich's `Live` renders its rows again on
every refresh (splitting, cropping and measuring each segment, ~0.3 ms a time), and a
print above it renders them a second time; here a row is turned into escape codes once
and reused while it stays the same (most of a tail does: it only grows at the end).

The cursor rests at the end of the region's last row, so text that only extends that row
can be written where it is (`append`). A refresh goes back to the region's first row,
erasing each row on the way as rich's `Live` does, writes the rows that go to scrollback,
then the new region. Anything else printed on the console meanwhile (a notice) comes
above the region, as with `Live`: the region is a render hook of the console.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chatrepl.ui.stream_render import RowMemo

if TYPE_CHECKING:
    from rich.color import ColorSystem
    from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderResult

    from chatrepl.ui.stream_render import Line

_UP_ERASE = "\x1b[1A\x1b[2K"  # cursor up a row, erase it (as rich's Live moves back)


def _color_system(console: Console) -> ColorSystem | None:
    from rich.color import ColorSystem

    names = {
        "standard": ColorSystem.STANDARD,
        "256": ColorSystem.EIGHT_BIT,
        "truecolor": ColorSystem.TRUECOLOR,
        "windows": ColorSystem.WINDOWS,
    }
    return names.get(console.color_system or "")


class LiveRegion:
    """A transient region of rows at the cursor, redrawn in place."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.RLock()
        self._color_system = _color_system(console)
        self._no_color = console.no_color
        self._lines: list[str] = []  # the escape codes of each row on screen
        self._drawn = False  # the cursor is at the end of the region's last row
        # The escape codes of each row, made once while the same row stays on screen.
        self._lines_of: RowMemo[str] = RowMemo(self._row_codes)
        self._started = False

    def start(self) -> None:
        """Hide the cursor and take over prints on the console until `stop`."""
        with self._lock:
            if self._started:
                return
            self._started = True
            self.console.show_cursor(False)
            self.console.push_render_hook(_hook_class()(self))

    def stop(self) -> None:
        """Erase the region, leaving the cursor where it began; show the cursor."""
        with self._lock:
            if not self._started:
                return
            self._started = False
            self.console.pop_render_hook()
            self._write(self._back())
            self._lines = []
            self.console.show_cursor(True)

    def update(self, printed: list[Line], rows: list[Line]) -> None:
        """Print `printed` into scrollback above the region, then show `rows` in it.

        With nothing to print, only the rows from the first one that changed are written
        again (a growing tail changes at its end): fewer bytes for the terminal to draw.
        """
        with self._lock:
            lines = self._lines_of(rows)
            if printed or not self._drawn:
                out = [self._back(), *(self._row_codes(row) + "\n" for row in printed)]
                out.append("\n".join(lines))
                self._write("".join(out))
            else:
                self._write(self._changed(lines))
            self._lines, self._drawn = lines, bool(lines)

    def append(self, text: str, rows: list[Line]) -> None:
        """Write plain text at the end of the last row: `rows` are the rows shown then
        (the last one grew by `text`)."""
        with self._lock:
            self._write(text)
            self._lines = self._lines_of(rows)

    def around(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        """What the console prints instead of `renderables` while the region is shown
        (its render hook): they go above the region, which is drawn again below them."""
        return [_Codes(self, self._back), *renderables, _Codes(self, self._again)]

    # --- helpers ---------------------------------------------------------------

    def _back(self) -> str:
        """Codes that erase the region and leave the cursor at the start of its first row."""
        if not self._drawn:
            return ""
        self._drawn = False
        return "\r\x1b[2K" + _UP_ERASE * (len(self._lines) - 1)

    def _again(self) -> str:
        """The region drawn again from the cursor on (after `_back` and a print)."""
        self._drawn = bool(self._lines)
        return "\n".join(self._lines)

    def _changed(self, lines: list[str]) -> str:
        """Codes that turn the rows on screen into `lines`, from the first that differs."""
        old = self._lines
        same = 0
        for before, after in zip(old, lines, strict=False):
            if before != after:
                break
            same += 1
        if same == len(old) == len(lines):
            return ""
        # Back to the start of the first changed row (or of the last row kept, when rows
        # were only added or dropped: the cursor cannot be put after it without measuring).
        first = min(same, len(old) - 1, max(len(lines) - 1, 0))
        up = len(old) - 1 - first
        move = f"\r\x1b[{up}A" if up else "\r"
        return move + "\x1b[J" + "\n".join(lines[first:])

    def _row_codes(self, row: Line) -> str:
        """A row as the console would write it (rich's Console._render_buffer does this)."""
        from rich.segment import Segment

        color_system = self._color_system
        segments = Segment.remove_color(row) if self._no_color and color_system else row
        return "".join(
            style.render(text, color_system=color_system) if style else text
            for text, style, _control in segments
        )

    def _write(self, text: str) -> None:
        if text:
            file = self.console.file
            file.write(text)
            file.flush()


@lru_cache(maxsize=1)
def _hook_class() -> type[Any]:
    """rich's RenderHook, subclassed only when a region starts (rich loads lazily)."""
    from rich.console import RenderHook

    class Hook(RenderHook):
        def __init__(self, region: LiveRegion) -> None:
            self.region = region

        def process_renderables(
            self, renderables: list[ConsoleRenderable]
        ) -> list[ConsoleRenderable]:
            return self.region.around(renderables)

    return Hook


class _Codes:
    """Escape codes made when the console prints them (under the region's lock)."""

    def __init__(self, region: LiveRegion, make: Callable[[], str]) -> None:
        self.region = region
        self.make = make

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import ControlType, Segment

        with self.region._lock:
            codes = self.make()
        if codes:
            # A control segment is written as it is and takes no room in rich's layout
            # (its control list only marks it as one).
            yield Segment(codes, None, [(ControlType.CARRIAGE_RETURN,)])
