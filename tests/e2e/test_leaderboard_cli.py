"""`chatrepl --leaderboard` in-process: a flag, not a subcommand; needs no endpoint; reads
the votes file in the data folder; --json, --since, --profile, --tag; bad input one line."""

from __future__ import annotations

import json
import os
import time

import pytest
from test_inprocess import Run

from chatrepl.adapters import paths
from chatrepl.adapters.votes_store import VoteFile, votes_path
from chatrepl.core.errors import ExitStatus
from chatrepl.core.votes import Side, Vote


def _record(x_wins: int, y_wins: int, *, at: float, profile: str = "heroku", tags=()) -> None:
    store = VoteFile(votes_path(os.environ))
    x, y = Side("A", "x", "x", profile=profile), Side("B", "y", "y", profile=profile)
    for k in range(x_wins + y_wins):
        sides = (
            (x, y)
            if k % 2
            else (Side("A", "y", "y", profile=profile), Side("B", "x", "x", profile=profile))
        )
        x_label = "A" if k % 2 else "B"
        y_label = "B" if k % 2 else "A"
        outcome = x_label if k < x_wins else y_label
        store.append(
            Vote(at, None, 1, "", "#code q" if tags else "q", sides, outcome, True, tags=tags)
        )


def test_the_json_board_of_a_3_to_1_record() -> None:
    _record(30, 10, at=time.time())
    run = Run(["--leaderboard", "--json"], {k: v for k, v in os.environ.items()})
    assert run.status == ExitStatus.OK, run.err
    board = json.loads(run.out)
    assert board["votes"] == 40
    top, bottom = board["models"]
    assert (top["model"], top["wins"], top["losses"], top["rank"]) == ("heroku:x", 30, 10, 1)
    assert top["rating"] - bottom["rating"] == pytest.approx(187.8, abs=0.1)
    assert top["low"] < top["rating"] < top["high"] and not top["few_votes"]
    assert board["pairs"] == [
        {"first": "heroku:x", "second": "heroku:y", "wins": 30, "losses": 10, "ties": 0}
    ]


def test_piped_one_model_a_line() -> None:
    _record(3, 1, at=time.time())
    run = Run(["--leaderboard"], dict(os.environ))
    assert run.status == ExitStatus.OK
    rows = [line.split("\t") for line in run.out.splitlines()]
    assert [r[1] for r in rows] == ["heroku:x", "heroku:y"]
    assert rows[0][5:] == ["4", "3", "1", "0", "few votes"]
    assert "4 blind votes" in run.err


def test_filters_and_an_empty_board() -> None:
    _record(2, 1, at=time.time() - 30 * 86400, profile="local")
    _record(1, 2, at=time.time(), tags=("code",))
    since = Run(["--leaderboard", "--json", "--since", "7d"], dict(os.environ))
    assert json.loads(since.out)["votes"] == 3
    local = Run(["--leaderboard", "--json", "--profile", "local"], dict(os.environ))
    assert json.loads(local.out)["votes"] == 3
    assert json.loads(local.out)["models"][0]["model"] == "local:x"
    tagged = Run(["--leaderboard", "--json", "--tag", "code"], dict(os.environ))
    assert json.loads(tagged.out)["votes"] == 3
    none = Run(["--leaderboard", "--tag", "nothing"], dict(os.environ))
    assert none.status == ExitStatus.OK and none.out == ""
    assert none.err == "no blind votes match these filters\n"


def test_no_votes_yet_says_how_to_get_some() -> None:
    run = Run(["--leaderboard"], dict(os.environ))
    assert run.status == ExitStatus.OK and run.out == ""
    assert run.err.startswith("no blind votes yet: /compare --blind")


def test_a_corrupt_line_is_one_warning_not_a_traceback() -> None:
    _record(1, 1, at=time.time())
    with votes_path(os.environ).open("a") as f:
        f.write("{broken\n")
    run = Run(["--leaderboard"], dict(os.environ))
    assert run.status == ExitStatus.OK
    assert run.err.count("skipped a line that is not a vote (line 3)") == 1
    assert "Traceback" not in run.err and len(run.out.splitlines()) == 2


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--leaderboard", "top"], "--leaderboard takes no message"),
        (["--leaderboard", "--since", "soon"], "--since takes a date"),
        (["--leaderboard", "--search", "x"], "--search and --leaderboard are two runs"),
        (["--tag", "x", "hello"], "--tag goes with --leaderboard"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(argv: list[str], problem: str) -> None:
    run = Run(argv, dict(os.environ))
    assert run.status == ExitStatus.USAGE
    assert problem in run.err and run.err.count("\n") == 1


def test_the_votes_file_is_in_the_data_folder() -> None:
    assert votes_path(os.environ) == paths.data_dir(os.environ) / "votes.jsonl"
