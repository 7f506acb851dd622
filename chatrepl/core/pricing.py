"""What replies cost: the config's price table, and totals from the stored usage.

Prices are the user's (`[prices."MODEL"] input = 3.0, output = 15.0, cached_input =
0.3`, dollars per million tokens; MODEL may be a pattern): none are bundled or guessed,
because they differ by provider and change. A cost is only ever worked out from a
reply's recorded `usage`, so a changed price applies to past turns too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chatrepl.core.context import lookup
from chatrepl.core.messages import TurnStats, Usage

PER = 1_000_000  # prices are per million tokens
PRICE_KEYS = ("input", "output", "cached_input")


@dataclass(frozen=True, slots=True)
class Price:
    """Dollars per million tokens."""

    input: float
    output: float
    cached_input: float | None = None  # None: cached input costs what input costs


def parse_prices(table: Any) -> dict[str, Price]:
    """`[prices."MODEL"]` tables, validated (ValueError says which key is wrong)."""
    if not isinstance(table, dict):
        raise ValueError("'prices' must be a table like [prices.\"MODEL\"]")
    prices: dict[str, Price] = {}
    for model, spec in table.items():
        if not isinstance(spec, dict):
            raise ValueError(f"'prices.{model}' must be a table [prices.\"{model}\"]")
        values: dict[str, float] = {}
        for key, value in spec.items():
            if key not in PRICE_KEYS:
                raise ValueError(
                    f"unknown key 'prices.{model}.{key}' (known: {', '.join(PRICE_KEYS)})"
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(
                    f"'prices.{model}.{key}' must be dollars per million tokens (a number "
                    f"0 or more), not {value!r}"
                )
            values[key] = float(value)
        missing = [k for k in ("input", "output") if k not in values]
        if missing:
            raise ValueError(
                f"'prices.{model}' needs {' and '.join(missing)} (dollars per million tokens)"
            )
        prices[model] = Price(values["input"], values["output"], values.get("cached_input"))
    return prices


def price_of(prices: Mapping[str, Price], model: str | None) -> Price | None:
    """The price for `model` (exact name first, then a pattern)."""
    found = lookup(prices, model)
    return found if isinstance(found, Price) else None


def cost(usage: Usage | None, price: Price | None) -> float | None:
    """Dollars for one reply; None without usage or a price."""
    if usage is None or price is None:
        return None
    prompt = usage.prompt_tokens or 0
    cached = min(usage.cached_tokens or 0, prompt)
    cached_price = price.input if price.cached_input is None else price.cached_input
    dollars = (prompt - cached) * price.input + cached * cached_price
    dollars += (usage.completion_tokens or 0) * price.output
    return dollars / PER


def format_cost(dollars: float) -> str:
    """$0.0042, $0.13, $12.50, $1,234."""
    if dollars == 0:
        return "$0"
    if dollars < 0.01:
        return f"${dollars:.4f}"
    if dollars < 1000:
        return f"${dollars:,.2f}"
    return f"${dollars:,.0f}"


@dataclass(slots=True)
class Totals:
    """Tokens and dollars over some replies of one model."""

    replies: int = 0
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    cost: float = 0.0
    unpriced: int = 0  # replies with usage but no price
    uncounted: int = 0  # replies the server sent no usage for

    def add(self, usage: Usage | None, price: Price | None, *, replies: int = 1) -> None:
        """Count `replies` replies whose usage adds up to `usage`."""
        self.replies += replies
        if usage is None or (usage.prompt_tokens is None and usage.completion_tokens is None):
            self.uncounted += replies
            return
        self.prompt += usage.prompt_tokens or 0
        self.completion += usage.completion_tokens or 0
        self.cached += usage.cached_tokens or 0
        dollars = cost(usage, price)
        if dollars is None:
            self.unpriced += replies
        else:
            self.cost += dollars

    def merge(self, other: Totals) -> None:
        """Add another model's or day's totals to these."""
        self.replies += other.replies
        self.prompt += other.prompt
        self.completion += other.completion
        self.cached += other.cached
        self.cost += other.cost
        self.unpriced += other.unpriced
        self.uncounted += other.uncounted

    def cost_text(self) -> str:
        """The cost, or why it is not known: "-" (no usage reported), "no price"."""
        counted = self.replies - self.uncounted
        if not counted:
            return "-"
        if self.unpriced == counted:
            return "no price"
        text = format_cost(self.cost)
        return f"{text} (+{self.unpriced} unpriced)" if self.unpriced else text


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One reply's billing facts, as /usage adds them up (from a session or the index)."""

    at: float | None  # wall clock of the request
    model: str
    usage: Usage | None
    replies: int = 1  # more than one: `usage` is their sum (the index adds up a day)


def by_model(rows: Iterable[UsageRow], prices: Mapping[str, Price]) -> dict[str, Totals]:
    """Totals per model, in first-seen order."""
    out: dict[str, Totals] = {}
    for row in rows:
        totals = out.setdefault(row.model, Totals())
        totals.add(row.usage, price_of(prices, row.model), replies=row.replies)
    return out


def day_of(at: float | None) -> str:
    """The local date a request was made on."""
    return "unknown date" if at is None else time.strftime("%Y-%m-%d", time.localtime(at))


@dataclass(slots=True)
class DayTotals:
    """Totals per model for one day."""

    day: str
    models: dict[str, Totals] = field(default_factory=dict)


def by_day(rows: Iterable[UsageRow], prices: Mapping[str, Price]) -> list[DayTotals]:
    """Totals per day and model, newest day first."""
    days: dict[str, DayTotals] = {}
    for row in rows:
        day = days.setdefault(day_of(row.at), DayTotals(day_of(row.at)))
        totals = day.models.setdefault(row.model, Totals())
        totals.add(row.usage, price_of(prices, row.model), replies=row.replies)
    return [days[d] for d in sorted(days, reverse=True)]


def reply_rows(stats: Iterable[TurnStats | None], *, fallback_model: str | None) -> list[UsageRow]:
    """The replies to count, from their stats (a reply without stats is skipped)."""
    return [
        UsageRow(s.started_at, s.model or fallback_model or "(server default)", s.usage)
        for s in stats
        if s is not None
    ]
