"""StreamRenderer: finished text printed a bounded step at a time, rows without padding,
and the first text drawn as soon as it arrives. Checked through pyte against rich."""

from __future__ import annotations

import io
import re
import time

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from test_render import DOCS, HEIGHT, REALISTIC, WIDTH, printed_once, screen, terminal_console

from chatrepl.core.messages import TextDelta
from chatrepl.ui.rich_view import RichView, _Rows
from chatrepl.ui.stream_render import ROUGH_FOR, ROUGH_SHARE, StreamRenderer, trim_row

LONG_CODE = (
    "Before.\n\n```python\n"
    + "".join(
        f'def f_{n}(x):\n    """Doc {n}\n    spans lines."""\n    return x\n\n' for n in range(80)
    )
    + "```\n\nAfter.\n"
)
PROSE = "".join(f"Short paragraph number {n}.\n\n" for n in range(30))
TRAILING_SPACE = re.compile(r" +(?:\x1b\[[0-9;]*m)*(?:\n|$)")


def step_by_step(text: str, *, budget: float = 0.0) -> tuple[str, list[int]]:
    """Feed everything, then print the finished text one step per call; the output and
    how many rows each call printed."""
    console = terminal_console()
    renderer = StreamRenderer(console, width=WIDTH, height=HEIGHT, to_edge=True)
    renderer.feed(text)
    renderer.finish()
    sizes = []
    while renderer.backlog:
        rows = renderer.print_rows(budget)
        sizes.append(len(rows))
        console.print(_Rows(rows), crop=False)
    return console.file.getvalue(), sizes


@pytest.mark.parametrize("name", [*DOCS, "long-code"])
def test_printing_one_step_per_refresh_leaves_the_same_scrollback(name: str) -> None:
    text = LONG_CODE if name == "long-code" else DOCS[name]
    output, sizes = step_by_step(text)
    assert len(sizes) > 1  # printed progressively, not in one go
    assert screen(output) == printed_once(text)


def test_a_long_code_block_is_printed_a_line_per_step_with_a_zero_budget() -> None:
    output, sizes = step_by_step(LONG_CODE)
    code_lines = LONG_CODE.count("\n") - 6
    # One step per code line (the pad rows ride along), not the whole block at once.
    assert len(sizes) >= code_lines
    assert max(sizes) <= 3
    assert screen(output) == printed_once(LONG_CODE)


def test_a_budget_prints_neighbouring_blocks_together() -> None:
    _, slow = step_by_step(PROSE, budget=0.0)
    _, fast = step_by_step(PROSE, budget=10.0)
    assert len(slow) == 30  # one paragraph per step
    assert len(fast) == 1  # all of them in one step


def test_the_first_text_is_drawn_without_waiting_for_more() -> None:
    console = terminal_console()
    view = RichView(console, refresh_per_second=0.5)  # a tick only every 2 s otherwise
    view.begin_reply()
    time.sleep(0.05)  # the placeholder is drawn
    view.show(TextDelta("The first words"))
    deadline = time.monotonic() + 1.5
    while "The first words" not in console.file.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    shown = "The first words" in console.file.getvalue()
    view.end_reply(None)
    assert shown, "new text wakes the ticker"


def test_rows_carry_no_padding_and_cost_the_bytes_of_their_text() -> None:
    console = terminal_console()
    view = RichView(console)
    view.begin_reply()
    view.show(TextDelta(PROSE + REALISTIC))
    view.end_reply(None)
    output = console.file.getvalue()
    assert not TRAILING_SPACE.findall(output)
    prose = terminal_console()
    view = RichView(prose)
    view.begin_reply()
    view.show(TextDelta(PROSE))
    view.end_reply(None)
    padded = terminal_console()
    from rich.markdown import Markdown

    padded.print(Markdown(PROSE))
    assert len(prose.file.getvalue()) < len(padded.file.getvalue()) / 2
    assert screen(prose.file.getvalue()) == screen(padded.file.getvalue())


def test_the_live_region_carries_no_padding_either() -> None:
    console = terminal_console()
    view = RichView(console)
    view.begin_reply()
    view.show(TextDelta("A paragraph still being written, with `code`"))
    view.refresh()
    live = console.file.getvalue()
    view.end_reply(None)
    assert "A paragraph still being written" in live
    assert not TRAILING_SPACE.findall(live)


