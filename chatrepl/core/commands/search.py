"""/search: find messages in every saved session; `/load N` opens hit N at its turn."""

from __future__ import annotations

import shlex
import time

from chatrepl.core.commands.registry import Command, CommandContext, take_options
from chatrepl.core.errors import CommandError
from chatrepl.core.search import SEARCH_ROLES, Hit, SearchQuery, highlighted, parse_since

_OPTIONS = ("--model", "--role", "--since", "--limit")


def parse_query(args: str, *, now: float) -> SearchQuery:
    """`TEXT [--model M] [--role user|assistant] [--since WHEN] [--limit N]`."""
    try:
        words = shlex.split(args, posix=True)
    except ValueError:
        words = args.split()  # an unbalanced quote is just a character to search for
    options, others = take_options(words, _OPTIONS)
    # keep a quoted phrase a phrase for the index
    text = [f'"{word}"' if " " in word else word for word in others]
    role = options.get("--role")
    if role is not None and role not in SEARCH_ROLES:
        raise CommandError(f"--role takes user or assistant, not {role!r}")
    limit = options.get("--limit", "20")
    if not limit.isdigit() or int(limit) < 1:
        raise CommandError(f"--limit takes a positive whole number, not {limit!r}")
    since = options.get("--since")
    return SearchQuery(
        " ".join(text),
        model=options.get("--model"),
        role=role,
        since=None if since is None else parse_since(since, now=now),
        limit=int(limit),
    )


def hit_row(number: int, hit: Hit) -> tuple[str, ...]:
    """One line of the hits table."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(hit.at)) if hit.at else "-"
    title = hit.session.name or hit.session.first_line
    title = title if len(title) <= 30 else title[:29] + "…"
    return (
        str(number),
        when,
        hit.model or "-",
        # a one-shot run's session is found like any other, and says what it is
        f"{hit.role} · turn {hit.turn}" + (" · one-shot" if hit.session.one_shot else ""),
        highlighted(hit.snippet),
        title,
    )


def _search(ctx: CommandContext, args: str) -> None:
    if not args.strip():
        raise CommandError(
            "/search takes words to find: /search TEXT [--model M] [--role R] [--since 7d]"
        )
    query = parse_query(args, now=ctx.now())
    hits = ctx.search(query)
    if not hits:
        ctx.view.info(f"no saved message matches {query.text!r}")
        return
    rows = [hit_row(n, hit) for n, hit in enumerate(hits, 1)]
    more = " (the newest; --limit N for more)" if len(hits) == query.limit else ""
    title = f"Search {query.text!r}: {len(hits)} messages{more}, newest first; /load N opens one"
    ctx.view.table(rows, title=title)


COMMANDS: tuple[Command, ...] = (
    Command(
        "search",
        _search,
        "find messages in every saved session (newest first; /load N opens one)",
        "TEXT [--model M] [--role user|assistant] [--since 7d]",
    ),
)
