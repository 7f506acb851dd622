"""The terminal views, checked through a terminal emulator (pyte) against rich itself.

The hard requirement: streaming a reply leaves exactly the scrollback that printing the
finished markdown once would, whatever the chunking and however often the live region
was redrawn. Nothing of rich is mocked; consoles write to StringIO and pyte replays it.
"""

from __future__ import annotations

import functools
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pyte
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.markdown import Markdown

from chatrepl.core.messages import ReasoningDelta, TextDelta, TurnStats, Usage
from chatrepl.ui import rich_view
from chatrepl.ui.mdstream import (
    NewlineNormalizer,
    find_blocks,
    find_cut,
    open_fence,
    preview_source,
    still_open,
)
from chatrepl.ui.plain import PlainView
from chatrepl.ui.rich_view import RichView, recording_view
from chatrepl.ui.stats import format_stats
from chatrepl.ui.stream_render import ROUGH_FOR
from chatrepl.ui.views import make_view

WIDTH, HEIGHT = 80, 24

CODE_PY = '''```python
def retry_delay(attempt: int, *, base: float = 0.5) -> float:
    """Exponential backoff with jitter."""
    return min(base * 2**attempt, 8.0) * (1 - 0.25 * random.random())
```'''

REALISTIC = f"""# Streaming markdown

Rendering a reply *as it streams* needs care: **finished** blocks go to scrollback,
and only the `tail` is redrawn. Links like [rich](https://github.com/Textualize/rich) stay.

## Steps

1. Parse the tail.
2. Print the finished blocks:
   - headings and paragraphs
   - lists, like this one
     - even nested ones
3. Redraw the rest.

- a bullet list right after
- with two items

| setting | value | note |
|---|---:|---|
| `refresh` | 20 | times a second |
| `height` | 24 | rows |

> A block quote that spans
> two lines, with **bold** text.
>
> - and a list inside

{CODE_PY}

---

Text right after a rule.

```bash
curl -sN "$INFERENCE_URL/v1/chat/completions" -d @payload.json
```

```json
{{"model": "m", "stream": true}}
```

Setext heading
--------------

Final paragraph, ending without a newline"""

BIG_CODE = (
    "```python\n"
    + "".join(
        f"def handler_{n}(event: dict) -> str:  # number {n}\n    return str(event)\n\n"
        for n in range(300)
    )
    + "```\n\nAfter the big block.\n"
)

TALL_CODE = "Intro.\n\n```text\n" + "".join(f"line {n:03d}\n" for n in range(60)) + "```\n"

TRICKY = """- starts with a list
- two

***

> quote right after a rule

#

Paragraph after an empty heading.
Lazy line.
    not code, a continuation

    indented code block

<div>html block</div>

Image ![alt](http://x/y.png) in a paragraph.

~~~
tilde fence with ``` inside
~~~
"""

DOCS = {"realistic": REALISTIC, "big-code": BIG_CODE, "tall-code": TALL_CODE, "tricky": TRICKY}


# --- helpers ---------------------------------------------------------------------


def terminal_console(*, height: int = HEIGHT) -> Console:
    """A fixed-size terminal console recording its bytes."""
    return Console(
        file=io.StringIO(),
        width=WIDTH,
        height=height,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )


def screen(data: str, *, height: int = HEIGHT) -> list[tuple[str, tuple[object, ...]]]:
    """Scrollback and screen after replaying `data`: text and attributes per row."""
    emulator = pyte.HistoryScreen(WIDTH, height, history=100_000)
    # The tty turns LF into CRLF (onlcr); pyte gets what rich wrote before that.
    pyte.Stream(emulator).feed(data.replace("\n", "\r\n"))
    rows = [*emulator.history.top, *(emulator.buffer[y] for y in range(height))]
    out = []
    for row in rows:
        chars = [row[x] for x in range(WIDTH)]
        text = "".join(ch.data for ch in chars).rstrip()
        out.append((text, tuple(_looks(ch) for ch in chars)))
    while out and not out[-1][0]:
        out.pop()
    return out


