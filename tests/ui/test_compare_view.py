"""The rich compare view in process: columns or stacked panels, blind labels, the table."""

from __future__ import annotations

import io

import pytest

from chatrepl.core.comparison import Comparison, Target
from chatrepl.core.messages import TextDelta, TurnStats, Usage
from chatrepl.core.reply import CompareResult, Reply
from chatrepl.ui.rich_view import RichView


def console_view(width: int) -> tuple[RichView, io.StringIO]:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=width, height=30, color_system=None, force_terminal=False)
    return RichView(console), out


def run(view: RichView, comparison: Comparison, texts: list[str]) -> None:
    view.begin_compare(comparison)
    for index, text in enumerate(texts):
        for start in range(0, len(text), 7):
            view.compare_show(index, TextDelta(text[start : start + 7]))
    results = []
    for index, text in enumerate(texts):
        stats = TurnStats(ttft=0.1 * (index + 1), duration=1.0 + index, usage=Usage(3, 40))
        results.append(CompareResult(comparison.targets[index].model, Reply(text, "", stats)))
        view.compare_done(index, results[-1])
    comparison.results = results
    view.end_compare(comparison)


def test_side_by_side_headers_share_a_row_and_each_column_ends_with_its_stats() -> None:
    view, out = console_view(120)
    comparison = Comparison([], "q", [Target("alpha", "alpha"), Target("beta", "beta")])
    run(view, comparison, ["first answer from alpha", "second answer from beta"])
    lines = out.getvalue().splitlines()
    assert "alpha" in lines[0] and "beta" in lines[0]
    assert any("first answer from alpha" in line and "from beta" in line for line in lines)
    assert sum("first token 0.10s" in line and "first token 0.20s" in line for line in lines) == 1
    assert any(line.split()[:1] == ["alpha"] and "★" in line for line in lines)  # the table


def test_a_narrow_terminal_stacks_the_replies() -> None:
    view, out = console_view(60)
    comparison = Comparison([], "q", [Target("alpha", "alpha"), Target("beta", "beta")])
    run(view, comparison, ["first answer", "second answer"])
    lines = out.getvalue().splitlines()
    assert not any("alpha" in line and "beta" in line for line in lines)
    # numbered as /pick counts them: panels go out as their replies end, not in order
    panels = [i for i, line in enumerate(lines) if line.startswith(("1 · alpha ─", "2 · beta ─"))]
    assert len(panels) == 2


def test_blind_stacked_panels_keep_their_letters_only() -> None:
    view, out = console_view(60)
    targets = [Target("model-x", "model-x"), Target("model-y", "model-y")]
    comparison = Comparison([], "q", targets, order=[1, 0], blind=True, revealed=False)
    run(view, comparison, ["one", "two"])
    lines = out.getvalue().splitlines()
    assert sum(line.startswith(("A ─", "B ─")) for line in lines) == 2


def test_blind_columns_show_letters_until_revealed() -> None:
    view, out = console_view(120)
    targets = [Target("model-x", "model-x"), Target("model-y", "model-y")]
    comparison = Comparison([], "q", targets, order=[1, 0], blind=True, revealed=False)
    run(view, comparison, ["one", "two"])
    shown = out.getvalue()
    assert "model-" not in shown and "first token" not in shown
    assert shown.splitlines()[0].split() == ["A", "│", "B"]
    comparison.revealed = True
    view.reveal(comparison)
    revealed = out.getvalue()[len(shown) :]
    assert "A · model-y" in revealed and "B · model-x" in revealed
    assert "0.20s" in revealed  # the stats, now


