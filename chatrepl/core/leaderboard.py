"""Ranking models from blind votes: a Bradley-Terry fit with bootstrap intervals. Pure.

The model: model i beats model j with probability p_i / (p_i + p_j). The strengths p are
fitted by Hunter's MM iterations (2004), p_i <- W_i / sum_j n_ij / (p_i + p_j), where W_i
is i's score (a win 1, a tie half a win each way) and n_ij the games between i and j.

- **Scale.** A rating is 1000 + 400 * log10(p_i), with the strengths scaled so that their
  geometric mean is 1: the average model of the board sits at 1000, and a 3:1 win ratio
  is a gap of 400 * log10(3) = 190.8 points, as on the Elo scale.
- **Prior.** A model that always wins has no finite maximum-likelihood strength, and two
  groups of models that never met have no common scale. So each model also plays
  `PRIOR` virtual games, half won and half lost, against the average model (a reference
  of strength 1, the geometric mean): a weak pull towards "average", worth one real
  vote. It keeps every rating finite, puts groups that never met on one scale (they
  share no evidence, so their intervals overlap), and moves a well-measured rating by
  little (3:1 over 40 votes is a gap of 187.8 points instead of 190.8). `prior=0` is
  the bare maximum-likelihood fit.
- **Intervals.** 95 % intervals come from a bootstrap over votes (a vote with three
  columns stays whole): `ROUNDS` resamples with a fixed seed, so the same votes always
  give the same board; each bound is a percentile of the resampled ratings. With few
  votes a resample can only repeat them (one vote resampled is that vote, every time),
  so the bootstrap alone would claim certainty: each interval is widened to at least
  the normal interval from the fit's Fisher information (prior included), rating
  ± 1.96 standard errors.
- **Rank.** A model's rank is 1 + the number of models whose interval lies wholly above
  its own, so models whose intervals overlap share a rank (as LMArena ranks).
- **Few votes.** A model with fewer than `FEW` votes is marked: its interval is wide
  and its rating says little.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from chatrepl.core.votes import BAD, TIE, Vote

PRIOR = 1.0
ROUNDS = 200
SEED = 20261202
FEW = 10
BASE, SCALE = 1000.0, 400.0
Z95 = 1.959964  # the normal distribution's 97.5th percentile

Pair = tuple[str, str, float]  # (first, second, the first's score: 1, 0.5 or 0)


# --- the fit ----------------------------------------------------------------------------


def _tables(
    pairs: Iterable[Pair], index: dict[str, int]
) -> tuple[list[float], list[dict[int, float]]]:
    """Each model's score, and the games it played against each other model."""
    score = [0.0] * len(index)
    games: list[dict[int, float]] = [{} for _ in index]
    for first, second, result in pairs:
        i, j = index[first], index[second]
        score[i] += result
        score[j] += 1.0 - result
        games[i][j] = games[i].get(j, 0.0) + 1.0
        games[j][i] = games[j].get(i, 0.0) + 1.0
    return score, games


def strengths(
    pairs: Iterable[Pair],
    models: Sequence[str],
    *,
    prior: float = PRIOR,
    start: Sequence[float] | None = None,
    tolerance: float = 1e-9,
    limit: int = 10_000,
) -> list[float]:
    """The Bradley-Terry strengths of `models` (geometric mean 1), by MM iterations."""
    index = {m: i for i, m in enumerate(models)}
    score, games = _tables(pairs, index)
    half = prior / 2
    p = list(start) if start is not None else [1.0] * len(models)
    for _ in range(limit):
        before = list(p)
        for i, opponents in enumerate(games):
            won = score[i] + half
            if won <= 0.0:  # never scored, no prior: tends to 0; keep it tiny, not zero
                p[i] = 1e-12
                continue
            pi = p[i]
            spread = sum(n / (pi + p[j]) for j, n in opponents.items()) + prior / (pi + 1.0)
            p[i] = won / spread if spread > 0 else pi
        _center(p)  # the average model is the reference: strength 1
        if max(abs(math.log(a / b)) for a, b in zip(p, before, strict=True)) < tolerance:
            break
    _center(p)
    return p


