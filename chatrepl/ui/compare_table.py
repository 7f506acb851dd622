"""Pure formatting of a comparison's words: column endings and the metrics table.

Both views (rich and plain) show the same table, so it is worked out here, as strings.
The best value of each column where "best" means something is marked ★: the shortest
time to first token and total time, the highest tokens/s, the lowest cost. Output
tokens get no star: more is not better. A blind comparison shows none of it (the stats
would give the models away) until it is revealed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from chatrepl.core.comparison import Comparison
from chatrepl.core.reply import CompareResult
from chatrepl.ui.stats import format_stats, one_line

STAR = "★"
BLIND_NOTE = "(blind: names and stats are shown after /vote)"


def hidden(comparison: Comparison) -> bool:
    """Whether names and stats must not be shown yet."""
    return comparison.blind and not comparison.revealed


def column_end(comparison: Comparison, index: int, result: CompareResult) -> tuple[str, bool]:
    """The line a column ends with, and whether it is an error line."""
    reply = result.reply
    if hidden(comparison):
        if reply.error is not None:
            return "failed (the error is shown after /vote)", True
        return ("interrupted" if reply.interrupted else "done"), False
    if reply.error is not None:
        kept = " (partial reply kept)" if reply.text else ""
        return f"error: {one_line(str(reply.error))}{kept}", True
    # without the model: the column's header names it already
    return format_stats(replace(reply.stats, model=None)), False


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}s"


def metrics_rows(comparison: Comparison) -> list[list[str]]:
    """The metrics table, header row first, one row per target in display order."""
    results = comparison.results
    by_target = dict(enumerate(results))
    priced = any(r.reply.stats.cost is not None for r in results)
    header = ["model", "first token", "total", "output tokens", "tok/s", "finish", "error"]
    if priced:
        header.insert(5, "cost")

    def values(pick: Callable[[CompareResult], float | None]) -> list[float]:
        return [v for r in results if r.reply.error is None and (v := pick(r)) is not None]

    ttft = values(lambda r: r.reply.stats.ttft)
    total = values(lambda r: r.reply.stats.duration)
    rate = values(lambda r: r.reply.stats.tokens_per_second)
    cost = values(lambda r: r.reply.stats.cost)
    best = {
        "ttft": min(ttft, default=None),
        "total": min(total, default=None),
        "rate": max(rate, default=None),
        "cost": min(cost, default=None),
    }
    several = len(results) > 1

    def mark(text: str, value: float | None, key: str, failed: bool) -> str:
        if several and not failed and value is not None and value == best[key] and text:
            return f"{text} {STAR}"
        return text

    rows = [header]
    for index in comparison.order:
        result = by_target.get(index)
        if result is None:
            continue
        stats, error = result.reply.stats, result.reply.error
        failed = error is not None
        made = stats.usage.completion_tokens if stats.usage is not None else None
        tokens = "" if made is None else str(made)
        rate_text = "" if stats.tokens_per_second is None else f"{stats.tokens_per_second:.1f}"
        finish = "interrupted" if stats.interrupted else (stats.finish_reason or "")
        if failed:
            finish = "error"
        elif stats.truncated and not stats.interrupted:
            finish = "stream ended early"
        name = comparison.label(index)
        if comparison.blind:
            name = f"{comparison.letter(index)} · {name}"
        row = [
            name,
            mark(_seconds(stats.ttft), stats.ttft, "ttft", failed),
            mark(_seconds(stats.duration), stats.duration, "total", failed),
            tokens,
            mark(rate_text, stats.tokens_per_second, "rate", failed),
            finish,
            one_line(str(error)) if error is not None else "",
        ]
        if priced:
            from chatrepl.core.pricing import format_cost

            shown = "" if stats.cost is None else format_cost(stats.cost)
            row.insert(5, mark(shown, stats.cost, "cost", failed))
        rows.append(row)
    return rows


def markdown_table(rows: list[list[str]]) -> str:
    """Rows (header first) as a Markdown pipe table."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    head, *body = rows
    return "\n".join([line(head), line(["---"] * len(head)), *(line(r) for r in body)])
