"""Finished code blocks drawn from pygments' tokens: the rows rich draws for the same
block inside the whole reply, segment for segment, whatever the code, lexer and width."""

from __future__ import annotations

import io

import pytest
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.markdown import Markdown
from rich.segment import Segment

from chatrepl.ui.stream_render import StreamRenderer, trim_row

Row = list[Segment]
LANGUAGES = ["python", "rust", "json", "bash", "c", "javascript", "nonexistent", ""]
WIDTHS = [12, 20, 41, 80, 100]
# Code characters: printable ASCII but the backtick (it could close the fence), and now
# and then what rows made from tokens must leave to rich: tabs, wide and accented letters.
ASCII = st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="`")
ODD = st.sampled_from(["\t", "表", "é", "\u00a0", "  ", "\x7f"])


def console(width: int) -> Console:
    return Console(
        file=io.StringIO(), width=width, height=24, force_terminal=True, color_system="truecolor"
    )


def simple(rows: list[Row], *, width: int | None) -> list[Row]:
    """Rows trimmed as the renderer trims them, neighbouring same-style segments joined
    (how rich splits a run into segments shows nowhere)."""
    joined = [list(Segment.simplify(row)) for row in rows]
    return [list(Segment.simplify(trim_row(row, width=width))) for row in joined]


def streamed(text: str, width: int, *, to_edge: bool, piece: int) -> list[Row]:
    """Every row the renderer prints for `text` fed `piece` characters at a time, one
    step of printing per piece and a line at a time after the end (zero budget)."""
    renderer = StreamRenderer(console(width), width=width, height=24, to_edge=to_edge)
    rows: list[Row] = []
    for start in range(0, len(text), piece):
        renderer.feed(text[start : start + piece])
        rows += renderer.print_rows(0.0)
    renderer.finish()
    while renderer.backlog:
        rows += renderer.print_rows(0.0)
    return rows


def printed_once(text: str, width: int) -> list[Row]:
    rich = console(width)
    return rich.render_lines(Markdown(text), rich.options.update(width=width), pad=False)


@st.composite
def code_line(draw: st.DrawFn, width: int) -> str:
    kinds = ["text", "text", "empty", "fits", "wraps", "long", "words", "words", "odd"]
    kind = draw(st.sampled_from(kinds))
    if kind == "empty":
        return ""
    if kind == "words":  # wrapped at word starts: words and runs of spaces of any length
        word = st.text(ASCII.filter(str.strip), min_size=1, max_size=width + 5)
        gap = st.sampled_from([" ", " ", "  ", "    ", " " * width, " " * (width + 3)])
        parts = draw(st.lists(st.tuples(word, gap), min_size=1, max_size=12))
        line = draw(st.sampled_from(["", "  ", " " * width])) + "".join(w + g for w, g in parts)
        return line if draw(st.booleans()) else line.rstrip(" ")
    if kind in ("fits", "wraps", "long"):
        size = {"fits": width - 2, "wraps": width - 1, "long": 2 * width + 3}[kind]
        line = draw(st.text(ASCII, min_size=size, max_size=size))
        return line
    line = draw(st.text(ASCII, max_size=width))
    if kind == "odd":
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(ODD) + line[at:]
    return line + draw(st.sampled_from(["", "", " ", "   "]))  # trailing spaces too


@st.composite
def reply(draw: st.DrawFn, width: int) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(["Some *prose*.", "# Title", "- a\n- b", "---"])))
        language = draw(st.sampled_from(LANGUAGES))
        lines = draw(st.lists(code_line(width), max_size=8))
        fence = draw(st.sampled_from(["```", "~~~~", "indented"]))
        if fence == "indented":  # a code block without a fence: no language
            parts.append("\n".join("    " + line for line in ["code", *lines]))
        else:
            parts.append(f"{fence}{language}\n" + "".join(line + "\n" for line in lines) + fence)
    ending = draw(st.sampled_from(["", "\n", "\n\nAfter.", "\n\nAfter.\n"]))
    return "\n\n".join(parts) + ending


@fuzz_settings
@given(data=st.data())
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("to_edge", [False, True])
def test_code_blocks_print_the_rows_rich_prints_for_the_whole_reply(
    data: st.DataObject, width: int, to_edge: bool
) -> None:
    text = data.draw(reply(width))
    piece = data.draw(st.sampled_from([4, 7, 10_000]))
    edge = width if to_edge else None
    expected = simple(printed_once(text, width), width=edge)
    assert simple(streamed(text, width, to_edge=to_edge, piece=piece), width=edge) == expected


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_lines_that_fit_wrap_or_hold_odd_characters_print_as_rich_prints_them(
    width: int, language: str
) -> None:
    lines = [
        "x" * (width - 2),  # exactly fits
        "y" * (width - 1),  # wraps by one
        "",
        'def f(a, b="s"):  # note   ',
        "\tif a: return {'k': [1, 2.5]}",
        "z" * (width - 4) + "表",
        "  w" * width,
        "word " * width,
        "a" + " " * (3 * width) + "b   ",
        "end",
    ]
    text = f"Intro.\n\n```{language}\n" + "\n".join(lines) + "\n```\n\nAfter.\n"
    expected = simple(printed_once(text, width), width=width)
    assert simple(streamed(text, width, to_edge=True, piece=4), width=width) == expected
    assert simple(streamed(text, width, to_edge=True, piece=len(text)), width=width) == expected


def test_a_closed_fence_with_a_paragraph_after_it_at_the_end_prints_both() -> None:
    # Without a line end after the paragraph, the reply's last piece holds both blocks.
    text = "```python\nx = 1\n```\n\nDone, and no line end"
    expected = simple(printed_once(text, 80), width=80)
    assert simple(streamed(text, 80, to_edge=True, piece=len(text)), width=80) == expected


def test_a_short_code_block_is_printed_from_its_tokens_a_line_per_step_too() -> None:
    text = "Intro.\n\n```python\nx = 1\ny = 2\nz = 3\n```\n\nAfter.\n"
    renderer = StreamRenderer(console(80), width=80, height=24)
    renderer.feed(text)
    renderer.finish()
    steps = []
    while renderer.backlog:
        steps.append(renderer.print_rows(0.0))
    # The intro; the blank row before the block; its top row and first line; the second
    # line; the third and the bottom row; the blank row and the paragraph after it.
    assert [len(rows) for rows in steps] == [1, 1, 2, 1, 2, 2]
    assert steps[-1] == simple(printed_once(text, 80), width=None)[-2:]
