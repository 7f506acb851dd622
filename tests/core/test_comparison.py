"""The comparison values: headers, blind labels, finding a column, the blind order."""

from __future__ import annotations

import random

import pytest

from chatrepl.core.comparison import Comparison, Target, blind_order


def _three(*, blind: bool = False, order: list[int] | None = None) -> Comparison:
    targets = [
        Target("a", "a"),
        Target("heroku:b", "b", profile="heroku"),
        Target("a@temperature=0.2", "a", overrides={"temperature": 0.2}),
    ]
    return Comparison([], "q", targets, order=order or [], blind=blind, revealed=not blind)


def test_headers_name_the_endpoint_and_every_override() -> None:
    c = _three()
    assert [c.label(i) for i in range(3)] == ["a", "heroku:b", "a · temperature=0.2"]


def test_blind_labels_follow_the_display_order_until_revealed() -> None:
    c = _three(blind=True, order=[2, 0, 1])
    assert [c.label(i) for i in range(3)] == ["B", "C", "A"]
    c.revealed = True
    assert c.label(2) == "a · temperature=0.2"
    assert c.letter(2) == "A"


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("1", 2),
        ("3", 1),
        ("a", 0),
        ("A", 2),
        ("C", 1),
        ("heroku:b", 1),
        ("b", 1),
        ("4", None),
        ("a@temperature=0.2", 2),
        ("nope", None),
        ("0", None),
    ],
)
def test_a_column_is_found_by_number_letter_spec_or_unique_model(
    name: str, index: int | None
) -> None:
    assert _three(blind=True, order=[2, 0, 1]).find(name) == index


def test_a_model_named_twice_is_ambiguous_by_model_but_not_by_spec() -> None:
    c = Comparison([], "q", [Target("x", "x"), Target("x@top_p=1", "x", overrides={"top_p": 1})])
    assert c.find("x") == 0  # the spec "x" is unique
    c = Comparison([], "q", [Target("p:x", "x", profile="p"), Target("q:x", "x", profile="q")])
    assert c.find("x") is None


def test_the_blind_order_changes_for_every_question() -> None:
    rng = random.Random(7)
    previous: list[int] = []
    seen = set()
    for _ in range(50):
        order = blind_order(3, previous=previous, rng=rng)
        assert sorted(order) == [0, 1, 2]
        assert order != previous
        seen.add(tuple(order))
        previous = order
    assert len(seen) == 6  # every permutation comes up, so the order says nothing
    assert blind_order(2, previous=[0, 1], rng=rng) == [1, 0]
    assert blind_order(1, rng=rng) == [0]