def _looks(ch: pyte.screens.Char) -> tuple[object, ...]:
    """What a cell shows: a blank shows only its background (and lines drawn through it);
    its colour and weight are invisible, and the streamed rows drop such padding."""
    if ch.data == " ":
        return (ch.bg, ch.reverse, ch.underscore, ch.strikethrough)
    return (ch.fg, ch.bg, ch.bold, ch.italics, ch.reverse, ch.underscore, ch.strikethrough)


def _background(looks: tuple[object, ...]) -> object:
    """A cell's background colour, from what `_looks` says of it."""
    return looks[0] if len(looks) == 4 else looks[1]


def texts(rows: list[tuple[str, tuple[object, ...]]]) -> list[str]:
    """Just the text of each row."""
    return [text for text, _ in rows]


@functools.lru_cache(maxsize=8)
def printed_once(text: str, *, height: int = HEIGHT) -> list[tuple[str, tuple[object, ...]]]:
    """The screen after printing the finished markdown in one go."""
    console = terminal_console(height=height)
    console.print(Markdown(text))
    return screen(console.file.getvalue(), height=height)


def stream(
    view: RichView,
    text: str,
    *,
    size: int = 4,
    draw_every: int = 0,
    sleep_every: int = 0,
    pause: float = 0.0,
) -> None:
    """Feed text in chunks; optionally force a draw or sleep every so many chunks."""
    view.begin_reply()
    for n, start in enumerate(range(0, len(text), size), 1):
        view.show(TextDelta(text[start : start + size]))
        if draw_every and n % draw_every == 0:
            view.refresh()
        if sleep_every and n % sleep_every == 0:
            time.sleep(pause)


# --- scrollback equality --------------------------------------------------------------


@pytest.mark.parametrize("name", DOCS)
def test_drawing_after_every_chunk_leaves_the_same_scrollback(name: str) -> None:
    text = DOCS[name]
    console = terminal_console()
    view = RichView(console)
    # Drawing after every chunk tries every cut point; the big block in coarser steps.
    stream(view, text, draw_every=1 if name != "big-code" else 97)
    view.end_reply(None)
    assert screen(console.file.getvalue()) == printed_once(text)


