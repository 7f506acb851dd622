"""Prices from the config and what replies cost, one by one and added up."""

from __future__ import annotations

import time

import pytest

from chatrepl.core.errors import ConfigError
from chatrepl.core.messages import Usage
from chatrepl.core.pricing import (
    Price,
    Totals,
    UsageRow,
    by_day,
    by_model,
    cost,
    format_cost,
    parse_prices,
    price_of,
)
from chatrepl.core.settings import from_toml

SONNET = Price(3.0, 15.0, 0.3)


def test_a_reply_costs_its_prompt_its_cached_prompt_and_its_completion() -> None:
    # 10,000 in (4,000 of them from the cache), 1,000 out, at Sonnet's prices
    dollars = cost(Usage(10_000, 1_000, 11_000, cached_tokens=4_000), SONNET)
    assert dollars == pytest.approx((6_000 * 3.0 + 4_000 * 0.3 + 1_000 * 15.0) / 1e6)
    # no cached price: cached tokens cost what input costs
    assert cost(Usage(10_000, 0, cached_tokens=4_000), Price(3.0, 15.0)) == pytest.approx(0.03)
    assert cost(None, SONNET) is None and cost(Usage(1, 1), None) is None


@pytest.mark.parametrize(
    ("dollars", "text"),
    [(0.0, "$0"), (0.00423, "$0.0042"), (0.128, "$0.13"), (12.5, "$12.50"), (1234.4, "$1,234")],
)
def test_costs_read_as_dollars(dollars: float, text: str) -> None:
    assert format_cost(dollars) == text


def test_prices_by_name_then_by_pattern() -> None:
    prices = parse_prices(
        {"claude-*": {"input": 1, "output": 5}, "claude-4-5-sonnet": {"input": 3, "output": 15}}
    )
    assert price_of(prices, "claude-4-5-sonnet") == Price(3.0, 15.0)
    assert price_of(prices, "claude-4-5-haiku") == Price(1.0, 5.0)
    assert price_of(prices, "gpt-4o") is None


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ("[prices.m]\ninput = 3.0", "'prices.m' needs output"),
        ('[prices.m]\ninput = 3.0\noutput = "15"', "'prices.m.output' must be dollars per million"),
        ("[prices.m]\ninput = -1\noutput = 1", "'prices.m.input' must be dollars per million"),
        ("[prices.m]\ninput = 1\noutput = 1\ncache = 1", "unknown key 'prices.m.cache'"),
        ('prices = "cheap"', "'prices' must be a table"),
        ("[models.m]\ncontext = -5", "'models.m.context' must be a positive whole number"),
    ],
)
def test_a_bad_price_or_window_in_the_config_is_one_line(toml: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_toml(toml, path="config.toml")
    assert str(caught.value).startswith("config.toml: ")
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_config_reads_windows_and_prices() -> None:
    config = from_toml(
        '[models."llama3*"]\ncontext = 131072\n[prices."gpt-4o"]\ninput = 2.5\noutput = 10',
        path="c",
    )
    assert config.windows == {"llama3*": 131072}
    assert config.prices == {"gpt-4o": Price(2.5, 10.0)}


def test_totals_by_model_say_when_a_cost_is_unknown() -> None:
    prices = {"a": Price(1.0, 2.0)}
    rows = [
        UsageRow(1.0, "a", Usage(1_000_000, 500_000)),
        UsageRow(2.0, "a", None),  # the server sent no usage
        UsageRow(3.0, "b", Usage(10, 10)),  # no price for b
        UsageRow(4.0, "c", None),
    ]
    totals = by_model(rows, prices)
    assert list(totals) == ["a", "b", "c"]
    a = totals["a"]
    assert (a.replies, a.prompt, a.completion, a.uncounted) == (2, 1_000_000, 500_000, 1)
    assert a.cost == pytest.approx(2.0) and a.cost_text() == "$2.00"
    assert totals["b"].cost_text() == "no price"
    assert totals["c"].cost_text() == "-"
    everything = Totals()
    for t in totals.values():
        everything.merge(t)
    assert everything.cost_text() == "$2.00 (+1 unpriced)"


def test_totals_by_day_newest_first_in_local_dates() -> None:
    day = 86400.0
    noon = time.mktime((2026, 3, 10, 12, 0, 0, 0, 0, -1))
    rows = [
        UsageRow(noon, "a", Usage(100, 10)),
        UsageRow(noon + 60, "a", Usage(100, 10)),
        UsageRow(noon + day, "a", Usage(1, 1), replies=3),  # the index sums a day's replies
        UsageRow(noon + day, "b", Usage(5, 5)),
    ]
    days = by_day(rows, {"a": Price(1.0, 1.0)})
    assert [d.day for d in days] == ["2026-03-11", "2026-03-10"]
    assert days[0].models["a"].replies == 3 and set(days[0].models) == {"a", "b"}
    assert days[1].models["a"].prompt == 200
