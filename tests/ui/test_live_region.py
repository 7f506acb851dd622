"""The live region a reply's tail is drawn in, replayed through pyte (a terminal emulator):
what stays on screen and in scrollback after each kind of redraw."""

from __future__ import annotations

import io

import pyte
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import ControlType, Segment
from rich.style import Style

from chatrepl.ui.live_region import LiveRegion
from chatrepl.ui.rich_view import _Rows
from chatrepl.ui.stream_render import Line

WIDTH, HEIGHT = 20, 8


def console(**options: object) -> Console:
    return Console(
        file=io.StringIO(),
        width=WIDTH,
        height=HEIGHT,
        force_terminal=True,
        color_system="truecolor",
        **options,  # type: ignore[arg-type]
    )


def replay(target: Console) -> pyte.HistoryScreen:
    written = target.file.getvalue()  # type: ignore[attr-defined]
    screen = pyte.HistoryScreen(WIDTH, HEIGHT, history=1000)
    pyte.Stream(screen).feed(written.replace("\n", "\r\n"))  # the tty's onlcr
    return screen


def lines(screen: pyte.HistoryScreen) -> list[str]:
    """Scrollback and screen as text, trailing blank rows dropped."""
    rows = [*screen.history.top, *(screen.buffer[y] for y in range(HEIGHT))]
    out = ["".join(row[x].data for x in range(WIDTH)).rstrip() for row in rows]
    while out and not out[-1]:
        out.pop()
    return out


def row(text: str, style: str | None = None) -> Line:
    return [Segment(text, Style.parse(style) if style else None)]


def test_each_update_replaces_the_rows_shown_and_prints_above_them() -> None:
    target = console()
    region = LiveRegion(target)
    region.start()
    region.update([], [row("one"), row("two"), row("three")])
    region.update([row("printed")], [row("four")])  # fewer rows: none of the old left
    region.update([], [row("five"), row("six")])
    screen = replay(target)
    assert lines(screen) == ["printed", "five", "six"]
    assert (screen.cursor.y, screen.cursor.x) == (2, 3)  # at the end of the last row


def test_stop_erases_the_region_and_leaves_the_cursor_where_it_began() -> None:
    target = console()
    target.print("before")
    region = LiveRegion(target)
    region.start()
    region.update([row("kept")], [row("live 1"), row("live 2")])
    region.stop()
    target.print("after")
    screen = replay(target)
    assert lines(screen) == ["before", "kept", "after"]
    assert "\x1b[?25l" in target.file.getvalue()  # type: ignore[attr-defined]
    assert target.file.getvalue().endswith("after\n")  # type: ignore[attr-defined]


def test_appended_words_then_a_redraw_leave_nothing_behind() -> None:
    target = console()
    region = LiveRegion(target)
    region.start()
    region.update([], [row("a"), row("b c")])
    region.append(" d", [row("a"), row("b c d")])
    region.update([], [row("x")])
    assert lines(replay(target)) == ["x"]


def test_a_print_on_the_console_goes_above_the_region_and_the_region_stays() -> None:
    target = console()
    region = LiveRegion(target)
    region.start()
    region.update([], [row("tail 1"), row("tail 2")])
    target.print("a notice")
    assert lines(replay(target)) == ["a notice", "tail 1", "tail 2"]
    region.update([], [row("tail 3")])
    region.stop()
    assert lines(replay(target)) == ["a notice"]


def test_rows_as_wide_as_the_terminal_do_not_wrap_into_extra_rows() -> None:
    target = console()
    region = LiveRegion(target)
    region.start()
    full = "x" * WIDTH
    region.update([row(full)], [row(full), row(full)])
    region.update([row("y" * WIDTH)], [row("z")])
    assert lines(replay(target)) == [full, "y" * WIDTH, "z"]


def test_a_region_taller_than_before_after_a_shorter_one() -> None:
    target = console()
    region = LiveRegion(target)
    region.start()
    for count in (1, 5, 2, 6, 0, 3):
        region.update([], [row(f"r{count}.{n}") for n in range(count)])
    assert lines(replay(target)) == ["r3.0", "r3.1", "r3.2"]


@pytest.mark.parametrize("system", ["standard", "256", "truecolor"])
def test_a_row_is_written_with_the_codes_rich_writes_for_it(system: str) -> None:
    styled: Line = [
        Segment("plain "),
        Segment("bold", Style.parse("bold red on blue")),
        Segment(" link", Style.parse("underline") + Style(link="https://example.com")),
        Segment("\x1b[K", Style.parse("on #272822"), [(ControlType.ERASE_IN_LINE, 0)]),
    ]
    ours = Console(file=io.StringIO(), width=WIDTH, force_terminal=True, color_system=system)  # type: ignore[arg-type]
    theirs = Console(file=io.StringIO(), width=WIDTH, force_terminal=True, color_system=system)  # type: ignore[arg-type]
    region = LiveRegion(ours)
    region.update([styled], [])
    theirs.print(_Rows([styled]), crop=False)  # how rows were printed before
    assert ours.file.getvalue() == theirs.file.getvalue()  # type: ignore[attr-defined]


def test_no_color_drops_colours_but_keeps_weight() -> None:
    target = console(no_color=True)
    region = LiveRegion(target)
    region.update([[Segment("x", Style.parse("bold red"))]], [])
    written = target.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[1m" in written and "31" not in written


def test_an_update_rewrites_only_from_the_first_changed_row() -> None:
    target = console()
    region = LiveRegion(target)
    region.start()
    region.update([], [row("first row"), row("second row"), row("third")])
    before = len(target.file.getvalue())  # type: ignore[attr-defined]
    region.update([], [row("first row"), row("second row"), row("third, longer")])
    written = target.file.getvalue()[before:]  # type: ignore[attr-defined]
    assert "third, longer" in written and "first row" not in written
    assert "second row" not in written
    assert lines(replay(target)) == ["first row", "second row", "third, longer"]


WORDS = ["", "a", "bb", "ccc dd", "x" * (WIDTH - 1), "y" * WIDTH]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(WORDS[1:]), max_size=2),  # printed above
            st.lists(st.sampled_from(WORDS), max_size=HEIGHT - 2),  # the region's rows
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_sequence_of_updates_leaves_the_printed_rows_then_the_last_region(
    steps: list[tuple[list[str], list[str]]],
) -> None:
    target = console()
    region = LiveRegion(target)
    region.start()
    printed: list[str] = []
    for above, shown in steps:
        region.update([row(text) for text in above], [row(text) for text in shown])
        printed += above
    expected = [*printed, *steps[-1][1]]
    while expected and not expected[-1]:
        expected.pop()
    assert lines(replay(target)) == expected
    region.stop()
    expected = list(printed)
    while expected and not expected[-1]:
        expected.pop()
    assert lines(replay(target)) == expected
