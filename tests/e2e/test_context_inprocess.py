"""Whole runs about long conversations and many of them, in-process (see test_inprocess.py):
`chatrepl --search`, a conversation that outgrows the window, and cost on the stats line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply
from test_inprocess import Run, environment

from chatrepl.adapters import paths
from chatrepl.adapters.storage import read_transcript
from chatrepl.core.errors import ExitStatus

LLAMA_400 = (
    "request (5031 tokens) exceeds the available context size (4096 tokens), try increasing it"
)


def config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"CHATREPL_CONFIG": str(path)}


@pytest.fixture
def saved(fake_server: FakeServer) -> None:
    """Three saved sessions, made the way a user makes them: one-shot runs."""
    for model, words in (
        ("m1", "how does SSE retry work"),
        ("m2", "what is an FTS5 index"),
        ("m1", "SSE or websockets for a chat app"),
    ):
        run = Run(["-m", model, *words.split()], environment(fake_server))
        assert run.status == ExitStatus.OK


def lines(run: Run) -> list[list[str]]:
    return [line.split("\t") for line in run.out.splitlines()]


def test_search_prints_hits_newest_first_and_needs_no_endpoint(saved: None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_")}
    run = Run(["--search", "sse"], env)
    assert run.status == ExitStatus.OK, run.err
    rows = lines(run)
    # date, model, role and turn, snippet, session file; one-shot runs are found, and
    # say what they are
    assert [(r[1], r[2]) for r in rows] == [
        ("m1", "assistant · turn 1 · one-shot"),
        ("m1", "user · turn 1 · one-shot"),
        ("m1", "assistant · turn 1 · one-shot"),
        ("m1", "user · turn 1 · one-shot"),
    ]
    assert rows[1][3] == "SSE or websockets for a chat app"
    assert rows[0][4].endswith(".jsonl") and rows[0][4] != rows[2][4]


def test_search_filters_and_json(saved: None) -> None:
    run = Run(["--search", "fts5", "--json", "--role", "user", "--since", "1d"], dict(os.environ))
    assert run.status == ExitStatus.OK, run.err
    (hit,) = json.loads(run.out)
    assert hit["role"] == "user" and hit["model"] == "m2" and hit["turn"] == 1
    assert hit["one_shot"] is True
    assert hit["content"] == "what is an FTS5 index" and hit["snippet"] == hit["content"]
    folder = paths.sessions_dir(os.environ)
    assert Path(hit["path"]).parent == folder and hit["session"] == Path(hit["path"]).name
    assert (
        read_transcript(hit["path"]).conversation.messages[hit["index"]].content == hit["content"]
    )
    by_model = Run(["--search", "sse", "--model", "m2", "--json"], dict(os.environ))
    assert json.loads(by_model.out) == []
    nothing = Run(["--search", "zzz-not-there"], dict(os.environ))
    assert (nothing.status, nothing.out) == (ExitStatus.OK, "")
    assert nothing.err == "no saved message matches 'zzz-not-there'\n"


JSON_OR_SINCE = "--json goes with --search TEXT or --compare; --since with --search"


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--search", "x", "--role", "system"], "with --search, --role takes user or assistant"),
        (["--search", "x", "--since", "soon"], "--since takes a date"),
        (["--search", "x", "and", "more"], "--search takes its text as its value"),
        (["--json", "hello"], JSON_OR_SINCE),
        (["--since", "7d", "hello"], JSON_OR_SINCE),
        (["--search", "-"], "nothing to search for"),
    ],
)
def test_search_mistakes_are_one_line_and_exit_2(argv: list[str], problem: str) -> None:
    run = Run(argv, dict(os.environ))
    assert run.status == ExitStatus.USAGE
    assert problem in run.err and run.err.count("\n") == 1


def test_a_one_shot_refused_as_too_long_says_what_to_do_and_keeps_the_message(
    fake_server: FakeServer,
) -> None:
    assert Run(["-m", "m1", "first"], environment(fake_server)).status == ExitStatus.OK
    fake_server.enqueue(Reply.error(400, LLAMA_400, kind="exceed_context_size_error"))
    run = Run(["-c", "a", "very", "long", "question"], environment(fake_server))
    assert run.status == ExitStatus.API
    assert LLAMA_400 in run.err
    assert "continue it with chatrepl -c and /compact or /trim" in run.err
    (path,) = paths.sessions_dir(os.environ).glob("*.jsonl")
    contents = [m.content for m in read_transcript(path).conversation.messages]
    assert contents == ["first", "You said: first", "a very long question"]


def test_auto_compact_trim_recovers_from_the_servers_error_and_the_file_keeps_it_all(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = environment(fake_server, **config(tmp_path, 'auto_compact = "trim"\n'))
    for text in ("one", "two", "three"):
        assert (
            Run(["-m", "m1", "-c", text] if text != "one" else ["-m", "m1", text], env).status == 0
        )
    fake_server.enqueue(Reply.error(400, LLAMA_400))
    run = Run(["-c", "four"], env)
    assert run.status == ExitStatus.OK, run.err
    assert run.out == "You said: four\n"
    refused, answered = [r.body["messages"] for r in fake_server.chat_requests[-2:]]
    assert len(refused) == 7 and len(answered) < len(refused)
    assert answered[-1] == {"role": "user", "content": "four"}
    (path,) = paths.sessions_dir(os.environ).glob("*.jsonl")
    loaded = read_transcript(path).conversation
    assert [m.content for m in loaded.messages][::2] == ["one", "two", "three", "four"]
    assert loaded.compaction is not None and loaded.compaction.how == "trim"
    assert "auto_compact: turn" in run.err


def test_the_stats_line_shows_the_cost_from_the_configs_prices(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = environment(
        fake_server, **config(tmp_path, '[prices."m1"]\ninput = 3.0\noutput = 15.0\n')
    )
    run = Run(["-m", "m1", "price", "me"], env)
    assert run.status == ExitStatus.OK
    stats = run.err.strip().splitlines()[-1]
    # 2 prompt tokens (the fake counts words) at $3/M and 4 completion tokens at $15/M
    assert stats.endswith(" · $0.0001"), stats
    no_price = Run(["-m", "m2", "price", "me"], env)
    assert "$" not in no_price.err
