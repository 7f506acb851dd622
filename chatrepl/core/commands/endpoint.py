"""/think and /limits: what this endpoint's dialect can be asked for, and what it allows."""

from __future__ import annotations

from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.dialect import describe_thinking, dialect, parse_think, think_problem
from chatrepl.core.errors import CommandError
from chatrepl.core.messages import RateLimits


def _think(ctx: CommandContext, args: str) -> None:
    name = ctx.settings.dialect
    if args:
        try:
            value = parse_think(args)
        except ValueError as exc:
            raise CommandError(f"/think takes {exc}, not {args!r}") from None
        problem = think_problem(name, value)
        if problem:
            raise CommandError(problem)
        ctx.set("think", value, "/think")
    shown = describe_thinking(name, ctx.settings.think)
    ctx.view.info(f"thinking: {shown} [{dialect(name).name} dialect]")


def limit_rows(limits: RateLimits) -> list[tuple[str, str, str, str]]:
    """Rows of (what, remaining, limit, resets in) for the limits the server named."""
    rows = [("", "remaining", "limit", "resets in")]
    for what, remaining, limit, reset in (
        ("requests", limits.remaining_requests, limits.limit_requests, limits.reset_requests),
        ("tokens", limits.remaining_tokens, limits.limit_tokens, limits.reset_tokens),
    ):
        if remaining is None and limit is None and reset is None:
            continue
        rows.append(
            (
                what,
                "?" if remaining is None else f"{remaining:,}",
                "?" if limit is None else f"{limit:,}",
                reset or "?",
            )
        )
    return rows


def _limits(ctx: CommandContext, args: str) -> None:
    limits = ctx.rate_limits
    if limits is None:
        ctx.view.info("no rate limits known: the server has sent no x-ratelimit-* headers yet")
        return
    ctx.view.table(limit_rows(limits), title="Rate limits (from the last response)")


COMMANDS: tuple[Command, ...] = (
    Command(
        "think",
        _think,
        "ask for reasoning: off, on, low|medium|high, or N tokens (Heroku)",
        "[off|on|N|low|medium|high]",
    ),
    Command("limits", _limits, "the server's rate limits: requests and tokens left"),
)