@pytest.mark.parametrize("name", DOCS)
def test_a_paced_stream_with_the_refresh_thread_leaves_the_same_scrollback(name: str) -> None:
    text = DOCS[name]
    console = terminal_console()
    view = RichView(console, refresh_per_second=100)
    # About 60 pauses, each long enough for the refresh thread to draw.
    stream(view, text, sleep_every=max(1, len(text) // 4 // 60), pause=0.012)
    view.end_reply(None)
    output = console.file.getvalue()
    assert output.count("\x1b[2K") > 10  # the live region really was redrawn
    assert screen(output) == printed_once(text)


def test_an_unpaced_stream_leaves_the_same_scrollback() -> None:
    console = terminal_console()
    view = RichView(console)
    stream(view, REALISTIC)
    view.end_reply(None)
    assert screen(console.file.getvalue()) == printed_once(REALISTIC)


# Not here: a link reference definition (`[x]: /url`) after its use. It changes text that
# was finished long before, so no streaming renderer can show it right (see mdstream).
BLOCKS = [
    "# Heading",
    "Setext\n===",
    "A paragraph with *em* and `code`.",
    "Two\nlines",
    "- a\n- b",
    "1. one\n2. two\n   - nested",
    "- loose\n\n- list",
    "> quote\n> more",
    "> quote\nlazy",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "```py\nx = 1\n```",
    "~~~\n```\n~~~",
    "```\nunclosed at the end?",
    "---",
    "***",
    "    indented code",
    "<div>\nhtml\n</div>",
    "#",
    ">",
    "-",
    "![img](u) text",
    "para\n# interrupting heading",
    "para\n- interrupting list",
    "para\n2. not a list",
    "a | b\n--|--",
    "line one  \nhard break",
    "para\n#hashtag, not a heading",
    "para\n```x`y, not a fence",
    "para\n***emphasis***",
]


@settings(max_examples=150, deadline=None)
@given(
    blocks=st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=8),
    separators=st.lists(st.sampled_from(["\n\n", "\n", "\n\n\n"]), min_size=8, max_size=8),
    size=st.integers(min_value=1, max_value=9),
    ending=st.sampled_from(["", "\n"]),
)
def test_any_block_sequence_and_chunking_matches_printing_once(
    blocks: list[str], separators: list[str], size: int, ending: str
) -> None:
    text = "".join(b + s for b, s in zip(blocks, separators, strict=False)).rstrip("\n") + ending
    # A plain (non-terminal) console: no live region, just the printed blocks, so every
    # cut point can be checked quickly against rich's own rendering.
    streamed = Console(file=io.StringIO(), width=60, color_system=None)
    view = RichView(streamed)
    stream(view, text, size=size, draw_every=1)
    view.end_reply(None)
    once = Console(file=io.StringIO(), width=60, color_system=None)
    once.print(Markdown(text))
    # The same rows; trailing spaces aside (the stream leaves rich's padding out, but
    # keeps a code block's, which is its background on a colour terminal).
    rows = [row.rstrip(" ") for row in streamed.file.getvalue().split("\n")]
    assert rows == [row.rstrip(" ") for row in once.file.getvalue().split("\n")]


# --- tall blocks, pauses, the live region ---------------------------------------------


def test_a_block_taller_than_the_screen_is_never_duplicated_or_cut() -> None:
    console = terminal_console()
    view = RichView(console)
    head, rest = TALL_CODE[: len(TALL_CODE) * 2 // 3], TALL_CODE[len(TALL_CODE) * 2 // 3 :]
    stream(view, head, draw_every=3)
    view.refresh()
    mid = texts(screen(console.file.getvalue()))
    shown = [row.strip() for row in mid if row.strip().startswith("line ")]
    assert shown, "the open block shows its latest lines live"
    assert len(shown) == len(set(shown)) <= HEIGHT  # one screenful at most, no copies
    assert shown[-1] == head.rstrip("\n").splitlines()[-1]
    for n in range(0, len(rest), 4):
        view.show(TextDelta(rest[n : n + 4]))
        view.refresh()
    view.end_reply(None)
    final = texts(screen(console.file.getvalue()))
    for n in range(60):
        assert sum(row.strip() == f"line {n:03d}" for row in final) == 1
    assert not any("```" in row for row in final)


def test_a_pause_shows_the_latest_text_without_further_chunks() -> None:
    console = terminal_console()
    view = RichView(console)  # the default 20 refreshes a second
    view.begin_reply()
    view.show(TextDelta("The answer is forty"))
    view.show(TextDelta("-two, and the reason"))
    time.sleep(0.15)  # the reader would be blocked in a socket read here
    seen = texts(screen(console.file.getvalue()))
    view.end_reply(None)
    assert "The answer is forty-two, and the reason" in seen


def test_text_after_a_quiet_spell_is_drawn_with_its_read_not_at_the_next_refresh() -> None:
    console = terminal_console()
    view = RichView(console, refresh_per_second=0.25)  # a refresh every 4 s at most
    view.begin_reply()
    view.show(TextDelta("The first words"))  # the first text: drawn at once
    deadline = time.monotonic() + 2
    while "The first words" not in "".join(texts(screen(console.file.getvalue()))):
        assert time.monotonic() < deadline, "the first text was never drawn"
        time.sleep(0.01)
    time.sleep(2.2)  # past half the interval: a reader that keeps up sleeps between reads
    view.show(TextDelta(" and the next ones"))
    time.sleep(0.8)  # the next refresh on the ticker's own beat is 1.8 s away
    seen = texts(screen(console.file.getvalue()))
    view.end_reply(None)
    assert "The first words and the next ones" in seen


def _shown_soon(console: Console, line: str, *, within: float = 5.0) -> None:
    """Wait until a row of the emulated screen reads `line`."""
    deadline = time.monotonic() + within
    while line not in texts(screen(console.file.getvalue())):
        assert time.monotonic() < deadline, f"never shown: {line!r}"
        time.sleep(0.005)


def test_between_full_refreshes_new_text_is_written_plain_then_drawn_as_markdown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Long enough apart that the plain moment cannot be missed on a loaded machine.
    monkeypatch.setattr(rich_view, "FULL_EVERY", 3.0)
    console = terminal_console()
    view = RichView(console)  # the default 20 refreshes a second
    view.begin_reply()
    view.show(TextDelta("Some *plain* words"))
    _shown_soon(console, "Some plain words")  # the first text: a full refresh, at once
    # Past the moment the renderer itself would show new text raw (ROUGH_FOR after a
    # full drawing): only the refresh that writes plain text shows it undrawn now.
    time.sleep(4 * ROUGH_FOR)
    view.show(TextDelta(" and `code` here"))
    # The next refresh writes the new text as it came, after the rows already drawn...
    _shown_soon(console, "Some plain words and `code` here", within=1.0)
    # ... and the next full one draws it as markdown, with no further text to wake it.
    _shown_soon(console, "Some plain words and code here")
    view.end_reply(None)
    assert screen(console.file.getvalue()) == printed_once("Some *plain* words and `code` here")


def test_new_lines_of_an_open_code_block_are_never_written_off_its_background(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rich_view, "FULL_EVERY", 3.0)
    console = terminal_console()
    view = RichView(console)
    view.begin_reply()
    view.show(TextDelta("```python\nx = 1\n"))
    _shown_soon(console, " x = 1")
    time.sleep(4 * ROUGH_FOR)  # as above: plain text now could only come from a plain refresh
    view.show(TextDelta("y = 2\n"))
    _shown_soon(console, " y = 2", within=1.0)
    rows = dict(screen(console.file.getvalue()))
    view.end_reply(None)
    # Not highlighted yet, but on the block's background, as the line above it.
    assert [_background(cell) for cell in rows[" y = 2"][:8]] == [
        _background(cell) for cell in rows[" x = 1"][:8]
    ]


def test_an_empty_reply_leaves_the_terminal_clean() -> None:
    console = terminal_console()
    view = RichView(console)
    view.begin_reply()
    time.sleep(0.06)  # let the placeholder be drawn
    view.end_reply(None)
    output = console.file.getvalue()
    assert texts(screen(output)) == []
    assert output.rindex("\x1b[?25h") > output.rindex("\x1b[?25l")  # cursor shown again


def test_ctrl_c_mid_reply_keeps_the_partial_text_and_restores_the_cursor() -> None:
    console = terminal_console()
    view = RichView(console)
    view.begin_reply()
    try:
        for chunk in ["Partial **ans", "wer** here\n\n```py\nx = ", "1\n"]:
            view.show(TextDelta(chunk))
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        view.end_reply(TurnStats(model="m", duration=1.0, interrupted=True))
    output = console.file.getvalue()
    rows = texts(screen(output))
    assert rows[0] == "Partial answer here"
    assert any(row.strip() == "x = 1" for row in rows)
    assert rows[-1].startswith("[interrupted] m")
    assert output.rindex("\x1b[?25h") > output.rindex("\x1b[?25l")


def test_reasoning_is_shown_dimmed_before_the_answer() -> None:
    console = terminal_console()
    view = RichView(console)
    view.begin_reply()
    for chunk in ["Let me th", "ink.\nThe user wants", " a list."]:
        view.show(ReasoningDelta(chunk))
    view.refresh()
    for chunk in ["- one\n", "- two\n"]:
        view.show(TextDelta(chunk))
    view.end_reply(None)
    rows = screen(console.file.getvalue())
    assert texts(rows)[:2] == ["Let me think.", "The user wants a list."]
    assert all(ch[3] for ch in rows[0][1][:3])  # italic ("Let")
    answer = printed_once("- one\n- two\n")
    assert rows[-len(answer) :] == answer
    assert texts(rows).count("The user wants a list.") == 1


def test_stats_line_follows_the_reply() -> None:
    console = terminal_console()
    view = RichView(console)
    stream(view, "Hello.")
    stats = TurnStats(
        model="claude-4-sonnet", ttft=0.25, duration=2.25, usage=Usage(completion_tokens=100)
    )
    view.end_reply(stats)
    rows = texts(screen(console.file.getvalue()))
    assert rows == [
        "Hello.",
        "claude-4-sonnet · first token 0.25s · total 2.25s · 100 tokens · 50.0 tok/s",
    ]


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        (TurnStats(model="m", duration=1.0, interrupted=True), "[interrupted] m · total 1.00s"),
        (TurnStats(model="m", truncated=True), "[stream ended early] m"),
        (
            TurnStats(
                duration=3.0, ttft=1.0, usage=Usage(completion_tokens=10), finish_reason="length"
            ),
            "first token 1.00s · total 3.00s · 10 tokens · 5.0 tok/s · finish: length",
        ),
        (TurnStats(model="m", usage=Usage(prompt_tokens=5)), "m"),
    ],
)
def test_format_stats(stats: TurnStats, expected: str) -> None:
    assert format_stats(stats) == expected


