"""`chatrepl --search TEXT`: find messages in every saved session and print them.

A flag, not a subcommand, so a one-shot message may start with any word. It needs no
endpoint or key: only the session index (built from the session files if need be).
On a terminal the hits are a table with the matches highlighted; into a pipe, one hit a
line (date, model, role and turn, snippet, session file); with `--json`, an array.
"""

from __future__ import annotations

import argparse
import json
import time

from chatrepl.app.environment import Environment
from chatrepl.core.errors import ConfigError, ExitStatus
from chatrepl.core.search import SEARCH_ROLES, Hit, SearchQuery, parse_since, plain

LIMIT = 50


def query_of(args: argparse.Namespace, *, now: float) -> SearchQuery:
    """The query the flags describe (--model and --role filter here, not choose)."""
    if args.message:
        raise ConfigError("--search takes its text as its value: chatrepl --search 'some words'")
    role = getattr(args, "role", None)
    if role is not None and role not in SEARCH_ROLES:
        raise ConfigError(f"with --search, --role takes user or assistant, not {role!r}")
    since = parse_since(args.since, now=now) if args.since else None
    return SearchQuery(
        args.search, model=getattr(args, "model", None), role=role, since=since, limit=LIMIT
    )


def hit_json(hit: Hit) -> dict[str, object]:
    """A hit as `--json` prints it."""
    at = hit.at
    return {
        "session": hit.session.path.name,
        "path": str(hit.session.path),
        "name": hit.session.name,
        "one_shot": hit.session.one_shot,
        "turn": hit.turn,
        "index": hit.position,
        "role": hit.role,
        "model": hit.model,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(at)) if at else None,
        "timestamp": at,
        "snippet": plain(hit.snippet),
        "content": hit.content,
    }


def run_search(args: argparse.Namespace, environment: Environment) -> int:
    """Search, print, exit 0 (an empty result says so on stderr)."""
    from chatrepl.adapters.paths import index_path, sessions_dir
    from chatrepl.adapters.search_index import SessionIndex
    from chatrepl.core.commands.search import hit_row

    env = environment.env
    query = query_of(args, now=environment.wall_clock())
    index = SessionIndex(index_path(env), sessions_dir(env))
    stderr = environment.stderr
    index.announce = lambda text: print(text, file=stderr, flush=True)
    try:
        hits = index.search(query)
    finally:
        index.close()
    out = environment.stdout
    if args.json:
        out.write(json.dumps([hit_json(h) for h in hits], ensure_ascii=False, indent=2) + "\n")
        return ExitStatus.OK
    if not hits:
        print(f"no saved message matches {query.text!r}", file=stderr)
        return ExitStatus.OK
    rows = [(*hit_row(n, hit)[:-1], hit.session.path.name) for n, hit in enumerate(hits, 1)]
    if environment.stdout_isatty:
        from chatrepl.ui.views import make_view

        # under NO_COLOR the table is still laid out, its matches still reversed (not colour)
        color = getattr(args, "color", "auto")
        view = make_view(
            plain=False, stdout=out, stderr=stderr, stdout_isatty=True, env=env, color=color
        )
        view.table(
            rows, title=f"{len(hits)} messages, newest first (chatrepl --load FILE opens one)"
        )
        return ExitStatus.OK
    for row in rows:
        out.write("\t".join(str(cell) for cell in row[1:]) + "\n")
    return ExitStatus.OK
