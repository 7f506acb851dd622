"""/vote, a blind /pick counted as a vote, and /leaderboard, on an engine with fakes.

The comparisons are built here (the engine's blind /compare is another part's work):
what is tested is the vote side, that names stay hidden until the vote and show after.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeBackend, FakeClock, MemoryStore, RecordingView

from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.commands.votes import pick_listener
from chatrepl.core.comparison import Comparison, Target
from chatrepl.core.engine import Engine
from chatrepl.core.errors import ApiError, TranscriptError
from chatrepl.core.messages import Message, TurnStats, Usage
from chatrepl.core.reply import CompareResult, Reply
from chatrepl.core.settings import Layer, from_env, resolve, resolve_key
from chatrepl.core.votes import Vote

KEY = "inf-0123456789abcdefSECRETabcd"
ENV = {"INFERENCE_URL": "https://user:pw@us.inference.heroku.com/v1", "INFERENCE_KEY": KEY}


class MemoryVotes:
    """A votes file in memory (the real one is tested in tests/adapters)."""

    def __init__(self, votes: list[Vote] | None = None, warning: str | None = None) -> None:
        self.votes = list(votes or [])
        self.warning = warning
        self.broken = False

    @property
    def path(self) -> Path:
        return Path("/data/votes.jsonl")

    def append(self, vote: Vote) -> None:
        if self.broken:
            raise TranscriptError("could not record the vote in /data/votes.jsonl: No space")
        self.votes.append(vote)

    def read(self) -> tuple[list[Vote], str | None]:
        return list(self.votes), self.warning


class Harness:
    def __init__(self) -> None:
        self.view = RecordingView()
        self.wall = FakeClock(1_780_000_000.0)
        values = {"model": "m1", "temperature": 0.7, "profile": "heroku"}
        resolved = resolve(from_env(ENV), Layer("flag", values, {k: "flag" for k in values}))
        self.engine = Engine(
            resolve_key(resolved, ENV),
            FakeBackend(clock=FakeClock()),
            self.view,
            commands=builtin_commands(),
            store=MemoryStore(),
            clock=FakeClock(),
            wall_clock=self.wall,
        )
        self.votes = MemoryVotes()
        self.engine.votes = self.votes
        self.engine.pick_listeners.append(pick_listener(self.engine))

    def say(self, line: str) -> None:
        self.engine.handle(line)


def _result(model: str, text: str) -> CompareResult:
    stats = TurnStats(
        model=model, ttft=0.5, duration=2.0, usage=Usage(5, 7, 12), finish_reason="stop"
    )
    return CompareResult(model, Reply(text, "", stats, served_model=model + "-v2"))


def blind(order: list[int], *, texts: tuple[str, ...] = ("One.", "Two.")) -> Comparison:
    targets = [Target("m1", "m1"), Target("m2@max_tokens=50", "m2", overrides={"max_tokens": 50})]
    results = [_result(t.model, texts[i]) for i, t in enumerate(targets)]
    return Comparison(
        [Message("user", "q #code")],
        "q #code",
        targets,
        results,
        order=order,
        blind=True,
        revealed=False,
        turn=1,
    )


@pytest.fixture
def h() -> Harness:
    return Harness()


def test_vote_records_reveals_and_hides_the_names_until_then(h: Harness) -> None:
    comparison = blind([1, 0])  # m2 is column A
    h.engine.last_comparison = comparison
    assert comparison.label(1) == "A" and comparison.label(0) == "B"  # hidden before the vote
    h.say("/vote a")
    (vote,) = h.votes.votes
    assert vote.outcome == "A" and vote.sides[0].model == "m2" and vote.blind
    assert vote.sides[0].served_model == "m2-v2"
    assert (
        vote.sides[0].settings["max_tokens"] == 50 and vote.sides[1].settings["temperature"] == 0.7
    )
    assert "model" not in vote.sides[0].settings and "messages" not in vote.sides[0].settings
    assert vote.sides[0].profile == "heroku" and vote.sides[0].endpoint == "us.inference.heroku.com"
    assert vote.tags == ("code",) and vote.time == 1_780_000_000.0
    assert comparison.revealed and comparison.voted == "A"
    assert comparison.label(1) == "m2 · max_tokens=50"  # the names show after it
    said = " ".join(h.view.infos)
    reveals = [call for call in h.view.calls if call[0] == "reveal"]
    assert reveals == [("reveal", comparison)]  # the names and the stats, once
    assert "vote recorded: A (heroku:m2 · max_tokens=50) beat B (heroku:m1)" in said
    assert KEY not in repr(vote.to_json()) and "pw" not in repr(vote.to_json())


def test_the_same_models_in_another_order_are_voted_by_their_new_labels(h: Harness) -> None:
    h.engine.last_comparison = blind([0, 1])  # m1 is A this time
    h.say("/vote A")
    assert h.votes.votes[0].sides[0].model == "m1"
    assert h.votes.votes[0].pairs()[0][:2] == ("heroku:m1", "heroku:m2 · max_tokens=50")


def test_one_clear_line_with_nothing_to_vote_on(h: Harness) -> None:
    h.say("/vote A")
    assert h.view.errors == ["nothing to vote on: /compare --blind MODEL MODEL -- QUESTION first"]
    assert h.votes.votes == []


def test_one_vote_per_comparison(h: Harness) -> None:
    h.engine.last_comparison = blind([0, 1])
    h.say("/vote B")
    h.say("/vote A")
    assert len(h.votes.votes) == 1
    assert h.view.errors == ["this comparison already has its vote (B)"]


@pytest.mark.parametrize("word", ["C", "", "maybe"])
def test_a_label_that_does_not_exist_is_one_line(h: Harness, word: str) -> None:
    comparison = blind([0, 1])
    h.engine.last_comparison = comparison
    h.say(f"/vote {word}".strip())
    (error,) = h.view.errors
    assert "/vote A|B|tie|bad" in error and "\n" not in error
    assert h.votes.votes == [] and not comparison.revealed and comparison.voted is None


def test_tie_and_bad(h: Harness) -> None:
    h.engine.last_comparison = blind([0, 1])
    h.say("/vote tie")
    h.engine.last_comparison = blind([1, 0])
    h.say("/vote bad")
    assert [v.outcome for v in h.votes.votes] == ["tie", "bad"]
    assert "vote recorded: both bad" in h.view.infos[-1]


def test_a_self_naming_reply_is_recorded_flagged_and_said(h: Harness) -> None:
    h.engine.last_comparison = blind([0, 1], texts=("As Claude, I'd say one.", "Two."))
    h.say("/vote A")
    (vote,) = h.votes.votes
    assert vote.flagged and not vote.counts
    assert "A named its maker ('As Claude,'): kept apart" in h.view.infos[-1]


def test_a_vote_with_the_names_shown_is_recorded_not_ranked(h: Harness) -> None:
    comparison = blind([0, 1])
    comparison.blind, comparison.revealed = False, True
    h.engine.last_comparison = comparison
    h.say("/vote A")
    assert not h.votes.votes[0].blind
    assert "recorded, not ranked" in h.view.infos[-1]


def test_a_blind_pick_is_a_vote_for_the_picked_column(h: Harness) -> None:
    comparison = blind([1, 0])
    h.engine.last_comparison = comparison
    for listener in h.engine.pick_listeners:  # what /pick does once it has picked
        listener(comparison, 0)  # target 0 (m1) is column B
    (vote,) = h.votes.votes
    assert (vote.outcome, vote.via, vote.sides[1].model) == ("B", "pick", "m1")
    assert comparison.revealed and comparison.voted == "B"
    assert ("reveal", comparison) in h.view.calls
    assert "vote recorded: B (heroku:m1) beat A (heroku:m2 · max_tokens=50)" in h.view.infos


def test_an_older_comparison_handed_to_the_listener_is_revealed_too(h: Harness) -> None:
    older = blind([0, 1])
    h.engine.last_comparison = blind([1, 0])
    pick_listener(h.engine)(older, 1)
    assert older.revealed and ("reveal", older) in h.view.calls
    assert not h.engine.last_comparison.revealed


def test_a_pick_with_the_names_shown_or_after_a_vote_records_nothing(h: Harness) -> None:
    shown = blind([0, 1])
    shown.blind = False
    voted = blind([0, 1])
    voted.voted = "A"
    for comparison in (shown, voted):
        for listener in h.engine.pick_listeners:
            listener(comparison, 1)
    assert h.votes.votes == []


def test_a_pick_whose_vote_cannot_be_written_says_so_and_stands(h: Harness) -> None:
    h.votes.broken = True
    comparison = blind([0, 1])
    pick_listener(h.engine)(comparison, 1)
    assert h.view.errors == [
        "the pick was not recorded as a vote: could not record the vote in "
        "/data/votes.jsonl: No space"
    ]
    assert comparison.voted is None


def test_a_vote_that_cannot_be_written_is_one_line_and_nothing_changes(h: Harness) -> None:
    h.votes.broken = True
    comparison = blind([0, 1])
    h.engine.last_comparison = comparison
    h.say("/vote A")
    assert h.view.errors == ["could not record the vote in /data/votes.jsonl: No space"]
    assert comparison.voted is None and not comparison.revealed


# --- /leaderboard ---------------------------------------------------------------------


def _many(h: Harness, a_wins: int, b_wins: int) -> None:
    for k in range(a_wins + b_wins):
        h.engine.last_comparison = blind([0, 1] if k % 2 else [1, 0])
        m1_column = "A" if k % 2 else "B"
        m2_column = "B" if k % 2 else "A"
        h.say(f"/vote {m1_column if k < a_wins else m2_column}")


def test_leaderboard_after_votes(h: Harness) -> None:
    _many(h, 9, 3)
    h.view.reset()
    h.say("/leaderboard")
    (title, board), (_, pairs) = h.view.tables
    assert title is not None and "votes.jsonl" in title
    assert board[0] == (
        "rank",
        "model",
        "rating",
        "95 % interval",
        "votes",
        "won",
        "lost",
        "tied",
        "",
    )
    first, second = board[1], board[2]
    assert first[1] == "heroku:m1" and first[4:8] == ("12", "9", "3", "0")
    assert second[1] == "heroku:m2 · max_tokens=50"
    assert int(first[2]) > 1000 > int(second[2])
    assert first[8] == ""  # 12 votes: not few
    assert pairs[1] == ("heroku:m1 vs heroku:m2 · max_tokens=50", "9", "3", "0")
    assert any("12 blind votes" in line for line in h.view.infos)


def test_leaderboard_filters(h: Harness) -> None:
    _many(h, 2, 1)
    h.view.reset()
    h.say("/leaderboard --tag code --since 1d")
    assert h.view.tables and h.view.tables[0][1][1][8] == "few votes"
    h.view.reset()
    h.say("/leaderboard --tag other")
    assert h.view.infos == ["no blind votes match these filters"]
    h.view.reset()
    h.say("/leaderboard --profile=local")
    assert h.view.infos == ["no blind votes match these filters"]


def test_leaderboard_leaves_flagged_votes_out_unless_asked(h: Harness) -> None:
    _many(h, 2, 1)
    h.engine.last_comparison = blind([0, 1], texts=("I'm ChatGPT: one.", "Two."))
    h.say("/vote A")
    h.view.reset()
    h.say("/leaderboard")
    assert "not counted: 1 where a reply named its maker" in h.view.infos
    assert h.view.tables[0][1][1][4] == "3"  # m1's votes
    h.view.reset()
    h.say("/leaderboard --flagged")
    assert h.view.tables[0][1][1][4] == "4"
    assert not any(line.startswith("not counted") for line in h.view.infos)


def test_leaderboard_with_no_votes_says_how_to_get_some(h: Harness) -> None:
    h.say("/leaderboard")
    assert h.view.infos[-1].startswith("no blind votes yet: /compare --blind")


def test_leaderboard_passes_on_the_files_warning(h: Harness) -> None:
    h.votes.warning = "/data/votes.jsonl: skipped a line that is not a vote (line 3)"
    _many(h, 1, 1)
    h.say("/leaderboard")
    assert h.votes.warning in h.view.infos


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ("--since", "--since needs a value"),
        ("--since soon", "--since takes a date"),
        ("--top 3", "unknown option '--top'"),
        ('--tag "x', "usage: /leaderboard"),
    ],
)
def test_leaderboard_bad_options_are_one_line(h: Harness, args: str, says: str) -> None:
    h.say(f"/leaderboard {args}")
    (error,) = h.view.errors
    assert says in error and "\n" not in error


def test_a_vote_where_a_reply_failed_is_recorded_and_said_not_ranked(h: Harness) -> None:
    comparison = blind([0, 1])
    failed = Reply("", "", TurnStats(model="m2", duration=1.0), error=ApiError("HTTP 500: down"))
    comparison.results[1] = CompareResult("m2", failed)
    h.engine.last_comparison = comparison
    h.say("/vote A")
    (vote,) = h.votes.votes
    assert vote.blind and not vote.counts and vote.sides[1].error == "HTTP 500: down"
    assert "B failed: recorded, not ranked" in h.view.infos[-1]