def test_info_error_and_table_lines() -> None:
    console = terminal_console()
    view = RichView(console)
    view.info("model: [bold]x[/bold]")  # not markup: shown as typed
    view.error("HTTP 500\nserver exploded")
    view.table([("/help", "show help"), ("/model", "switch model")], title="Commands")
    rows = texts(screen(console.file.getvalue()))
    assert rows[0] == "model: [bold]x[/bold]"
    assert rows[1] == "error: HTTP 500 server exploded"
    assert "Commands" in rows[2]
    assert any("/model" in row and "switch model" in row for row in rows)


def test_recording_console_keeps_only_the_final_picture(tmp_path: Path) -> None:
    view, console = recording_view(width=WIDTH, height=HEIGHT)
    view.info("> explain SSE")
    stream(view, REALISTIC, sleep_every=50, pause=0.002)
    view.end_reply(TurnStats(model="m", duration=1.0))
    text = console.export_text(clear=False)
    assert text.count("Text right after a rule.") == 1
    svg = tmp_path / "session.svg"
    console.save_svg(str(svg), title="chatrepl")
    assert svg.read_text().startswith("<svg")


def test_plain_mode_rich_view_streams_text_unrendered() -> None:
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None)
    view = RichView(console, plain=True)
    stream(view, "# not a heading\n**raw**")
    view.end_reply(None)
    assert console.file.getvalue() == "# not a heading\n**raw**\n"


