"""core/leaderboard.py against hand-computed cases: a known win ratio is a known rating
gap, a cycle and all ties are equal ratings, and the intervals behave."""

from __future__ import annotations

import math

import pytest

from chatrepl.core.leaderboard import (
    FEW,
    Filters,
    board,
    ratings,
    select,
    standard_errors,
    strengths,
)
from chatrepl.core.votes import Side, Vote

GAP_3_TO_1 = 400 * math.log10(3)  # 190.848…


def vote(
    first: str,
    second: str,
    outcome: str,
    *,
    at: float = 0.0,
    blind: bool = True,
    profile: str | None = None,
    tags: tuple[str, ...] = (),
    third: str | None = None,
    named: str | None = None,
) -> Vote:
    names = [first, second] + ([third] if third else [])
    sides = tuple(
        Side(
            "ABC"[i],
            n,
            n,
            profile=profile,
            self_named=named if i == 0 else None,
        )
        for i, n in enumerate(names)
    )
    return Vote(
        time=at,
        session=None,
        turn=1,
        messages_sha256="",
        prompt="",
        sides=sides,
        outcome=outcome,
        blind=blind,
        tags=tags,
    )


def record(a: int, b: int, ties: int = 0) -> list[Vote]:
    """`a` wins for x, `b` for y, and `ties` ties, alternating which column each is in."""
    votes = [vote("x", "y", "A") if k % 2 else vote("y", "x", "B") for k in range(a)]
    votes += [vote("x", "y", "B") if k % 2 else vote("y", "x", "A") for k in range(b)]
    return votes + [vote("x", "y", "tie") for _ in range(ties)]


# --- the fit ---------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1, 5, 40])
def test_three_wins_to_one_is_a_gap_of_400_log10_3(scale: int) -> None:
    pairs = [("x", "y", 1.0)] * (3 * scale) + [("x", "y", 0.0)] * scale
    x, y = ratings(pairs, ["x", "y"], prior=0)
    assert x - y == pytest.approx(GAP_3_TO_1, abs=0.01)
    assert (x + y) / 2 == pytest.approx(1000)  # the scale's anchor: the average model


def test_ties_are_half_a_win_each_way() -> None:
    # 2 wins + 2 ties = a score of 3 against 1: the same gap as 3:1
    pairs = [("x", "y", 1.0)] * 2 + [("x", "y", 0.5)] * 2
    x, y = ratings(pairs, ["x", "y"], prior=0)
    assert x - y == pytest.approx(GAP_3_TO_1, abs=0.01)


def test_a_gap_of_400_is_ten_to_one() -> None:
    pairs = [("x", "y", 1.0)] * 10 + [("x", "y", 0.0)]
    x, y = ratings(pairs, ["x", "y"], prior=0)
    assert x - y == pytest.approx(400, abs=0.01)


def test_a_cycle_of_three_is_three_equal_ratings() -> None:
    cycle = [("a", "b", 1.0), ("b", "c", 1.0), ("c", "a", 1.0)] * 3
    for prior in (0.0, 1.0):
        assert ratings(cycle, ["a", "b", "c"], prior=prior) == pytest.approx([1000] * 3)


def test_all_ties_are_equal_ratings() -> None:
    ties = [("a", "b", 0.5), ("b", "c", 0.5), ("a", "c", 0.5)] * 4
    assert ratings(ties, ["a", "b", "c"]) == pytest.approx([1000] * 3)


def test_a_chain_adds_up() -> None:
    # a beats b 3:1 and b beats c 3:1, never a against c: a - c is twice the 3:1 gap
    pairs = [("a", "b", 1.0)] * 3 + [("a", "b", 0.0)] + [("b", "c", 1.0)] * 3 + [("b", "c", 0.0)]
    a, b, c = ratings(pairs, ["a", "b", "c"], prior=0)
    assert a - b == pytest.approx(GAP_3_TO_1, abs=0.01)
    assert a - c == pytest.approx(2 * GAP_3_TO_1, abs=0.01)


