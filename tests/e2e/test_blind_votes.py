"""A blind comparison voted on, through the real engine, fan-out and HTTP backend against
the loopback server, into a real votes file: names hidden until the vote, shown after, a
new order for the next question, and every field of the votes file's line."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

from fakeserver import FakeServer, Recorded, Reply, sse_chunks

from chatrepl.adapters.http import HttpBackend
from chatrepl.adapters.votes_store import VoteFile
from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.commands.votes import pick_listener
from chatrepl.core.comparison import Target
from chatrepl.core.engine import Engine
from chatrepl.core.settings import Layer, resolve
from chatrepl.core.votes import messages_sha256
from chatrepl.ui.plain import PlainView

ANSWERS = {"model-x": "X says: use a queue.", "model-y": "Y says: use a lock, then a queue."}


def _serve(server: FakeServer) -> None:
    """Each model answers its own text; model-y's server names another model."""

    def respond(request: Recorded) -> Reply | None:
        model = str((request.body or {}).get("model"))
        served = "model-y-2026-01" if model == "model-y" else model
        return Reply(chunks=sse_chunks(ANSWERS[model], usage=True, model=served))

    server.respond = respond


def _engine(server: FakeServer, out: io.StringIO, err: io.StringIO, votes: Path) -> Engine:
    resolved = resolve(Layer("test", {"url": server.url, "model": "model-x"}))
    engine = Engine(
        resolved, HttpBackend(resolved.settings), PlainView(out, err), commands=builtin_commands()
    )
    engine.rng = random.Random(11)
    engine.votes = VoteFile(votes)
    engine.pick_listeners.append(pick_listener(engine))
    return engine


def test_a_blind_comparison_hides_the_names_until_the_vote(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    _serve(fake_server)
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "votes.jsonl"
    engine = _engine(fake_server, out, err, path)
    pair = [Target("model-x", "model-x"), Target("model-y", "model-y")]
    first = engine.compare(pair, "how do I share a counter? #threads", blind=True)
    shown = out.getvalue() + err.getvalue()
    assert "model-" not in shown  # no names before the vote
    assert ANSWERS["model-x"] in shown and ANSWERS["model-y"] in shown
    column_a = first.targets[first.order[0]].model
    column_b = first.targets[first.order[1]].model
    before = len(out.getvalue()) + len(err.getvalue())
    engine.handle("/vote A")
    after = (out.getvalue() + err.getvalue())[before:]
    assert column_a in after and column_b in after  # the names, after the vote
    assert f"vote recorded: A ({column_a}) beat B ({column_b})" in after
    (line,) = [json.loads(text) for text in path.read_text().splitlines()]
    assert line["outcome"] == "A" and line["winner"] == column_a and line["blind"] is True
    assert line["prompt"] == "how do I share a counter? #threads" and line["tags"] == ["threads"]
    assert line["messages_sha256"] == messages_sha256([], "how do I share a counter? #threads")
    assert line["turn"] == 1 and line["via"] == "vote" and line["flagged"] is False
    a, b = line["sides"]
    assert (a["label"], a["model"], b["label"], b["model"]) == ("A", column_a, "B", column_b)
    by_model = {s["model"]: s for s in line["sides"]}
    assert by_model["model-y"]["served_model"] == "model-y-2026-01"  # what really answered
    assert by_model["model-x"]["served_model"] == "model-x"
    for side in line["sides"]:
        assert side["text_length"] == len(ANSWERS[side["model"]])
        assert side["finish_reason"] == "stop" and side["error"] is None
        assert side["usage"]["completion_tokens"] > 0
        assert side["ttft"] is not None and side["duration"] >= side["ttft"]
        assert side["endpoint"] == f"127.0.0.1:{fake_server.port}"
        assert not {"messages", "model", "stream"} & set(side["settings"])
    engine.handle("/vote B")
    assert "this comparison already has its vote (A)" in err.getvalue() + out.getvalue()

    second = engine.compare(pair, "and a dict? #threads", blind=True)
    assert second.order != first.order  # a new question, a new order
    engine.handle("/vote B")
    lines = [json.loads(text) for text in path.read_text().splitlines()]
    assert lines[1]["winner"] == second.targets[second.order[1]].model
    assert lines[1]["sides"][1]["model"] == lines[1]["winner"]


def test_a_blind_pick_is_recorded_as_a_vote_and_a_shown_one_is_not(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    _serve(fake_server)
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "votes.jsonl"
    engine = _engine(fake_server, out, err, path)
    engine.handle("/compare --blind model-x model-y -- pick one")
    comparison = engine.last_comparison
    assert comparison is not None and comparison.blind
    column_b = comparison.targets[comparison.order[1]].model
    engine.handle("/pick B")
    (line,) = [json.loads(text) for text in path.read_text().splitlines()]
    assert (line["via"], line["outcome"], line["winner"]) == ("pick", "B", column_b)
    assert comparison.revealed
    assert engine.conversation.messages[-1].content == ANSWERS[column_b]  # the pick stands
    assert f"vote recorded: B ({column_b}) beat A" in out.getvalue() + err.getvalue()
    engine.handle("/vote A")  # the pick was its vote
    assert "this comparison already has its vote (B)" in out.getvalue() + err.getvalue()

    engine.handle("/compare model-x model-y -- names shown")
    engine.handle("/pick 1")
    assert len(path.read_text().splitlines()) == 1  # keeping a reply, not a vote