# --- PlainView and the factory --------------------------------------------------------


def test_plain_view_passes_reply_bytes_through_untouched() -> None:
    out, err = io.StringIO(), io.StringIO()
    view = PlainView(out, err)
    reply = "# Title\r\n\n```py\nx = 1\n```\n\u00e9\u4e2d\U0001f600 \x1b[31m no trailing newline"
    view.begin_reply()
    view.show(ReasoningDelta("thinking..."))
    for n in range(0, len(reply), 3):
        view.show(TextDelta(reply[n : n + 3]))
    view.end_reply(TurnStats(model="m", interrupted=True))
    view.info("saved")
    view.error("boom\ntwice")
    assert out.getvalue() == reply + "\n"  # only a final newline is added, as echo does
    assert err.getvalue() == "thinking...\n[interrupted] m\nsaved\nerror: boom twice\n"


def test_plain_view_table_is_aligned_text_on_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    PlainView(out, err).table([("/a", "one"), ("/long", "two")], title="T")
    assert out.getvalue() == ""
    assert err.getvalue() == "T\n  /a     one\n  /long  two\n"


@pytest.mark.parametrize(
    ("plain", "isatty", "env", "color", "kind", "coloured"),
    [
        (False, True, {}, "auto", RichView, True),
        (True, True, {}, "auto", PlainView, None),
        (False, False, {}, "auto", PlainView, None),
        # NO_COLOR keeps the markdown laid out, without colour; empty, it is not set
        (False, True, {"NO_COLOR": "1"}, "auto", RichView, False),
        (False, True, {"NO_COLOR": ""}, "auto", RichView, True),
        (False, False, {"NO_COLOR": "1"}, "auto", PlainView, None),
        (True, True, {"FORCE_COLOR": "1"}, "auto", PlainView, None),  # --plain is raw text
        # FORCE_COLOR (not empty) and --color always render into a pipe too
        (False, False, {"FORCE_COLOR": "1"}, "auto", RichView, True),
        (False, False, {"FORCE_COLOR": ""}, "auto", PlainView, None),
        (False, False, {}, "always", RichView, True),
        (False, True, {"NO_COLOR": "1"}, "always", RichView, True),  # the setting wins
        (False, True, {}, "never", RichView, False),
        (False, False, {"FORCE_COLOR": "1"}, "never", PlainView, None),
        (False, True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, "auto", RichView, False),
    ],
)
def test_make_view(
    plain: bool, isatty: bool, env: dict[str, str], color: str, kind: type, coloured: bool | None
) -> None:
    view = make_view(
        plain=plain,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdout_isatty=isatty,
        env={"TERM": "xterm-256color", **env},
        color=color,
    )
    assert isinstance(view, kind)
    if isinstance(view, RichView):
        assert view.console.is_terminal
        assert (not view.console.no_color and view.console.color_system is not None) == coloured
        assert view.live == isatty  # a pipe never gets the live region's redraws


