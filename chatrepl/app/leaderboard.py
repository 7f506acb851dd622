"""`chatrepl --leaderboard`: rank models from the blind votes and print the board.

A flag, not a subcommand, so a one-shot message may start with any word. It needs no
endpoint or key: only the votes file. `--since`, `--profile` and `--tag` filter the votes
(as `/leaderboard` does); on a terminal the board is a table, into a pipe one model a
line (tab-separated: rank, model, rating, low, high, votes, won, lost, tied, note), and
with `--json` one object.
"""

from __future__ import annotations

import argparse
import json

from chatrepl.app.environment import Environment
from chatrepl.core.errors import ConfigError, ExitStatus


def run_leaderboard(args: argparse.Namespace, environment: Environment) -> int:
    """Read the votes, fit, print; exit 0 (no votes yet says so on stderr)."""
    from chatrepl.adapters.votes_store import VoteFile, votes_path
    from chatrepl.core.commands.votes import (
        NO_VOTES,
        board_json,
        board_rows,
        footer,
        pair_rows,
        parse_filters,
    )
    from chatrepl.core.errors import CommandError
    from chatrepl.core.leaderboard import board

    if args.message:
        raise ConfigError("--leaderboard takes no message (its filters: --since, --profile, --tag)")
    words = []
    for flag, value in (("--since", args.since), ("--profile", args.profile), ("--tag", args.tag)):
        if value is not None:
            words += [flag, value]
    try:
        filters = parse_filters(words, now=environment.wall_clock())
    except CommandError as exc:
        raise ConfigError(str(exc)) from None
    store = VoteFile(votes_path(environment.env))
    votes, warning = store.read()
    result = board(votes, filters=filters)
    out, err = environment.stdout, environment.stderr
    if warning:
        print(warning, file=err)
    if args.json:
        out.write(json.dumps(board_json(result, filters), ensure_ascii=False, indent=2) + "\n")
        return ExitStatus.OK
    if not result.rows:
        print(NO_VOTES if not votes else "no blind votes match these filters", file=err)
        return ExitStatus.OK
    notes = footer(result, None)
    if environment.stdout_isatty:
        from chatrepl.ui.views import make_view

        view = make_view(
            plain=False,
            stdout=out,
            stderr=err,
            stdout_isatty=True,
            env=environment.env,
            color=getattr(args, "color", "auto"),
        )
        view.table(board_rows(result), title=f"Leaderboard ({store.path})")
        view.table(pair_rows(result), title="Head to head (the first's record)")
        for line in notes:
            view.info(line)
        return ExitStatus.OK
    for row in result.rows:
        cells = (row.rank, row.model, f"{row.rating:.1f}", f"{row.low:.1f}", f"{row.high:.1f}")
        more = (row.votes, row.wins, row.losses, row.ties, "few votes" if row.few else "")
        out.write("\t".join(str(c) for c in (*cells, *more)) + "\n")
    for line in notes:
        print(line, file=err)
    return ExitStatus.OK