BG = Style(bgcolor="red")


@pytest.mark.parametrize(
    ("row", "width", "expected"),
    [
        ([Segment("text"), Segment("    ")], 8, [Segment("text")]),
        ([Segment("text   ", Style(bold=True))], 7, [Segment("text", Style(bold=True))]),
        ([Segment("text"), Segment("  ", Style(underline=True))], 6, None),  # visible
        ([Segment("code", BG), Segment("   ", BG)], 10, None),  # does not reach the edge
        ([Segment("code", BG), Segment("   ", BG)], None, None),  # no edge to reach
        ([Segment("text")], 4, None),
        ([], 4, []),
    ],
)
def test_trim_row(row: list[Segment], width: int | None, expected: list[Segment] | None) -> None:
    assert trim_row(row, width=width) == (row if expected is None else expected)


def test_a_painted_run_to_the_edge_becomes_erase_to_end_of_line() -> None:
    row = [Segment(" ", BG), Segment("code", BG), Segment("     ", BG)]
    trimmed = trim_row(row, width=10)
    assert [s.text for s in trimmed] == [" ", "code", "\x1b[K"]
    assert trimmed[-1].style == BG and trimmed[-1].control
    # On a terminal the erase paints the rest of the row in the block's background.
    console = Console(file=io.StringIO(), width=10, force_terminal=True, color_system="standard")
    console.print(_Rows([trimmed]), crop=False)
    assert "\x1b[41m\x1b[K" in console.file.getvalue()


# --- a cheap live tail ----------------------------------------------------------------


def plain(rows: list[list[Segment]]) -> list[str]:
    return ["".join(segment.text for segment in row) for row in rows]


def test_new_text_is_shown_raw_until_the_next_full_drawing_of_the_tail() -> None:
    renderer = StreamRenderer(terminal_console(), width=WIDTH, height=HEIGHT)
    renderer.feed("A paragraph with **bold")
    renderer.live_rows(exact=False)  # the first drawing is a full one
    renderer.feed(" words** and more ")
    rough = renderer.live_rows(exact=False)
    assert renderer.rough
    assert "**" in "".join(plain(rough))  # what came since is written as it came
    assert not any(row and row[-1].text.endswith(" ") for row in rough)  # never padded
    exact = renderer.live_rows()
    assert not renderer.rough
    assert plain(exact)[-1].strip() == "A paragraph with bold words and more"


def test_a_new_block_after_a_printed_one_is_shown_raw_until_the_next_full_drawing() -> None:
    renderer = StreamRenderer(terminal_console(), width=WIDTH, height=HEIGHT)
    renderer.feed("First **para**\n")
    renderer.live_rows(exact=False)  # the first drawing is a full one
    renderer.feed("\nSecond **one**\n")
    printed = renderer.print_rows(1.0)
    assert plain(printed)[0].strip() == "First para"
    rough = renderer.live_rows(exact=False)
    assert renderer.rough
    assert plain(rough)[:2] == ["", "Second **one**"]  # the gap rich leaves, then the raw text
    exact = renderer.live_rows()
    assert not renderer.rough
    assert [text.strip() for text in plain(exact)][:2] == ["", "Second one"]


def test_a_refresh_that_printed_leaves_a_costly_full_drawing_of_the_tail_for_later() -> None:
    renderer = StreamRenderer(terminal_console(), width=WIDTH, height=HEIGHT)
    renderer.feed("A paragraph with **bold")
    renderer.live_rows(exact=False)  # the first drawing is a full one
    # Past the moment raw text would be drawn in full anyway, whatever that drawing cost.
    time.sleep(max(ROUGH_FOR, ROUGH_SHARE * renderer._full_cost) + 0.1)
    renderer.feed(" words** and more")
    rough = renderer.live_rows(exact=False, spare=0.0)  # printing took the whole budget
    assert renderer.rough
    assert "**" in "".join(plain(rough))
    drawn = renderer.live_rows(exact=False, spare=1.0)  # time enough left: drawn in full
    assert not renderer.rough
    assert plain(drawn)[-1].strip() == "A paragraph with bold words and more"


