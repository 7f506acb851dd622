"""The comparison's words: each column's ending and the metrics table, best values starred."""

from __future__ import annotations

from chatrepl.core.comparison import Comparison, Target
from chatrepl.core.errors import ApiError
from chatrepl.core.messages import TurnStats, Usage
from chatrepl.core.reply import CompareResult, Reply
from chatrepl.ui.compare_table import column_end, markdown_table, metrics_rows


def result(model: str, ttft: float, duration: float, tokens: int, **extra: object) -> CompareResult:
    stats = TurnStats(
        model=model, ttft=ttft, duration=duration, usage=Usage(5, tokens), finish_reason="stop"
    )
    return CompareResult(model, Reply("text", "", stats, **extra))  # type: ignore[arg-type]


def comparison(**options: object) -> Comparison:
    c = Comparison([], "q", [Target(m, m) for m in ("fast", "slow", "broken")], **options)  # type: ignore[arg-type]
    c.results = [
        result("fast", 0.1, 1.1, 100),  # 100 tokens in 1.0 s
        result("slow", 0.5, 2.5, 100),  # 100 tokens in 2.0 s
        result("broken", 0.01, 0.02, 0, error=ApiError("HTTP 500: boom")),
    ]
    return c


def test_the_best_of_each_column_is_starred_and_a_failure_never_is() -> None:
    head, fast, slow, broken = metrics_rows(comparison())
    assert head == ["model", "first token", "total", "output tokens", "tok/s", "finish", "error"]
    assert fast == ["fast", "0.10s ★", "1.10s ★", "100", "100.0 ★", "stop", ""]
    assert slow == ["slow", "0.50s", "2.50s", "100", "50.0", "stop", ""]
    assert broken[0] == "broken" and "★" not in "".join(broken)  # its 0.01s is no record
    assert broken[-1] == "HTTP 500: boom" and broken[5] == "error"


def test_rows_follow_the_display_order_and_blind_rows_name_their_letter() -> None:
    c = comparison(order=[2, 0, 1], blind=True, revealed=True)
    rows = metrics_rows(c)
    assert [row[0] for row in rows[1:]] == ["A · broken", "B · fast", "C · slow"]


def test_a_blind_column_ends_without_its_stats_or_its_error() -> None:
    c = comparison(order=[1, 2, 0], blind=True, revealed=False)
    assert column_end(c, 0, c.results[0]) == ("done", False)
    line, is_error = column_end(c, 2, c.results[2])
    assert is_error and "boom" not in line and "broken" not in line
    c.revealed = True
    assert column_end(c, 2, c.results[2]) == ("error: HTTP 500: boom (partial reply kept)", True)
    assert column_end(c, 0, c.results[0])[0].startswith("first token 0.10s")


def test_markdown_table_escapes_pipes() -> None:
    text = markdown_table([["model", "error"], ["a", "x | y"]])
    assert text.splitlines() == ["| model | error |", "| --- | --- |", "| a | x \\| y |"]
