"""What /search and --search make of the words typed: FTS5 queries, --since, snippets."""

from __future__ import annotations

import time

import pytest

from chatrepl.core.commands.search import parse_query
from chatrepl.core.errors import CommandError
from chatrepl.core.search import MARK_END, MARK_START, fts_query, highlighted, parse_since, plain


@pytest.mark.parametrize(
    ("typed", "query"),
    [
        ("sqlite", '"sqlite"'),
        ("SSE retry", '"SSE" AND "retry"'),
        ('"exact phrase" word', '"exact phrase" AND "word"'),
        ("pars*", '"pars"*'),
        ("snake_case", '"snake_case"'),
        ("don't", '"don t"'),
        ("retry -backoff", '("retry") NOT ("backoff")'),
        ('AND OR NOT NEAR( "', '"AND" AND "OR" AND "NOT" AND "NEAR"'),  # never FTS syntax
        ("c++ (x)", '"c" AND "x"'),
    ],
)
def test_typed_words_become_an_fts5_query_that_cannot_be_a_syntax_error(
    typed: str, query: str
) -> None:
    assert fts_query(typed) == query


@pytest.mark.parametrize("typed", ["", "   ", "-only", "*** ---", '""'])
def test_nothing_searchable_is_one_line(typed: str) -> None:
    with pytest.raises(CommandError, match="nothing to search for"):
        fts_query(typed)


NOW = time.mktime((2026, 3, 10, 15, 30, 0, 0, 0, -1))


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("7d", 7 * 86400),
        ("2w", 14 * 86400),
        ("12h", 12 * 3600),
        ("90min", 5400),
        ("3mo", 90 * 86400),
    ],
)
def test_since_takes_ages(text: str, ago: float) -> None:
    assert parse_since(text, now=NOW) == NOW - ago


def test_since_takes_dates_today_and_yesterday_in_local_time() -> None:
    midnight = time.mktime((2026, 3, 10, 0, 0, 0, 0, 0, -1))
    assert parse_since("today", now=NOW) == midnight
    assert parse_since("yesterday", now=NOW) == time.mktime((2026, 3, 9, 0, 0, 0, 0, 0, -1))
    assert parse_since("2026-03-01", now=NOW) == time.mktime((2026, 3, 1, 0, 0, 0, 0, 0, -1))


@pytest.mark.parametrize("text", ["last week", "7", "2026-13-01", "-3d"])
def test_a_bad_since_is_one_line(text: str) -> None:
    with pytest.raises(CommandError, match="--since takes a date"):
        parse_since(text, now=NOW)


def test_search_arguments_separate_words_from_filters() -> None:
    query = parse_query(
        'retry "back off" --model claude-* --role=user --since 7d --limit 5', now=NOW
    )
    assert query.text == 'retry "back off"'
    assert (query.model, query.role, query.limit) == ("claude-*", "user", 5)
    assert query.since == NOW - 7 * 86400
    assert parse_query("it's here", now=NOW).text == "it's here"  # a lone quote is text
    with pytest.raises(CommandError, match="--role takes user or assistant"):
        parse_query("x --role system", now=NOW)
    with pytest.raises(CommandError, match="--model needs a value"):
        parse_query("x --model", now=NOW)


def test_a_snippet_is_one_line_with_its_matches_as_spans() -> None:
    snippet = f"the {MARK_START}retry{MARK_END} policy\nwith {MARK_START}backoff{MARK_END}…"
    shown = highlighted(snippet)
    assert shown == "the retry policy with backoff…"
    assert [shown[a:b] for a, b in shown.spans] == ["retry", "backoff"]
    assert plain(snippet) == "the retry policy\nwith backoff…"
