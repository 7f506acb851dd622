"""The context window and what it costs: /context, /compact, /trim, /usage.

/compact and /trim never delete a message: they record which turns a request leaves
out (the session file keeps them all), and `/trim off` sends everything again.
"""

from __future__ import annotations

import time

from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.context import compact_number
from chatrepl.core.errors import CommandError
from chatrepl.core.pricing import Totals, by_day, by_model

USAGE_DAYS = 7


def _count(args: str, command: str) -> int | None:
    """An optional positive whole number of turns."""
    text = args.strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise CommandError(f"/{command} takes a number of turns to keep, not {text!r}")
    return int(text)


def _context(ctx: CommandContext, args: str) -> None:
    if args.strip():
        raise CommandError("/context takes no arguments (/compact and /trim change it)")
    reading = ctx.reading()
    model = ctx.settings.model or "the server default model"
    window = reading.window
    where = f"window from {window.source}" if window is not None else "window unknown"
    rows = [("size", f"~{reading.text()}", f"{model}; {where}")]
    if reading.counted:
        estimated = reading.tokens - reading.counted
        rows.append(
            (
                "counted",
                compact_number(reading.counted),
                f"by the server for the last reply, ~{compact_number(estimated)} estimated since",
            )
        )
    else:
        rows.append(("counted", "-", "no reply with usage yet: all estimated"))
    rows.append(("estimate", "", "UTF-8 bytes / 4, +4 a message, +1,000 an image"))
    record = ctx.conversation.compaction
    if record is not None and record.how != "full":
        left = sum(1 for m in ctx.conversation.messages[: record.upto] if m.role == "user")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.at))
        what = "summarised" if record.how == "summary" else "trimmed"
        rows.append(("left out", f"turns 1-{left}", f"{what} {when} (/trim off sends them again)"))
    rows.append(
        ("auto_compact", ctx.settings.auto_compact, "in the config: off, trim or summarise")
    )
    if window is None:
        rows.append(("tip", "", 'set [models."NAME"] context = N in the config for a meter'))
    ctx.view.table(rows, title="Context")


def _compact(ctx: CommandContext, args: str) -> None:
    record = ctx.compact(_count(args, "compact"))
    ctx.view.info(f"compacted: {ctx.describe_compaction(record)}")


def _trim(ctx: CommandContext, args: str) -> None:
    if args.strip().lower() in ("off", "none", "all"):
        record = ctx.send_everything()
        ctx.view.info(ctx.describe_compaction(record))
        return
    record = ctx.trim(_count(args, "trim"))
    ctx.view.info(f"trimmed: {ctx.describe_compaction(record)}")


def _row(label: str, model: str, totals: Totals) -> tuple[str, ...]:
    return (
        label,
        model,
        f"{totals.replies}",
        compact_number(totals.prompt),
        compact_number(totals.cached) if totals.cached else "-",
        compact_number(totals.completion),
        totals.cost_text(),
    )


_HEAD = ("", "model", "replies", "in", "cached", "out", "cost")


def _usage(ctx: CommandContext, args: str) -> None:
    text = args.strip().lower()
    if text in ("", "week"):
        days: int | None = USAGE_DAYS
    elif text == "all":
        days = None
    elif text.isdigit() and int(text) > 0:
        days = int(text)
    else:
        raise CommandError(f"/usage takes a number of days or all, not {args.strip()!r}")
    prices = ctx.prices
    session = by_model(ctx.session_usage(), prices)
    rows: list[tuple[str, ...]] = [_HEAD]
    total = Totals()
    for model, totals in session.items():
        rows.append(_row("this session", model, totals))
        total.merge(totals)
    if len(session) > 1:
        rows.append(_row("", "all models", total))
    if not session:
        rows.append(("this session", "-", "0", "-", "-", "-", "-"))
    if ctx.index is not None:
        since = None
        if days is not None:
            # from the start of the day `days - 1` days ago: "7 days" is this week
            today = time.localtime(ctx.now())
            midnight = time.mktime((today.tm_year, today.tm_mon, today.tm_mday, 0, 0, 0, 0, 0, -1))
            since = midnight - (days - 1) * 86400
        everything = Totals()
        for day in by_day(ctx.index.usage(since=since), prices):
            for model, totals in day.models.items():
                rows.append(_row(day.day, model, totals))
                everything.merge(totals)
        span = "all days" if days is None else f"last {days} days"
        if everything.replies:
            rows.append(_row(span, "all sessions", everything))
        else:
            rows.append((span, "-", "0", "-", "-", "-", "-"))
    title = "Usage: this session by model, then every saved session by day"
    ctx.view.table(rows, title=title)
    if not prices:
        ctx.view.info(
            'no prices set: add [prices."MODEL"] input = 3.0, output = 15.0 (dollars per '
            "million tokens) to the config to see costs"
        )


COMMANDS: tuple[Command, ...] = (
    Command("context", _context, "how full the model's context window is, and why"),
    Command(
        "compact",
        _compact,
        "have the model summarise the older turns; the summary is sent in their place",
        "[KEEP]",
    ),
    Command(
        "trim",
        _trim,
        "stop sending the oldest turns until the rest fits; off sends everything again",
        "[KEEP|off]",
    ),
    Command(
        "usage",
        _usage,
        "tokens and cost: this session by model, every session by day",
        "[DAYS|all]",
    ),
)
