"""/vote and /leaderboard: say which reply of a comparison was better, and rank models.

`/vote A|B|tie|bad` records one vote about the session's last comparison (one vote per
comparison), then reveals the names. `/pick` of a blind comparison counts as a vote for
the picked column (`pick_listener`, registered by the wiring); a pick after the names
were shown is choosing a reply to keep, not a vote, and records nothing. A `/vote` on a
comparison whose names were shown is recorded as not blind: the file keeps it, the
leaderboard does not count it. `/leaderboard [--since WHEN] [--profile NAME] [--tag T]`
ranks models from the blind votes (core/leaderboard.py).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from chatrepl.core.commands.registry import Command, CommandContext, take_options
from chatrepl.core.comparison import Comparison
from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import ChatReplError, CommandError
from chatrepl.core.leaderboard import Board, Filters, board
from chatrepl.core.search import parse_since
from chatrepl.core.votes import BAD, TIE, VIA_PICK, VIA_VOTE, Vote, build_vote, parse_outcome

_NOT_SENT = ("messages", "stream", "stream_options", "model")
NO_VOTES = "no blind votes yet: /compare --blind MODEL MODEL -- QUESTION, then /vote A|B|tie|bad"


def _endpoint(url: str | None) -> str | None:
    """The endpoint's host (and port): never its path, query or credentials."""
    if not url:
        return None
    try:
        parts = urlsplit(url if "://" in url else "https://" + url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    return None if host is None else f"{host}:{port}" if port else host


def _sent_settings(ctx: CommandContext, comparison: Comparison) -> list[dict[str, Any]]:
    """What each target's request was sent with (its options, not its messages)."""
    conversation = Conversation(list(comparison.history))
    found = []
    for target in comparison.targets:
        try:
            payload = ctx.payload_for(target, conversation)
        except (ChatReplError, TypeError, ValueError):  # a target that could not be asked
            payload = {}
        found.append({k: v for k, v in payload.items() if k not in _NOT_SENT})
    return found


def cast(ctx: CommandContext, comparison: Comparison, outcome: str, *, via: str) -> Vote:
    """Record `outcome` for `comparison` in the votes file; the vote."""
    store = ctx.votes
    if store is None:
        raise CommandError("votes are not recorded in this session")
    current = ctx.store.current if ctx.store is not None else None
    vote = build_vote(
        comparison,
        outcome,
        time=ctx.now(),
        session=current.name if current is not None else None,
        settings=_sent_settings(ctx, comparison),
        profile=ctx.settings.profile,
        endpoint=_endpoint(ctx.settings.url),
        via=via,
    )
    store.append(vote)
    comparison.voted = outcome
    return vote


def _reveal(ctx: CommandContext, comparison: Comparison) -> None:
    """Show the names behind the labels (and the stats they hid)."""
    if ctx.last_comparison is comparison:
        ctx.reveal()  # marks it revealed and shows which letter was which model
    elif comparison.blind and not comparison.revealed:  # a listener handed an older one
        comparison.revealed = True
        ctx.view.reveal(comparison)


def _said(vote: Vote) -> str:
    """`A (alpha) beat B (beta)`, `a tie`, `both bad`."""
    if vote.outcome == TIE:
        what = "a tie"
    elif vote.outcome == BAD:
        what = "all bad" if len(vote.sides) > 2 else "both bad"
    else:  # the names are shown by now: say them
        won = vote.sides[vote.winner or 0]
        others = ", ".join(f"{s.label} ({s.name})" for s in vote.sides if s is not won)
        what = f"{won.label} ({won.name}) beat {others}"
    notes = []
    for side in vote.sides:
        if side.self_named:
            notes.append(f"{side.label} named its maker ({side.self_named!r}): kept apart")
        elif side.error and vote.blind:
            notes.append(f"{side.label} failed: recorded, not ranked")
    if not vote.blind:
        notes.append("the names were shown: recorded, not ranked")
    return what + "".join(f"; {n}" for n in notes)


def _comparison_to_vote_on(ctx: CommandContext) -> Comparison:
    comparison = ctx.last_comparison
    if comparison is None or not comparison.results:
        raise CommandError("nothing to vote on: /compare --blind MODEL MODEL -- QUESTION first")
    if comparison.voted is not None:
        raise CommandError(f"this comparison already has its vote ({comparison.voted})")
    return comparison


def _vote(ctx: CommandContext, args: str) -> None:
    comparison = _comparison_to_vote_on(ctx)
    outcome = parse_outcome(args, comparison)
    vote = cast(ctx, comparison, outcome, via=VIA_VOTE)
    _reveal(ctx, comparison)
    ctx.view.info(f"vote recorded: {_said(vote)}")


def pick_listener(ctx: CommandContext) -> Callable[[Comparison, int], None]:
    """What `/pick` calls: a pick of a blind comparison is a vote for the picked column."""

    def picked(comparison: Comparison, index: int) -> None:
        if not comparison.blind or comparison.voted is not None:
            return  # names shown: keeping a reply, not a vote; or it was voted already
        try:
            vote = cast(ctx, comparison, comparison.letter(index), via=VIA_PICK)
        except ChatReplError as exc:  # the pick stands; only the vote is lost
            ctx.view.error(f"the pick was not recorded as a vote: {exc}")
            return
        _reveal(ctx, comparison)
        ctx.view.info(f"vote recorded: {_said(vote)}")

    return picked


# --- /leaderboard ----------------------------------------------------------------------

_OPTIONS = ("--since", "--profile", "--tag")
USAGE = "usage: /leaderboard [--since 7d|2026-01-31] [--profile NAME] [--tag TAG] [--flagged]"


def parse_filters(words: list[str], *, now: float) -> Filters:
    """`--since WHEN --profile NAME --tag TAG` (or `--since=WHEN`), and `--flagged` (count
    the votes a self-naming reply gave away too) → the filters."""
    flagged = "--flagged" in words
    options, _ = take_options([w for w in words if w != "--flagged"], _OPTIONS, strict=USAGE)
    since = options.get("--since")
    return Filters(
        since=None if since is None else parse_since(since, now=now),
        profile=options.get("--profile"),
        tag=options.get("--tag"),
        flagged=flagged,
    )


def _rating(value: float) -> str:
    return f"{value:.0f}"


def board_rows(result: Board) -> list[tuple[str, ...]]:
    """The leaderboard as a table: a header, then a row per model."""
    rows: list[tuple[str, ...]] = [
        ("rank", "model", "rating", "95 % interval", "votes", "won", "lost", "tied", "")
    ]
    for row in result.rows:
        rows.append(
            (
                str(row.rank),
                row.model,
                _rating(row.rating),
                f"{_rating(row.low)}–{_rating(row.high)}",
                str(row.votes),
                str(row.wins),
                str(row.losses),
                str(row.ties),
                "few votes" if row.few else "",
            )
        )
    return rows


def pair_rows(result: Board) -> list[tuple[str, ...]]:
    """Every pair that met: the first's wins and losses against the second, and ties."""
    rows: list[tuple[str, ...]] = [("pair", "won", "lost", "tied")]
    for pair in result.pairs:
        rows.append(
            (f"{pair.first} vs {pair.second}", str(pair.wins), str(pair.losses), str(pair.ties))
        )
    return rows


def footer(result: Board, warning: str | None) -> list[str]:
    """The lines under the board: what it counts, what it left out, and why."""
    lines = [warning] if warning else []
    if result.votes:
        lines.append(
            f"{result.votes} blind vote{'' if result.votes == 1 else 's'}; ratings on the Elo "
            "scale (the average model is 1000; 3 wins to 1 is 191 points), Bradley-Terry "
            "with 95 % intervals (bootstrap, at least ±1.96 standard errors); "
            "models whose intervals overlap share a rank"
        )
    left = ", ".join(f"{n} {why}" for why, n in result.left_out.items())
    if left:
        lines.append(f"not counted: {left}")
    return lines


def board_json(result: Board, filters: Filters) -> dict[str, Any]:
    """The leaderboard as `chatrepl --leaderboard --json` prints it."""
    return {
        "votes": result.votes,
        "left_out": dict(result.left_out),
        "filters": {
            "since": filters.since,
            "profile": filters.profile,
            "tag": filters.tag,
        },
        "models": [
            {
                "rank": r.rank,
                "model": r.model,
                "rating": round(r.rating, 1),
                "low": round(r.low, 1),
                "high": round(r.high, 1),
                "votes": r.votes,
                "wins": r.wins,
                "losses": r.losses,
                "ties": r.ties,
                "few_votes": r.few,
            }
            for r in result.rows
        ],
        "pairs": [
            {
                "first": p.first,
                "second": p.second,
                "wins": p.wins,
                "losses": p.losses,
                "ties": p.ties,
            }
            for p in result.pairs
        ],
    }


def _leaderboard(ctx: CommandContext, args: str) -> None:
    try:
        words = shlex.split(args)
    except ValueError:
        raise CommandError(USAGE) from None
    filters = parse_filters(words, now=ctx.now())
    store = ctx.votes
    if store is None:
        raise CommandError("votes are not recorded in this session")
    votes, warning = store.read()
    result = board(votes, filters=filters)
    if not result.rows:
        for line in footer(result, warning):
            ctx.view.info(line)
        ctx.view.info(NO_VOTES if not votes else "no blind votes match these filters")
        return
    title = f"Leaderboard ({store.path.name}; /vote after /compare --blind adds to it)"
    ctx.view.table(board_rows(result), title=title)
    ctx.view.table(pair_rows(result), title="Head to head (the first's record)")
    for line in footer(result, warning):
        ctx.view.info(line)


COMMANDS: tuple[Command, ...] = (
    Command(
        "vote",
        _vote,
        "vote on the last comparison: which column was better (then the names show)",
        "A|B|tie|bad",
    ),
    Command(
        "leaderboard",
        _leaderboard,
        "rank models from your blind votes, with 95 % intervals",
        "[--since WHEN] [--profile NAME] [--tag TAG] [--flagged]",
        ("lb",),
    ),
)