def test_the_same_tail_is_not_drawn_twice() -> None:
    renderer = StreamRenderer(terminal_console(), width=WIDTH, height=HEIGHT)
    renderer.feed("| a | b |\n|---|---|\n| 1 | 2 |\n")
    first = renderer.live_rows(exact=False)
    assert renderer.live_rows(exact=False) is first  # nothing new: the rows as they were
    renderer.feed("| 3 | 4 |\n")
    assert renderer.live_rows(exact=False) is not first


def test_an_open_code_block_shows_new_lines_plain_then_highlighted() -> None:
    renderer = StreamRenderer(terminal_console(), width=WIDTH, height=HEIGHT)
    renderer.feed("```python\ndef f(x):\n")
    highlighted = renderer.live_rows(exact=False)
    renderer.feed("    return x\n")
    rough = renderer.live_rows(exact=False)
    assert renderer.rough
    assert any("return x" in text for text in plain(rough))
    exact = renderer.live_rows()
    assert plain(exact) == plain(rough)  # the same text, now in colour
    assert exact != rough and exact[: len(highlighted) - 1] == highlighted[:-1]


def test_raw_text_is_drawn_as_markdown_a_moment_later_without_more_text() -> None:
    console = terminal_console()
    view = RichView(console)
    view.begin_reply()
    view.show(TextDelta("Some **bold"))
    time.sleep(0.08)  # drawn in full
    view.show(TextDelta(" words** here"))
    time.sleep(0.6)  # no more text comes; the raw words must not stay
    seen = "\n".join(row for row, _ in screen(console.file.getvalue()))
    view.end_reply(None)
    assert "Some bold words here" in seen
    assert "**" not in seen


@pytest.mark.parametrize("lexer", ["python", "rust", "json", "bash", "text", "nonexistent"])
def test_code_rows_made_from_tokens_are_the_rows_syntax_makes(lexer: str) -> None:
    from rich.syntax import Syntax

    from chatrepl.ui.code_render import CodeRows, _lexer, code_theme

    code = 'def f(x):\n    """Doc."""\n\n    return {"a": [1, 2.5]}  # note\nfn main() {}'
    console = terminal_console()
    rows = CodeRows()
    rows.lexer = _lexer(lexer)
    syntax = Syntax(code, rows.lexer, theme=code_theme(), word_wrap=True, padding=(0, 1))
    expected = console.render_lines(syntax, console.options.update(width=WIDTH), pad=False)
    got = rows.render(console, code, WIDTH)
    assert [list(Segment.simplify(r)) for r in got] == [list(Segment.simplify(r)) for r in expected]


def test_code_rows_too_wide_or_with_tabs_are_left_to_syntax() -> None:
    from chatrepl.ui.code_render import _lexer, _short_line_rows

    lexer = _lexer("python")
    assert not isinstance(lexer, str)
    assert _short_line_rows(lexer, "x = 1", WIDTH) is not None
    assert _short_line_rows(lexer, "x" * (WIDTH - 1), WIDTH) is None  # it would wrap
    assert _short_line_rows(lexer, "\tx = 1", WIDTH) is None
    assert _short_line_rows(lexer, "x = '表'", WIDTH) is None  # two cells wide


@pytest.mark.parametrize("name", DOCS)
def test_the_shared_parser_draws_what_rich_markdown_draws(name: str) -> None:
    from rich.markdown import Markdown

    from chatrepl.ui.stream_render import markdown

    ours, theirs = terminal_console(), terminal_console()
    ours.print(markdown(DOCS[name]))
    ours.print(markdown(DOCS[name]))  # the parser is reused
    theirs.print(Markdown(DOCS[name]))
    theirs.print(Markdown(DOCS[name]))
    # (the same bytes but for each link's random id)
    assert screen(ours.file.getvalue()) == screen(theirs.file.getvalue())
    assert len(ours.file.getvalue()) == len(theirs.file.getvalue())


def test_words_added_to_the_last_row_are_written_alone_and_leave_no_copies() -> None:
    text = "Words arriving slowly, as a model types them one by one here.\n\nThe end.\n"
    console = terminal_console()
    view = RichView(console)
    view.begin_reply()
    words = text.split(" ")
    for n, word in enumerate(words):
        view.show(TextDelta(word if n == len(words) - 1 else word + " "))
        time.sleep(0.04)  # about one refresh per word
    view.end_reply(None)
    output = console.file.getvalue()
    # Most words went out on their own, not with the whole row written again.
    assert output.count("Words arriving") <= len(words) // 2
    assert screen(output) == printed_once(text)