def test_importing_render_loads_no_rich_markdown_or_pygments() -> None:
    code = (
        "import sys, chatrepl.ui.rich_view; print(sorted(m for m in sys.modules if "
        "m.split('.')[0] in ('rich', 'markdown_it', 'pygments')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_warm_up_loads_what_the_first_reply_draws_with() -> None:
    # Whatever a reply imports on its way is paid between Enter and its first text.
    code = (
        "import io, sys\n"
        "from rich.console import Console\n"
        "from chatrepl.core.messages import TextDelta\n"
        "from chatrepl.ui.rich_view import RichView, warm_up\n"
        "warm_up()\n"
        "before = set(sys.modules)\n"
        "console = Console(file=io.StringIO(), force_terminal=True, width=60, height=20)\n"
        "view = RichView(console)\n"
        "view.begin_reply()\n"
        "view.show(TextDelta('# Title\\n\\nSome *text* and `code`.\\n\\n'))\n"
        "view.show(TextDelta('```python\\nx = 1\\n```\\n'))\n"
        "view.refresh()\n"
        "view.end_reply(None)\n"
        "print(sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in ('rich', 'markdown_it', 'pygments', 'chatrepl')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- mdstream: the pure cutting rules -------------------------------------------------

# Lines a growing list or table is made of, and every kind of line that could end it.
LINES = [
    *("- item", "- another `x`", "* star", "+ plus", "1. one", "2. two", "3) paren"),
    *("  indented", "    four in", "lazy words", "| a | b |", "|---|---|", "| 1 | 2 |"),
    *("", "- - -", "* * *", "- --", "---", "===", "# heading", "> quote", "```", "~~~"),
    *("<div>", "<!--", "-->", "[x]: /url", "-", "1.", "10. ten", "- [ ] task", "\t- tab"),
    *("  - nested", "   - nested 3", "  1. nested", " - one space", "     - five", "-     five"),
    *("  ```", "   text", "  # heading", "  > quote", "- ```", "  ---", "  - - -"),
]


@settings(max_examples=int(os.environ.get("STILL_OPEN_EXAMPLES", "1500")), deadline=None)
@given(
    st.lists(st.sampled_from(LINES), min_size=1, max_size=8),
    st.lists(st.sampled_from(LINES), min_size=1, max_size=4),
)
def test_a_block_said_to_be_still_open_is_what_parsing_again_finds(
    head: list[str], added: list[str]
) -> None:
    parsed_text = "\n".join(head) + "\n"
    before = find_blocks(parsed_text)
    if before.ends:
        return  # the renderer cuts finished blocks off first: the tail is one block
    tail = parsed_text + "\n".join(added) + "\n"
    if still_open(before.live_kind, tail, len(parsed_text), len(tail)):
        after = find_blocks(tail)
        assert (after.ends, after.live_kind) == ([], before.live_kind)


@pytest.mark.parametrize(
    ("tail", "parsed", "expected"),
    [
        ("- a\n- b\n- c\n", 4, True),  # another item of the same list
        ("1. a\n2. b\n", 5, True),
        ("| a |\n|---|\n| 1 |\n| 2 |\n", 12, True),
        ("- a\n* b\n", 4, False),  # another bullet: another list
        ("1. a\n2) b\n", 5, False),
        ("- a\n- - -\n", 4, False),  # a thematic break ends the list
        ("- a\n\n- b\n", 5, False),  # after a blank line: parsed again
        ("| a |\n|---|\n\n| 1 |\n", 13, False),  # a blank line ended the table
        ("- a\nlazy\n", 4, False),
        ("- a\n  - b\n  - c\n", 4, True),  # nested under the item: the same list
        ("1. a\n   - b\n", 5, True),
        ("1. a\n  - b\n", 5, False),  # not under the item's text: a list of its own
        ("- a\nlazy\n  - b\n", 4, False),  # a lazy line: parsed again
        ("- a\n\n  b\n- c\n", 9, True),  # a loose list
        ("1. one\n1.\n[x]: /url\n   text\n", 20, False),  # an empty item: parsed again
    ],
)
def test_still_open_takes_only_the_plainest_continuations(
    tail: str, parsed: int, expected: bool
) -> None:
    kind = find_blocks(tail[:parsed]).live_kind
    assert still_open(kind, tail, parsed, len(tail)) is expected


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("para", 0),
        ("para\n", 0),
        ("para\n\n", 0),
        ("para\n\nnext", 0),  # the next block has no whole line yet
        ("para\n\nnext\n", 6),
        ("para\n#", 0),  # "#" could still become "#x", which is not a heading
        ("para\n# h\n", 5),
        ("para\n---\n", 0),  # a setext heading: one block
        ("```\ncode\n\npara\n", 0),  # an open fence is never finished
        ("```\ncode\n```\n", 0),
        ("```\ncode\n```\nafter\n", 13),
        ("- a\n\n  still a\n", 0),
        ("- a\n\nb\n", 5),
        ("a | b\n--|--\n", 0),
    ],
)
def test_find_cut(text: str, end: int) -> None:
    assert find_cut(text).end == end