def standard_errors(
    pairs: Iterable[Pair], models: Sequence[str], p: Sequence[float], *, prior: float = PRIOR
) -> list[float] | None:
    """Each rating's standard error (Elo points) from the Fisher information of the fit
    at strengths `p`; None when the votes alone cannot place every model (no prior)."""
    _, games = _tables(pairs, {m: i for i, m in enumerate(models)})
    size = len(models)
    info = [[0.0] * size for _ in range(size)]  # in log-strength
    for i, opponents in enumerate(games):
        for j, count in opponents.items():
            weight = count * p[i] * p[j] / (p[i] + p[j]) ** 2
            info[i][i] += weight
            info[i][j] -= weight
        info[i][i] += prior * p[i] / (p[i] + 1.0) ** 2  # the games against the reference
    covariance = _inverse(info)
    if covariance is None:
        return None
    # Ratings are centred (the average model is 1000), so the level all of them share,
    # pinned only by the prior, is no uncertainty of theirs: the variance of the centred
    # log-strength, (P C P)_ii with P = I - 11'/n.
    total = sum(map(sum, covariance)) / size**2
    points = SCALE / math.log(10)  # log-strength to Elo points
    return [
        points * math.sqrt(max(covariance[i][i] - 2 * sum(covariance[i]) / size + total, 0.0))
        for i in range(size)
    ]


def _inverse(matrix: list[list[float]]) -> list[list[float]] | None:
    """Gauss-Jordan with partial pivoting; None for a singular matrix."""
    size = len(matrix)
    rows = [row[:] + [1.0 if i == k else 0.0 for k in range(size)] for i, row in enumerate(matrix)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(rows[r][column]))
        if abs(rows[pivot][column]) < 1e-12:
            return None
        rows[column], rows[pivot] = rows[pivot], rows[column]
        lead = rows[column][column]
        rows[column] = [x / lead for x in rows[column]]
        for r in range(size):
            if r != column and rows[r][column]:
                factor = rows[r][column]
                rows[r] = [x - factor * y for x, y in zip(rows[r], rows[column], strict=True)]
    return [row[size:] for row in rows]


def _center(p: list[float]) -> None:
    mean = sum(math.log(x) for x in p) / len(p) if p else 0.0
    shift = math.exp(mean)
    for i, x in enumerate(p):
        p[i] = x / shift


def rating(strength: float) -> float:
    """A strength on the Elo scale: 1000 + 400 * log10(strength)."""
    return BASE + SCALE * math.log10(strength)


def ratings(pairs: Iterable[Pair], models: Sequence[str], *, prior: float = PRIOR) -> list[float]:
    """The ratings of `models` (their mean is 1000)."""
    return [rating(s) for s in strengths(pairs, models, prior=prior)]


# --- the board --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One model on the leaderboard."""

    model: str
    rating: float
    low: float  # the 95 % interval
    high: float
    rank: int
    votes: int
    wins: int = 0
    losses: int = 0
    ties: int = 0  # `bad` counts as a tie

    @property
    def few(self) -> bool:
        """Too few votes for its rating to say much."""
        return self.votes < FEW


@dataclass(frozen=True, slots=True)
class PairRow:
    """How two models did against each other."""

    first: str
    second: str
    wins: int  # the first's
    losses: int
    ties: int


@dataclass(frozen=True, slots=True)
class Board:
    """The leaderboard: a row per model, best first, the pairs, and what was left out."""

    rows: tuple[Row, ...]
    pairs: tuple[PairRow, ...]
    votes: int  # the votes it counts
    left_out: dict[str, int] = field(default_factory=dict)  # why the others were not counted


@dataclass(frozen=True, slots=True)
class Filters:
    """Which votes a board counts (`--since`, `--profile`, `--tag`)."""

    since: float | None = None  # wall clock, seconds since the epoch
    profile: str | None = None  # every column ran on this profile
    tag: str | None = None  # the prompt had this #tag
    flagged: bool = False  # count the votes a self-naming reply gave away too

    def keeps(self, vote: Vote) -> bool:
        """Whether `vote` passes the filters (blindness aside)."""
        if self.since is not None and vote.time < self.since:
            return False
        if self.profile is not None and any(s.profile != self.profile for s in vote.sides):
            return False
        return self.tag is None or self.tag.lstrip("#").lower() in vote.tags


