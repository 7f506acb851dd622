"""Searching every saved session: the query, its filters, and what a hit is. Pure.

The index itself (SQLite FTS5) is an adapter; this module turns what the user typed
into an FTS5 query that cannot be a syntax error, and reads `--since` values.

Words are matched whole, in any order, ignoring case and accents; `"two words"` is a
phrase; `word*` matches words starting with it; `-word` leaves out messages holding it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from chatrepl.core.errors import CommandError
from chatrepl.core.transcript import SessionInfo

SEARCH_ROLES = ("user", "assistant")
MARK_START, MARK_END = "\x02", "\x03"  # around a match in a snippet (never in stored text)
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to look for, and where."""

    text: str
    model: str | None = None  # a model id or pattern (`claude-*`)
    role: str | None = None  # "user" or "assistant"
    since: float | None = None  # wall clock, seconds since the epoch
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Hit:
    """One message that matched, and where it lives."""

    session: SessionInfo  # its `path`, name, first line; `turn` set for /load N
    turn: int  # 1-based turn of the conversation the message belongs to
    position: int  # index of the message in the session's messages
    role: str
    model: str | None
    at: float | None  # when the message was sent or answered
    snippet: str  # with MARK_START / MARK_END around each match
    content: str  # the whole message


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: each word or phrase quoted (so nothing in it is
    FTS syntax), `*` kept as a prefix match, `-word` as NOT. CommandError when nothing
    searchable is left."""
    wanted: list[str] = []
    unwanted: list[str] = []
    for match in _TOKEN.finditer(text):
        negate, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            negate, prefix = bare.startswith("-") and len(bare) > 1, bare.endswith("*")
            words = _WORD.findall(bare)
            if not words:
                continue
            term = " ".join(words)
            quoted = f'"{term}"' + ("*" if prefix else "")
            (unwanted if negate else wanted).append(quoted)
            continue
        words = _WORD.findall(phrase or "")
        if words:
            (unwanted if negate else wanted).append('"' + " ".join(words) + '"')
    if not wanted:
        raise CommandError("nothing to search for: give a word (a -word alone only excludes)")
    query = " AND ".join(wanted)
    if unwanted:
        query = f"({query}) NOT ({' OR '.join(unwanted)})"
    return query


_RELATIVE = re.compile(r"^(\d+)\s*(m|min|h|d|w|mo|y)$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400}
_UNITS["y"] = 365 * 86400


def parse_since(text: str, *, now: float) -> float:
    """`2026-01-31`, `7d`, `2w`, `12h`, `3mo`, `today`, `yesterday` -> seconds since the
    epoch (local time); CommandError for anything else."""
    value = text.strip().lower()
    if value in ("today", "yesterday"):
        day = time.localtime(now - (86400 if value == "yesterday" else 0))
        return time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0, 0, 0, -1))
    relative = _RELATIVE.match(value)
    if relative:
        return now - int(relative.group(1)) * _UNITS[relative.group(2)]
    try:
        parsed = time.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise CommandError(
            f"--since takes a date (2026-01-31), an age (7d, 2w, 12h, 3mo) or today / "
            f"yesterday, not {text!r}"
        ) from None
    return time.mktime(parsed)


class Highlighted(str):
    """Text with spans to highlight (a search hit's matches); a plain str everywhere
    else, so any view can show it and a rich one can style the spans."""

    spans: tuple[tuple[int, int], ...] = ()


def highlighted(snippet: str) -> Highlighted:
    """A snippet on one line, its marks turned into spans."""
    text, spans = marked_spans(" ".join(snippet.split()))
    out = Highlighted(text)
    out.spans = tuple(spans)
    return out


def plain(snippet: str) -> str:
    """A snippet without its match marks."""
    return snippet.replace(MARK_START, "").replace(MARK_END, "")


def marked_spans(snippet: str) -> tuple[str, list[tuple[int, int]]]:
    """The snippet's text and the (start, end) offsets of its matches."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    length, start = 0, None
    for part in re.split(f"([{MARK_START}{MARK_END}])", snippet):
        if part == MARK_START:
            start = length
        elif part == MARK_END:
            if start is not None:
                spans.append((start, length))
            start = None
        else:
            out.append(part)
            length += len(part)
    return "".join(out), spans
