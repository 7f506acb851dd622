"""Pure formatting of what the views show: the stats line, one-line messages."""

from __future__ import annotations

from chatrepl.core.messages import TurnStats

STATS_STYLE = "dim"


def format_stats(stats: TurnStats) -> str:
    """One line about a finished reply: model, latency, size and speed."""
    flag = "[interrupted] " if stats.interrupted else ""
    if stats.truncated and not stats.interrupted:
        flag = "[stream ended early] "
    parts: list[str] = []
    if stats.model:
        parts.append(stats.model)
    if stats.ttft is not None:
        parts.append(f"first token {stats.ttft:.2f}s")
    if stats.duration is not None:
        parts.append(f"total {stats.duration:.2f}s")
    usage = stats.usage
    if usage is not None and usage.completion_tokens is not None:
        thinking = f" ({usage.reasoning_tokens} reasoning)" if usage.reasoning_tokens else ""
        parts.append(f"{usage.completion_tokens} tokens{thinking}")
    elif usage is not None and usage.reasoning_tokens:
        parts.append(f"{usage.reasoning_tokens} reasoning tokens")
    rate = stats.tokens_per_second
    if rate is not None:
        parts.append(f"{rate:.1f} tok/s")
    if stats.cost is not None:
        from chatrepl.core.pricing import format_cost

        parts.append(format_cost(stats.cost))
    if stats.finish_reason and stats.finish_reason not in ("stop", "error"):
        parts.append(f"finish: {stats.finish_reason}")
    return (flag + " · ".join(parts)).strip()


def one_line(text: str) -> str:
    """Collapse a message to a single line (errors must not spill over several)."""
    return " ".join(text.split())


def fold_line(text: str, width: int) -> str:
    """A line wider than `width` broken between its ` · ` parts (a stats line), else
    between words; never inside a word."""
    import textwrap

    lines: list[str] = []
    for part in text.split(" · "):
        joined = f"{lines[-1]} · {part}" if lines else part
        if lines and len(joined) <= width:
            lines[-1] = joined
        else:
            lines += textwrap.wrap(part, width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines)