def test_find_cut_reports_block_kinds() -> None:
    cut = find_cut("# h\n\n- item\n\n> q\n")
    assert (cut.end, cut.last_kind, cut.live_kind) == (13, "bullet_list_open", "blockquote_open")


def test_open_fence() -> None:
    fence = open_fence("```python extra\na = 1\nb = 2\nc =")
    assert fence is not None
    assert (fence.lexer, fence.lines, fence.partial) == ("python", ["a = 1", "b = 2"], "c =")
    assert open_fence("```\nx\n```\n") is None
    assert open_fence("````\nx\n```\n") is not None  # a shorter fence does not close it
    assert open_fence("```a`b\nx\n") is None  # not a fence at all
    assert open_fence("para\n") is None


def test_preview_source_keeps_the_fence_opener_and_last_lines() -> None:
    tail = "```py\n" + "".join(f"l{n}\n" for n in range(50))
    # The last three lines, counting the (empty) one being written.
    assert preview_source(tail, "fence", 3) == "```py\nl48\nl49\n"
    assert preview_source("para\n" * 50, "paragraph_open", 3) == "para\n" * 50


def test_newline_normalizer_joins_a_crlf_split_across_chunks() -> None:
    normalizer = NewlineNormalizer()
    out = [normalizer.feed(chunk) for chunk in ["a\r", "\nb\r", "c\r\n", "d\r"]]
    assert "".join(out) + normalizer.flush() == "a\nb\nc\nd\n"