def test_a_model_that_always_wins_gets_a_finite_rating() -> None:
    # with the prior (one virtual game, half won, against the average model of strength
    # 1) and strengths x, 1/x by symmetry: x satisfies 10.5 = 10 x/(x+1/x) + x/(x+1),
    # found here by bisection, not by the code under test
    low, high = 1.0, 100.0
    for _ in range(200):
        mid = (low + high) / 2
        f = 10 * mid / (mid + 1 / mid) + mid / (mid + 1) - 10.5
        low, high = (mid, high) if f < 0 else (low, mid)
    x, y = ratings([("x", "y", 1.0)] * 10, ["x", "y"])
    assert math.isfinite(x) and math.isfinite(y)
    assert x - y == pytest.approx(800 * math.log10(low), abs=0.01)
    assert x > y + 400


def test_the_prior_shrinks_less_as_votes_grow() -> None:
    gaps = []
    for scale in (1, 10, 100):
        pairs = [("x", "y", 1.0)] * (3 * scale) + [("x", "y", 0.0)] * scale
        x, y = ratings(pairs, ["x", "y"])
        gaps.append(x - y)
    assert gaps[0] < gaps[1] < gaps[2] < GAP_3_TO_1
    assert GAP_3_TO_1 - gaps[2] < 1


def test_groups_that_never_met_are_on_one_scale() -> None:
    pairs = [("a", "b", 1.0)] * 3 + [("a", "b", 0.0)] + [("c", "d", 1.0)] * 3 + [("c", "d", 0.0)]
    a, b, c, d = ratings(pairs, ["a", "b", "c", "d"])
    assert a == pytest.approx(c) and b == pytest.approx(d) and a > b


def test_strengths_have_a_geometric_mean_of_one() -> None:
    found = strengths([("a", "b", 1.0), ("b", "c", 1.0), ("a", "c", 0.5)], ["a", "b", "c"])
    assert math.prod(found) == pytest.approx(1.0)


# --- the board -------------------------------------------------------------------------


def test_the_board_of_a_3_to_1_record() -> None:
    result = board(record(30, 10))
    x, y = result.rows
    assert (x.model, y.model) == ("x", "y")
    assert (x.wins, x.losses, x.ties, x.votes) == (30, 10, 0, 40)
    assert (y.wins, y.losses) == (10, 30)
    assert x.rating - y.rating == pytest.approx(187.8, abs=0.1)  # the prior's pull: see above
    assert x.low < x.rating < x.high and y.low < y.rating < y.high
    assert result.votes == 40 and not x.few
    (pair,) = result.pairs
    assert (pair.first, pair.second, pair.wins, pair.losses, pair.ties) == ("x", "y", 30, 10, 0)


def test_more_votes_at_the_same_ratio_narrow_the_interval() -> None:
    widths = []
    for scale in (1, 4, 16):
        x = board(record(3 * scale, scale)).rows[0]
        widths.append(x.high - x.low)
    assert widths[0] > widths[1] > widths[2] > 0


def test_the_same_votes_give_the_same_board() -> None:
    votes = record(7, 4, 2)
    assert board(votes) == board(votes)
    assert board(votes, seed=1) != board(votes, seed=2)  # the seed is what fixes it


def test_overlapping_intervals_share_a_rank_and_clear_ones_do_not() -> None:
    close = board(record(6, 5))
    assert [r.rank for r in close.rows] == [1, 1]
    clear = board(record(60, 6))
    assert [r.rank for r in clear.rows] == [1, 2]
    assert clear.rows[1].high < clear.rows[0].low


def test_few_votes_are_marked_below_ten() -> None:
    assert all(r.few for r in board(record(5, 4)).rows)
    assert not any(r.few for r in board(record(5, 5)).rows)
    assert FEW == 10


