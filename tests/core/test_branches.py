"""Earlier branches: splitting off a tail, switching back, numbering, pruning."""

from __future__ import annotations

from chatrepl.core import branches
from chatrepl.core.conversation import Conversation
from chatrepl.core.messages import Message


def chat(*texts: str) -> Conversation:
    roles = ("user", "assistant")
    return Conversation([Message(roles[i % 2], t) for i, t in enumerate(texts)])  # type: ignore[arg-type]


def contents(conversation: Conversation) -> list[str]:
    return [m.content for m in conversation.messages]


def edit(conversation: Conversation, turn: int, *texts: str) -> None:
    index = conversation.user_index(turn)
    assert index is not None
    conversation.replace_from(index)
    roles = ("user", "assistant")
    conversation.messages += [Message(roles[i % 2], t) for i, t in enumerate(texts)]  # type: ignore[arg-type]


def test_an_edit_keeps_the_old_tail_and_switching_brings_it_back() -> None:
    c = chat("q1", "a1", "q2", "a2", "q3", "a3")
    edit(c, 2, "q2 again", "a2 again")
    assert contents(c) == ["q1", "a1", "q2 again", "a2 again"]
    rows = c.branch_rows()
    assert [(r.number, r.turn, r.version, r.current, r.messages) for r in rows] == [
        (1, 2, 1, False, 4),
        (2, 2, 2, True, 2),
    ]
    assert rows[0].first_line == "q2"
    c.switch_branch(1)
    assert contents(c) == ["q1", "a1", "q2", "a2", "q3", "a3"]
    # numbers stay put: version 1 is still 1, now current
    assert [(r.number, r.version, r.current) for r in c.branch_rows()] == [
        (1, 1, True),
        (2, 2, False),
    ]
    c.switch_branch(2)
    assert contents(c) == ["q1", "a1", "q2 again", "a2 again"]


def test_three_versions_keep_their_order() -> None:
    c = chat("q1", "a1")
    edit(c, 1, "v2", "b2")
    edit(c, 1, "v3", "b3")
    assert [r.first_line for r in c.branch_rows()] == ["q1", "v2", "v3"]
    c.switch_branch(1)
    edit(c, 1, "v4", "b4")  # editing an older version: the new one is listed last
    assert [r.first_line for r in c.branch_rows()] == ["q1", "v2", "v3", "v4"]
    assert [r.current for r in c.branch_rows()] == [False, False, False, True]
    c.switch_branch(2)  # a middle one: the numbering does not move
    assert [r.first_line for r in c.branch_rows()] == ["q1", "v2", "v3", "v4"]
    assert [r.current for r in c.branch_rows()] == [False, True, False, False]
    assert contents(c) == ["v2", "b2"]


def test_branches_further_down_travel_with_their_branch() -> None:
    c = chat("q1", "a1", "q2", "a2")
    edit(c, 2, "q2b", "a2b")  # a fork at index 2
    edit(c, 1, "q1b", "a1b")  # a fork at index 0: the fork at 2 belongs to the old tail
    assert list(c.forks) == [0]
    assert [r.turn for r in c.branch_rows()] == [1, 1]
    c.switch_branch(1)
    assert contents(c) == ["q1", "a1", "q2b", "a2b"]
    assert [(r.turn, r.first_line, r.current) for r in c.branch_rows()] == [
        (1, "q1", True),
        (1, "q1b", False),
        (2, "q2", False),
        (2, "q2b", True),
    ]
    c.switch_branch(3)
    assert contents(c) == ["q1", "a1", "q2", "a2"]


def test_undo_drops_the_current_version_and_keeps_the_earlier_ones() -> None:
    c = chat("q1", "a1")
    edit(c, 1, "v2", "b2")
    c.undo()
    assert c.messages == []
    assert [(r.first_line, r.current) for r in c.branch_rows()] == [("q1", False)]
    c.messages += [Message("user", "v3")]  # sent after the undo: the newest version
    assert [(r.first_line, r.current) for r in c.branch_rows()] == [("q1", False), ("v3", True)]
    c.switch_branch(1)
    assert contents(c) == ["q1", "a1"]


def test_an_unanswered_last_message_is_replaced_without_a_branch() -> None:
    c = chat("q1", "a1", "q2")
    edit(c, 2, "q2 fixed")
    assert contents(c) == ["q1", "a1", "q2 fixed"] and c.forks == {}


def test_locate_and_rows_agree_past_the_end() -> None:
    c = chat("q1", "a1")
    assert branches.locate(c.messages, c.forks, 1) is None
    edit(c, 1, "v2", "b2")
    assert branches.locate(c.messages, c.forks, 2) == (0, 1)
    assert branches.locate(c.messages, c.forks, 3) is None
