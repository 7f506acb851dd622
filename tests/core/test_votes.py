"""core/votes.py: a vote built from a comparison, its pairs, its JSON line, and the replies
that give the blind game away."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from chatrepl.core.comparison import Comparison, Target, blind_order
from chatrepl.core.errors import ApiError, CommandError
from chatrepl.core.messages import Message, TurnStats, Usage
from chatrepl.core.reply import CompareResult, Reply
from chatrepl.core.votes import (
    Vote,
    build_vote,
    messages_sha256,
    parse_outcome,
    prompt_tags,
    self_named,
)


def _result(
    model: str, text: str, *, served: str | None = None, error: str | None = None
) -> CompareResult:
    stats = TurnStats(
        model=model,
        ttft=0.25,
        duration=1.5,
        usage=Usage(10, 20, 30),
        finish_reason="error" if error else "stop",
    )
    failure = ApiError(error) if error else None
    return CompareResult(model, Reply(text, "", stats, failure, served_model=served))


def _comparison(*, blind: bool = True, order: list[int] | None = None, n: int = 2) -> Comparison:
    targets = [
        Target("alpha", "alpha"),
        Target("beta@temperature=0.2", "beta", overrides={"temperature": 0.2}),
        Target("local:gamma", "gamma", profile="local"),
    ][:n]
    texts = ["Alpha says hi.", "Beta says hello there.", "Gamma!"]
    results = [
        _result(t.model, texts[i], served=f"{t.model}-2026" if i == 0 else None)
        for i, t in enumerate(targets)
    ]
    history = [Message("user", "earlier"), Message("assistant", "ok")]
    return Comparison(
        history,
        "#Code write a parser #code #rust",
        targets,
        results,
        order=order or [],
        blind=blind,
        revealed=not blind,
        turn=3,
    )


def test_a_vote_records_every_side_in_display_order() -> None:
    comparison = _comparison(order=[1, 0])  # beta is column A
    settings = [{"temperature": 1.0, "max_tokens": 50}, {"temperature": 0.2, "max_tokens": 50}]
    vote = build_vote(
        comparison,
        "A",
        time=1_780_000_000.0,
        session="2026-12-02-x.json",
        settings=settings,
        profile="heroku",
        endpoint="us.inference.heroku.com",
    )
    a, b = vote.sides
    assert (a.label, a.model, b.label, b.model) == ("A", "beta", "B", "alpha")
    assert a.name == "heroku:beta · temperature=0.2" and b.name == "heroku:alpha"
    assert b.served_model == "alpha-2026" and a.served_model is None
    assert a.settings == {"temperature": 0.2, "max_tokens": 50}
    assert a.overrides == {"temperature": 0.2} and b.overrides == {}
    assert (b.text_length, b.finish_reason, b.ttft, b.duration) == (14, "stop", 0.25, 1.5)
    assert b.usage == {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
    assert a.endpoint == "us.inference.heroku.com"
    assert (vote.turn, vote.session, vote.blind, vote.outcome) == (
        3,
        "2026-12-02-x.json",
        True,
        "A",
    )
    assert vote.winner == 0 and vote.pairs() == [
        ("heroku:beta · temperature=0.2", "heroku:alpha", 1.0)
    ]
    assert vote.tags == ("code", "rust")
    assert vote.counts


def test_the_json_line_has_every_field_the_issue_lists_and_reads_back() -> None:
    vote = build_vote(_comparison(n=3), "B", time=1_780_000_000.5, session="s.json", profile="p")
    line = vote.to_json()
    assert line["time"] == "2026-05-28T20:26:40Z" and line["timestamp"] == 1_780_000_000.5
    for key in ("session", "turn", "messages_sha256", "prompt", "blind", "outcome", "winner"):
        assert key in line
    assert line["winner"] == "p:beta · temperature=0.2"
    assert line["pairs"] == [
        ["p:beta · temperature=0.2", "p:alpha", 1.0],
        ["p:beta · temperature=0.2", "local:gamma", 1.0],
    ]
    side = line["sides"][2]
    for key in (
        "model",
        "served_model",
        "profile",
        "endpoint",
        "settings",
        "overrides",
        "text_length",
        "finish_reason",
        "usage",
        "ttft",
        "duration",
        "label",
    ):
        assert key in side
    assert side["profile"] == "local" and side["endpoint"] is None  # the spec's own profile
    again = Vote.from_json(json.loads(json.dumps(line)))
    assert again == vote


def test_with_three_columns_a_win_beats_every_other_and_a_tie_ties_every_pair() -> None:
    comparison = _comparison(n=3)
    won = build_vote(comparison, "C", time=0.0)
    assert won.pairs() == [
        ("local:gamma", "alpha", 1.0),
        ("local:gamma", "beta · temperature=0.2", 1.0),
    ]
    for outcome in ("tie", "bad"):
        pairs = build_vote(comparison, outcome, time=0.0).pairs()
        assert len(pairs) == 3 and {p[2] for p in pairs} == {0.5}


def test_the_same_model_twice_tells_nothing() -> None:
    targets = [Target("m", "m"), Target("m", "m")]
    comparison = Comparison([], "q", targets, [_result("m", "x"), _result("m", "y")], blind=True)
    assert build_vote(comparison, "A", time=0.0).pairs() == []


def test_a_failed_column_is_recorded_with_its_error() -> None:
    comparison = _comparison()
    comparison.results[1] = _result("beta", "", error="HTTP 500: boom")
    side = build_vote(comparison, "A", time=0.0).sides[1]
    assert side.error == "HTTP 500: boom" and side.text_length == 0


@pytest.mark.parametrize(
    ("text", "outcome"),
    [("a", "A"), ("B", "B"), ("TIE", "tie"), (" bad ", "bad")],
)
def test_outcomes(text: str, outcome: str) -> None:
    assert parse_outcome(text, _comparison()) == outcome


@pytest.mark.parametrize("text", ["C", "", "AB", "1", "both"])
def test_a_label_that_does_not_exist_is_one_line_naming_the_choices(text: str) -> None:
    with pytest.raises(CommandError, match=r"/vote A\|B\|tie\|bad"):
        parse_outcome(text, _comparison())


def test_a_vote_on_a_comparison_whose_names_were_shown_does_not_rank() -> None:
    vote = build_vote(_comparison(blind=False), "A", time=0.0)
    assert not vote.blind and not vote.counts and vote.pairs()


@pytest.mark.parametrize(
    "text",
    [
        "As Claude, I think the answer is 4.",
        "I'm ChatGPT, a large language model.",
        "I’m ChatGPT and here is the code.",
        "as an OpenAI model I cannot browse.",
        "I am Llama, made by Meta.",
        "I was trained by Google to be helpful.",
        "I'm a large language model, trained by Google.",
        "As an AI language model developed by OpenAI, I don't have opinions.",
        "My name is Qwen.",
        "I am GPT-4o.",
        "I'm an Anthropic assistant",
        "As a Meta AI assistant, I can help.",
    ],
)
def test_a_reply_that_names_its_maker_is_caught(text: str) -> None:
    assert self_named(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Companies such as Google, Meta and OpenAI publish models.",
        "GPT-4 was released in 2023.",
        "I am happy to help with Llama farming.",
        "Use the Google search API.",
        "As a result, the parser is faster.",
        "I think Claude Shannon founded information theory.",
        "",
    ],
)
def test_a_reply_that_only_talks_about_models_is_not_flagged(text: str) -> None:
    assert self_named(text) is None


def test_a_self_naming_reply_flags_the_vote_and_keeps_it_out() -> None:
    comparison = _comparison()
    comparison.results[1] = _result("beta", "As Claude, I would say hello.")
    vote = build_vote(comparison, "B", time=0.0)
    assert vote.flagged and not vote.counts
    assert vote.sides[1].self_named == "As Claude,"
    assert Vote.from_json(vote.to_json()).flagged


@pytest.mark.parametrize(
    ("prompt", "tags"),
    [
        ("#code write a parser", ("code",)),
        ("explain C# and page#part and issue #12", ()),
        ("## Heading\n#Math #math #long-form", ("math", "long-form")),
        ("no tags", ()),
    ],
)
def test_prompt_tags(prompt: str, tags: tuple[str, ...]) -> None:
    assert prompt_tags(prompt) == tags


def test_the_hash_is_of_the_shared_messages_question_included_once() -> None:
    history = [Message("system", "be brief"), Message("user", "q1"), Message("assistant", "a1")]
    expected = json.dumps(
        [
            {"content": "q1", "role": "user"},
            {"content": "a1", "role": "assistant"},
            {"content": "q2", "role": "user"},
        ],
        separators=(",", ":"),
    )
    digest = hashlib.sha256(expected.encode()).hexdigest()
    assert messages_sha256(history, "q2") == digest
    assert messages_sha256([*history, Message("user", "q2")], "q2") == digest  # not twice
    assert messages_sha256(history, "q3") != digest


def test_a_reasked_question_comes_from_the_history() -> None:
    comparison = _comparison()
    comparison.question = ""
    comparison.history.append(Message("user", "the last one #again"))
    vote = build_vote(comparison, "tie", time=0.0)
    assert vote.prompt == "the last one #again" and vote.tags == ("again",)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"sides": []},
        {"sides": [{"model": "a"}, {"model": "b"}], "outcome": "C", "timestamp": 1.0},
        {"sides": [{"model": "a"}, {"model": "b"}], "outcome": "A"},
        {"sides": [{}, {}], "outcome": "A", "timestamp": 1},
    ],
)
def test_what_is_not_a_vote_is_a_value_error(raw: object) -> None:
    with pytest.raises(ValueError):
        Vote.from_json(raw)


def test_labels_follow_the_blind_order() -> None:
    comparison = _comparison(n=3, order=blind_order(3, rng=random.Random(7)))
    vote = build_vote(comparison, "A", time=0.0)
    first = comparison.targets[comparison.order[0]]
    assert vote.sides[0].model == first.model and vote.sides[0].label == "A"
    assert [s.label for s in vote.sides] == ["A", "B", "C"]