def test_ties_and_bad_count_as_ties_per_model_and_per_pair() -> None:
    votes = [vote("x", "y", "tie"), vote("y", "x", "bad"), vote("x", "y", "A")]
    result = board(votes)
    x = next(r for r in result.rows if r.model == "x")
    assert (x.wins, x.losses, x.ties, x.votes) == (1, 0, 2, 3)
    (pair,) = result.pairs
    assert (pair.first, pair.wins, pair.losses, pair.ties) == ("x", 1, 0, 2)


def test_a_three_column_vote_is_a_win_over_each_other_column() -> None:
    result = board([vote("a", "b", "A", third="c")] * 4)
    a = result.rows[0]
    assert a.model == "a" and (a.wins, a.votes) == (4, 4)
    assert {(p.first, p.second, p.wins) for p in result.pairs} == {("a", "b", 4), ("a", "c", 4)}
    assert result.rows[1].rating == pytest.approx(result.rows[2].rating)


def test_only_blind_votes_without_a_self_naming_reply_count() -> None:
    votes = [
        *record(3, 1),
        vote("x", "y", "B", blind=False),
        vote("x", "y", "B", named="As Claude,"),
    ]
    result = board(votes)
    assert result.votes == 4
    assert result.left_out == {"not blind": 1, "where a reply named its maker": 1}
    assert board(votes, filters=Filters(flagged=True)).votes == 5


def test_filters_since_profile_and_tag() -> None:
    votes = [
        vote("x", "y", "A", at=100.0, profile="heroku", tags=("code",)),
        vote("x", "y", "A", at=200.0, profile="local"),
        vote("x", "y", "B", at=300.0, profile="heroku", tags=("math",)),
    ]
    assert len(select(votes, Filters(since=150.0))[0]) == 2
    assert len(select(votes, Filters(profile="heroku"))[0]) == 2
    assert [v.time for v in select(votes, Filters(tag="#Code"))[0]] == [100.0]
    assert select(votes, Filters(tag="none"))[0] == []


def test_a_profile_filter_needs_every_column_on_it() -> None:
    mixed = vote("x", "y", "A", profile="heroku")
    sides = (mixed.sides[0], Side("B", "y", "y", profile="local"))
    mixed = Vote(0.0, None, 1, "", "", sides, "A", True)
    assert select([mixed], Filters(profile="heroku"))[0] == []


def test_no_votes_is_an_empty_board() -> None:
    result = board([])
    assert result.rows == () and result.votes == 0
    assert board([vote("x", "y", "A", blind=False)]).left_out == {"not blind": 1}


def test_one_vote_is_no_certainty_and_both_models_share_the_first_rank() -> None:
    # a bootstrap of one vote resamples that vote every time: a zero-width interval
    x, y = board([vote("x", "y", "A")]).rows
    assert x.rating > y.rating
    assert x.low < y.high and x.high - x.low > 400
    assert x.rank == y.rank == 1


def test_the_interval_is_at_least_the_fisher_interval_of_the_centred_ratings() -> None:
    votes = record(30, 10)
    fitted = strengths([p for v in votes for p in v.pairs()], ["x", "y"])
    errors = standard_errors([p for v in votes for p in v.pairs()], ["x", "y"], fitted)
    assert errors is not None and errors[0] == pytest.approx(errors[1])
    x = board(votes).rows[0]
    assert x.high - x.rating >= 1.959 * errors[0] and x.rating - x.low >= 1.959 * errors[0]
    # 3:1 over 40 votes: the gap's standard error is ~400/ln10 * sqrt(1/(40*3/16)) ≈ 63
    assert 2 * errors[0] == pytest.approx(63, abs=5)


def test_a_vote_where_a_reply_failed_is_left_out() -> None:
    failed = vote("p", "q", "A")
    sides = (failed.sides[0], Side("B", "q", "q", error="HTTP 500: overloaded"))
    failed = Vote(0.0, None, 1, "", "", sides, "A", True)
    result = board([*record(3, 1), failed])
    assert result.votes == 4 and {row.model for row in result.rows} == {"x", "y"}
    assert result.left_out == {"where a reply failed": 1}