def test_the_stats_line_ends_with_the_cost_when_there_is_one() -> None:
    stats = TurnStats(model="m", usage=Usage(10, 20), cost=0.00423)
    assert format_stats(stats).endswith(" · 20 tokens · $0.0042")
    assert "$" not in format_stats(TurnStats(model="m", usage=Usage(10, 20)))


def test_a_search_hits_matches_are_highlighted_in_the_table() -> None:
    from chatrepl.core.search import MARK_END, MARK_START, highlighted

    console = terminal_console()
    snippet = highlighted(f"the {MARK_START}retry{MARK_END} field [bold]x")
    RichView(console).table([("1", "2026-01-05", snippet)], title="Search")
    emulator = pyte.Screen(WIDTH, HEIGHT)
    pyte.Stream(emulator).feed(console.file.getvalue().replace("\n", "\r\n"))
    (y,) = [
        y for y in range(HEIGHT) if "retry" in "".join(c.data for c in emulator.buffer[y].values())
    ]
    row = emulator.buffer[y]
    line = "".join(row[x].data for x in range(WIDTH))
    start = line.index("retry")
    assert all(row[x].reverse and row[x].bold for x in range(start, start + 5))
    assert not row[start - 2].reverse and not row[start + 6].reverse
    assert "[bold]x" in line  # the rest is text, not markup
    # a pipe gets the plain words
    out, err = io.StringIO(), io.StringIO()
    PlainView(out, err).table([("1", snippet)])
    assert err.getvalue() == "  1  the retry field [bold]x\n"


def test_a_table_too_wide_for_the_terminal_folds_its_long_cells_onto_their_own_lines() -> None:
    rows = [
        ("url", "http://127.0.0.1:8080", "env INFERENCE_URL"),
        ("model", "m", "remembered for this endpoint (/home/u/.local/state/chatrepl/e.json)"),
    ]

    def shown(width: int) -> list[str]:
        out = io.StringIO()
        RichView(Console(file=out, width=width, force_terminal=False)).table(rows, title="T")
        return [line.rstrip() for line in out.getvalue().split("\n")]

    wide = shown(120)
    assert "  model   m                       remembered for this endpoint (/home/u/" in "\n".join(
        wide
    )
    narrow = shown(60)
    assert narrow[:7] == [
        "T",
        "",
        "  url     http://127.0.0.1:8080   env INFERENCE_URL",
        "  model   m",
        "      remembered for this endpoint",
        "      (/home/u/.local/state/chatrepl/e.json)",
        "",
    ]
    assert all(len(line) < 60 for line in narrow) and "…" not in "".join(narrow)


def test_the_stats_line_breaks_between_its_parts_on_a_narrow_terminal() -> None:
    out = io.StringIO()
    view = RichView(Console(file=out, width=40, force_terminal=False))
    view.begin_reply()
    stats = TurnStats(model="claude-4-5-sonnet", ttft=0.01, duration=0.02, usage=Usage(9, 6))
    view.end_reply(stats)
    lines = out.getvalue().splitlines()
    assert all(len(line) < 40 for line in lines)
    assert all(not line.startswith("·") and not line.endswith("·") for line in lines)
    assert len(lines) > 1 and " · ".join(lines) == format_stats(stats)