def test_painted_padding_at_a_row_end_is_erased_not_written() -> None:
    from rich.segment import Segment
    from rich.style import Style

    from chatrepl.ui.compare_view import unpad

    code, plain = Style(bgcolor="grey11"), Style(bold=True)
    row = [Segment("x = 1", code), Segment("    ", code), Segment(" ", code)]
    erased = unpad(row, erase=True)
    assert [s.text for s in erased if not s.control] == ["x = 1"]
    assert [s.text for s in erased if s.control] == ["\x1b[4X\x1b[4C", "\x1b[1X\x1b[1C"]
    assert all(s.style == code for s in erased)  # erased in the background's colour
    partial = unpad([Segment("x = 1   ", code)], erase=True)
    assert [s.text for s in partial] == ["x = 1", "\x1b[3X\x1b[3C"]
    # no colour: the spaces show nothing and are dropped, with any before them
    assert [s.text for s in unpad([Segment("a  ", plain), *row[1:]], erase=False)] == ["a"]
    # painted spaces with text after them, or an underline, are written as they are
    inside = [Segment("   ", code), Segment("│", None)]
    assert unpad(inside, erase=True) is inside
    underlined = [Segment("a"), Segment("  ", Style(bgcolor="red", underline=True))]
    assert unpad(underlined, erase=True) is underlined


def test_each_columns_first_text_is_drawn_at_once_not_at_the_next_refresh() -> None:
    import time

    from rich.console import Console

    from chatrepl.ui.compare_view import CompareStream

    out = io.StringIO()
    console = Console(file=out, width=120, height=30, force_terminal=True, color_system=None)
    comparison = Comparison([], "q", [Target("alpha", "alpha"), Target("beta", "beta")])
    # one refresh every 100 s: only a column's first text may be drawn before that
    stream = CompareStream(console, comparison, refresh_per_second=0.01)

    def shows(text: str) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if text in out.getvalue():
                return True
            time.sleep(0.01)
        return False

    try:
        assert shows("streaming")  # the status line, before any text
        stream.add(0, TextDelta("alpha says hello"))
        assert shows("alpha says hello")
        stream.add(1, TextDelta("beta says hi"))
        assert shows("beta says hi")
    finally:
        stream.close()


def test_what_is_left_at_the_end_is_printed_a_piece_at_a_time_not_in_one_freeze() -> None:
    from rich.console import Console

    from chatrepl.ui.compare_view import CompareStream

    class Writes(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.pieces: list[str] = []

        def write(self, s: str) -> int:
            self.pieces.append(s)
            return super().write(s)

    out = Writes()
    console = Console(file=out, width=120, height=30, force_terminal=True, color_system=None)
    comparison = Comparison([], "q", [Target("alpha", "alpha"), Target("beta", "beta")])
    stream = CompareStream(console, comparison, refresh_per_second=0.01)
    # far more than one refresh's budget renders: ~0.2 s of paragraphs per column
    texts = ["\n\n".join(f"{m} paragraph {n} " + "word " * 40 for n in range(600)) for m in "ab"]
    for index, text in enumerate(texts):
        stream.add(index, TextDelta(text))
        stats = TurnStats(ttft=0.1, duration=1.0, usage=Usage(3, 40))
        stream.done(index, CompareResult(f"m{index}", Reply(text, "", stats)))
    before = len(out.pieces)
    stream.close()
    printed = [p for p in out.pieces[before:] if "paragraph" in p]
    assert len(printed) > 2  # the screen moved while the rest was rendered
    shown = out.getvalue()
    for m in "ab":
        assert all(shown.count(f"{m} paragraph {n} ") >= 1 for n in range(600))


def test_a_tail_left_for_the_next_refresh_is_drawn_even_if_no_more_text_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from rich.console import Console

    from chatrepl.ui import compare_view

    monkeypatch.setattr(compare_view, "LIVE_BUDGET", 0.0)  # one tail drawn per refresh
    out = io.StringIO()
    console = Console(file=out, width=120, height=30, force_terminal=True, color_system=None)
    targets = [Target("alpha", "alpha"), Target("beta", "beta"), Target("gamma", "gamma")]
    stream = compare_view.CompareStream(console, Comparison([], "q", targets))
    try:
        for index, target in enumerate(targets):
            stream.add(index, TextDelta(f"{target.model} speaks"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
            f"{t.model} speaks" in out.getvalue() for t in targets
        ):
            time.sleep(0.01)
        assert all(f"{t.model} speaks" in out.getvalue() for t in targets)
    finally:
        stream.close()