def select(votes: Iterable[Vote], filters: Filters) -> tuple[list[Vote], dict[str, int]]:
    """The votes a board counts, and how many of the filtered ones it leaves out and why."""
    kept: list[Vote] = []
    left_out = {"not blind": 0, "where a reply named its maker": 0, "where a reply failed": 0}
    for vote in votes:
        if not filters.keeps(vote):
            continue
        if not vote.blind:
            left_out["not blind"] += 1
        elif vote.flagged and not filters.flagged:
            left_out["where a reply named its maker"] += 1
        elif vote.failed:
            left_out["where a reply failed"] += 1
        elif vote.pairs():
            kept.append(vote)
    return kept, {k: n for k, n in left_out.items() if n}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    at = q * (len(ordered) - 1)
    low, high = math.floor(at), math.ceil(at)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def board(
    votes: Sequence[Vote],
    *,
    filters: Filters | None = None,
    prior: float = PRIOR,
    rounds: int = ROUNDS,
    seed: int = SEED,
) -> Board:
    """Fit, bootstrap and rank the votes `filters` keep (by default: every blind vote
    in which no reply named its maker)."""
    kept, left_out = select(votes, filters or Filters())
    per_vote = [v.pairs() for v in kept]
    models = sorted({name for pairs in per_vote for a, b, _ in pairs for name in (a, b)})
    if not models:
        return Board((), (), 0, left_out)
    everything = [p for pairs in per_vote for p in pairs]
    fitted = strengths(everything, models, prior=prior)
    rng = random.Random(seed)
    samples: list[list[float]] = [[] for _ in models]
    for _ in range(rounds):
        drawn = [p for k in range(len(per_vote)) for p in per_vote[rng.randrange(len(per_vote))]]
        again = strengths(drawn, models, prior=prior, start=fitted, tolerance=1e-6)
        for i, s in enumerate(again):
            samples[i].append(rating(s))
    central = [rating(s) for s in fitted]
    if rounds:
        bounds = [(_percentile(s, 0.025), _percentile(s, 0.975)) for s in samples]
    else:
        bounds = [(r, r) for r in central]
    errors = standard_errors(everything, models, fitted, prior=prior)
    if errors is not None:
        bounds = [
            (min(low, r - Z95 * e), max(high, r + Z95 * e))
            for (low, high), r, e in zip(bounds, central, errors, strict=True)
        ]
    counts = _counts(kept, models)
    rows = []
    for i, model in enumerate(models):
        above = sum(1 for j in range(len(models)) if bounds[j][0] > bounds[i][1])
        wins, losses, ties, seen = counts[model]
        rows.append(
            Row(
                model,
                central[i],
                *bounds[i],
                rank=1 + above,
                votes=seen,
                wins=wins,
                losses=losses,
                ties=ties,
            )
        )
    rows.sort(key=lambda r: (r.rank, -r.rating, r.model))
    return Board(tuple(rows), _pair_rows(kept, [r.model for r in rows]), len(kept), left_out)


def _counts(votes: Iterable[Vote], models: Sequence[str]) -> dict[str, list[int]]:
    """Per model: wins, losses, ties (a tie or `bad`) and the votes it was in."""
    counts = {m: [0, 0, 0, 0] for m in models}
    for vote in votes:
        names = {s.name for s in vote.sides}
        won = vote.winner
        winner = vote.sides[won].name if won is not None else None
        for name in names:
            row = counts[name]
            row[3] += 1
            if vote.outcome in (TIE, BAD):
                row[2] += 1
            else:
                row[0 if name == winner else 1] += 1
    return counts


def _pair_rows(votes: Iterable[Vote], order: Sequence[str]) -> tuple[PairRow, ...]:
    """Every pair that met, the better-rated model first."""
    place = {m: i for i, m in enumerate(order)}
    tally: dict[tuple[str, str], list[int]] = {}
    for vote in votes:
        for a, b, result in vote.pairs():
            first, second = (a, b) if place[a] <= place[b] else (b, a)
            score = result if first == a else 1.0 - result
            row = tally.setdefault((first, second), [0, 0, 0])
            row[0 if score == 1.0 else 1 if score == 0.0 else 2] += 1
    ordered = sorted(tally, key=lambda k: (place[k[0]], place[k[1]]))
    return tuple(PairRow(a, b, *tally[(a, b)]) for a, b in ordered)
