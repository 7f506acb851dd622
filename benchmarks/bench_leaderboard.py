"""The leaderboard's math on simulated votes with known ratings: speed, accuracy, coverage.

Votes are drawn from a Bradley-Terry model with known ratings (a pair at random per
vote, 10 % ties), written through the real votes file, read back, and ranked by
`core.leaderboard.board` exactly as `/leaderboard` does:

- time to read and rank 100, 1,000 and 10,000 votes (200 bootstrap rounds);
- how far the fitted ratings land from the true ones;
- coverage: over many simulated vote sets, how often the 95 % interval holds the true
  rating (it should be near 95 %).

    python benchmarks/bench_leaderboard.py [--sets 40] [--votes 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from chatrepl.adapters.votes_store import VoteFile
from chatrepl.core.commands.votes import board_rows
from chatrepl.core.leaderboard import board
from chatrepl.core.votes import Side, Vote

TRUE = {"claude-4-5-sonnet": 1120.0, "kimi-k2-5": 1040.0, "nova-pro": 960.0, "nova-lite": 880.0}


def simulate(count: int, rng: random.Random, *, at: float = 1.78e9) -> list[Vote]:
    """`count` blind votes between the TRUE models."""
    names = list(TRUE)
    votes = []
    for k in range(count):
        a, b = rng.sample(names, 2)
        p = 1 / (1 + 10 ** ((TRUE[b] - TRUE[a]) / 400))
        draw = rng.random()
        outcome = "tie" if draw < 0.1 else "A" if rng.random() < p else "B"
        sides = (Side("A", a, a, profile="heroku"), Side("B", b, b, profile="heroku"))
        votes.append(Vote(at + k, "bench.jsonl", k, "", "q", sides, outcome, True))
    return votes


def centred(ratings: dict[str, float]) -> dict[str, float]:
    """Ratings shifted to average 1000 (the board's anchor), to compare with TRUE."""
    mean = statistics.fmean(ratings.values())
    return {k: v - mean + 1000 for k, v in ratings.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", type=int, default=40)
    parser.add_argument("--votes", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(1)
    truth = centred(TRUE)
    with tempfile.TemporaryDirectory() as folder:
        for count in (100, 1000, 10_000):
            store = VoteFile(Path(folder) / f"votes-{count}.jsonl")
            for vote in simulate(count, rng):
                store.append(vote)
            started = time.perf_counter()
            votes, _ = store.read()
            result = board(votes)
            took = time.perf_counter() - started
            errors = [abs(r.rating - truth[r.model.split(":", 1)[1]]) for r in result.rows]
            print(
                f"{count:>6} votes: read + fit + 200 bootstrap rounds {took * 1000:.0f} ms; "
                f"largest distance from the true rating {max(errors):.1f}"
            )
            if count == 1000:
                for row in board_rows(result):
                    print(
                        "   "
                        + "  ".join(f"{c:<24}" if i == 1 else f"{c:<6}" for i, c in enumerate(row))
                    )
    inside = total = 0
    for _ in range(args.sets):
        result = board(simulate(args.votes, rng), seed=rng.randrange(2**31))
        for row in result.rows:
            total += 1
            inside += row.low <= truth[row.model.split(":", 1)[1]] <= row.high
    print(
        f"coverage: the 95 % interval held the true rating {inside}/{total} times "
        f"({100 * inside / total:.0f} %) over {args.sets} sets of {args.votes} votes"
    )


if __name__ == "__main__":
    main()
