"""The SQLite index of every session: search, /sessions, /usage, and staying in step.

Sessions are written the two ways they appear: by the store (which tells the index) and
by "someone else" (files written straight to the folder, as another program or an older
chatrepl would), which the index must notice on its own.
"""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import FakeBackend, FakeClock, RecordingView, reply

from chatrepl.adapters import storage
from chatrepl.adapters.search_index import SessionIndex, fts5_available
from chatrepl.app.cli import build_parser
from chatrepl.app.environment import Environment
from chatrepl.app.wiring import Session
from chatrepl.core import transcript
from chatrepl.core.branches import Branch, Fork
from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import CommandError
from chatrepl.core.messages import Compaction, Message, TurnStats, Usage
from chatrepl.core.pricing import by_day
from chatrepl.core.search import MARK_END, MARK_START, Highlighted, SearchQuery

DAY = 86400.0
T0 = 1_750_000_000.0  # the conversations below happen on consecutive days from here


def answer(text: str, at: float, model: str = "m1", usage: Usage | None = None) -> Message:
    return Message("assistant", text, stats=TurnStats(model=model, started_at=at, usage=usage))


def write_session(folder: Path, name: str, conversation: Conversation, model: str = "m1") -> Path:
    """A session file as another writer would leave it (the index is not told)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = transcript.header_line({"model": model}, conversation)
    text += "".join(transcript.message_line(m) for m in conversation.messages)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "sessions"
    folder.mkdir(parents=True)
    write_session(
        folder,
        "a.jsonl",
        Conversation(
            [
                Message("user", "How do I use SQLite full-text search?"),
                answer("Create an FTS5 virtual table, then query it with MATCH.", T0),
                Message("user", "and snippets?"),
                answer("snippet() marks the matching words in SQLite.", T0 + 60),
            ],
            name="sqlite notes",
        ),
    )
    write_session(
        folder,
        "b.jsonl",
        Conversation(
            [
                Message("user", "Explain SSE retry"),
                answer(
                    "The retry field sets the reconnection delay.", T0 + DAY, "claude-4-5-haiku"
                ),
            ]
        ),
        model="claude-4-5-haiku",
    )
    write_session(
        folder,
        "c.jsonl",
        Conversation(
            [
                Message("user", "Is sqlite safe after a crash? Café au lait."),
                answer("With WAL and fsync, SQLite survives a crash.", T0 + 2 * DAY),
            ]
        ),
    )
    return folder


def index_for(folder: Path, **options: object) -> SessionIndex:
    return SessionIndex(folder.parent / "index.sqlite3", folder, **options)  # type: ignore[arg-type]


def found(index: SessionIndex, text: str, **filters: object) -> list[tuple[str, int, str]]:
    hits = index.search(SearchQuery(text, **filters))  # type: ignore[arg-type]
    return [(h.session.path.name, h.turn, h.role) for h in hits]


def test_this_python_has_fts5() -> None:
    assert fts5_available(), "this Python's sqlite3 lacks FTS5: search falls back to a message"


def test_search_finds_words_in_every_session_newest_first(folder: Path) -> None:
    index = index_for(folder)
    assert found(index, "sqlite") == [
        ("c.jsonl", 1, "assistant"),
        ("c.jsonl", 1, "user"),
        ("a.jsonl", 2, "assistant"),
        ("a.jsonl", 1, "user"),
    ]
    hit = index.search(SearchQuery("fts5 MATCH"))[0]
    assert hit.snippet.count(MARK_START) == 2 and MARK_END in hit.snippet
    assert hit.content == "Create an FTS5 virtual table, then query it with MATCH."
    assert (hit.session.name, hit.session.turn, hit.model, hit.at) == ("sqlite notes", 1, "m1", T0)
    # accents and case do not matter; a phrase is a phrase; a prefix matches
    assert found(index, "CAFE") == [("c.jsonl", 1, "user")]
    assert found(index, '"reconnection delay"') == [("b.jsonl", 1, "assistant")]
    assert found(index, '"delay reconnection"') == []
    assert found(index, "snip*") == [("a.jsonl", 2, "assistant"), ("a.jsonl", 2, "user")]
    assert found(index, "sqlite -crash") == [("a.jsonl", 2, "assistant"), ("a.jsonl", 1, "user")]


def test_search_filters_by_role_model_and_time(folder: Path) -> None:
    index = index_for(folder)
    assert found(index, "sqlite", role="user") == [("c.jsonl", 1, "user"), ("a.jsonl", 1, "user")]
    assert found(index, "retry", model="claude-*") == [
        ("b.jsonl", 1, "assistant"),
        ("b.jsonl", 1, "user"),  # a user message goes with the model that answered it
    ]
    assert found(index, "retry", model="m1") == []
    assert found(index, "sqlite", since=T0 + DAY) == [
        ("c.jsonl", 1, "assistant"),
        ("c.jsonl", 1, "user"),
    ]
    assert [h.turn for h in index.search(SearchQuery("sqlite", limit=1))] == [1]


def test_sessions_are_listed_from_the_index_exactly_as_from_the_files(folder: Path) -> None:
    (folder / "broken.jsonl").write_text('{"format": "chatrepl.transcript", "version": 99}\n')
    os.utime(folder / "b.jsonl", (T0, T0 + 5))
    from_files = storage.list_sessions(folder, limit=10)
    assert index_for(folder).sessions(limit=10) == from_files
    assert {i.path.name: i.problem is not None for i in from_files}["broken.jsonl"]


def test_each_saved_turn_reaches_the_index_as_it_is_saved(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    index = index_for(folder)
    store = storage.FileSessionStore(folder, index=index)
    conversation = Conversation()
    conversation.add_user("remember the word zebra")
    store.save(conversation, {"model": "m1"})  # a new user: the index starts here
    conversation.add_assistant("zebra it is", stats=TurnStats(started_at=T0))
    store.save(conversation, {"model": "m1"})
    db = sqlite3.connect(index.path)
    # written by the save itself, before any query could have rescanned the folder
    rows = db.execute("SELECT position, role FROM messages ORDER BY position").fetchall()
    assert rows == [(0, "user"), (1, "assistant")]
    (mtime,) = db.execute("SELECT mtime_ns FROM sessions").fetchone()
    assert mtime == os.stat(store.current).st_mtime_ns
    assert found(index, "zebra") == [
        (store.current.name, 1, "assistant"),
        (store.current.name, 1, "user"),
    ]
    conversation.messages[0] = Message("user", "remember the word yak")  # a rewrite
    store.save(conversation, {"model": "m1"})
    assert [h.role for h in index.search(SearchQuery("yak"))] == ["user"]
    assert [h.role for h in index.search(SearchQuery("zebra"))] == ["assistant"]


def test_files_changed_by_someone_else_are_noticed(folder: Path) -> None:
    index = index_for(folder)
    assert found(index, "sqlite")
    time.sleep(0.01)  # the folder's mtime must move on
    write_session(folder, "d.jsonl", Conversation([Message("user", "a new word: quokka")]))
    assert found(index, "quokka") == [("d.jsonl", 1, "user")]
    (folder / "c.jsonl").unlink()
    assert [name for name, _, _ in found(index, "sqlite")] == ["a.jsonl", "a.jsonl"]
    time.sleep(0.01)
    tmp = folder / ".b.tmp"
    write_session(folder, ".b.tmp", Conversation([Message("user", "replaced: wombat")]))
    os.replace(tmp, folder / "b.jsonl")  # an atomic rewrite, as the store does
    assert found(index, "retry") == []
    assert found(index, "wombat") == [("b.jsonl", 1, "user")]


def test_a_save_that_died_before_telling_the_index_is_reread(folder: Path) -> None:
    index = index_for(folder)
    assert found(index, "sqlite")
    path = folder / "b.jsonl"
    index.before_save(path)  # the store marks the session, then the process is killed
    with path.open("a", encoding="utf-8") as f:  # after its append, before `after_save`
        f.write(transcript.message_line(Message("user", "one more: platypus")))
    assert found(index, "platypus") == [("b.jsonl", 2, "user")]


@pytest.mark.parametrize(
    "damage",
    ["delete", "garbage", "truncate", "schema"],
)
def test_a_missing_corrupt_or_foreign_index_is_rebuilt_from_the_files(
    folder: Path, damage: str
) -> None:
    index = index_for(folder)
    assert found(index, "retry")
    index.close()
    path = index.path
    if damage == "delete":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(os.urandom(4096))
    elif damage == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    else:
        db = sqlite3.connect(path)
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
        db.commit()
        db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    again = index_for(folder)
    assert found(again, "retry") == [("b.jsonl", 1, "assistant"), ("b.jsonl", 1, "user")]
    assert len(again.sessions(limit=10)) == 3


def test_without_fts5_sessions_still_list_and_search_says_why(folder: Path) -> None:
    index = index_for(folder, fts=False)
    assert len(index.sessions(limit=10)) == 3
    with pytest.raises(CommandError, match="search needs SQLite's FTS5, which this Python's"):
        index.search(SearchQuery("sqlite"))


def test_usage_per_day_counts_every_paid_reply(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    conversation = Conversation(
        [Message("user", "q"), answer("a", T0, usage=Usage(100, 10, cached_tokens=40))],
        forks={
            0: Fork(
                0,
                (Branch((Message("user", "old q"), answer("old a", T0 - 5, usage=Usage(90, 9)))),),
                1,
            )
        },
        compactions=[
            Compaction(
                0,
                2,
                T0 + DAY,
                "summary",
                "s",
                TurnStats(model="m1", started_at=T0 + DAY, usage=Usage(50, 5)),
            )
        ],
    )
    write_session(folder, "s.jsonl", conversation)
    write_session(
        folder, "t.jsonl", Conversation([Message("user", "x"), answer("y", T0 + DAY, "m2")])
    )
    days = by_day(index_for(folder).usage(since=None), {})
    first, second = sorted(days, key=lambda d: d.day)
    assert first.models["m1"].replies == 2  # the answer and the earlier branch's answer
    assert (first.models["m1"].prompt, first.models["m1"].cached) == (190, 40)
    assert second.models["m1"].prompt == 50  # the summary /compact asked for
    assert second.models["m2"].uncounted == 1  # a reply without usage still counts as one
    assert index_for(folder).usage(since=T0 + DAY / 2) and all(
        row.at >= T0 + DAY / 2 for row in index_for(folder).usage(since=T0 + DAY / 2)
    )


def test_deleting_a_session_takes_it_out_of_the_index(folder: Path) -> None:
    index = index_for(folder)
    store = storage.FileSessionStore(folder, index=index)
    assert len(store.sessions(limit=10)) == 3
    store.remove(folder / "b.jsonl")
    assert [i.path.name for i in store.sessions(limit=10)] == [
        i.path.name for i in storage.list_sessions(folder, limit=10)
    ]
    assert found(index, "retry") == []


def test_latest_comes_from_the_index_or_from_the_folder_when_there_is_none(folder: Path) -> None:
    recently = time.time() + 1000
    os.utime(folder / "a.jsonl", (recently, recently))  # a, continued lately, is the latest
    no_index = storage.FileSessionStore(folder, index=index_for(folder))
    assert no_index.latest() == folder / "a.jsonl"  # no index file yet: the folder's answer
    assert not index_for(folder).path.exists()  # ... and -c did not build one
    index = index_for(folder)
    index.sessions(limit=1)
    assert storage.FileSessionStore(folder, index=index).latest() == folder / "a.jsonl"


# --- the commands, wired as the app wires them ---------------------------------------


def engine_in(home: Path):  # type: ignore[no-untyped-def]
    backend = FakeBackend(clock=FakeClock())
    view = RecordingView()
    env = {
        **os.environ,
        "INFERENCE_URL": "http://127.0.0.1:9",
        "INFERENCE_KEY": "inf-test-0000000000",
        "INFERENCE_MODEL_ID": "m1",
    }
    environment = Environment(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        env=env,
        stdin_isatty=True,
        stdout_isatty=True,
        clock=backend.clock,
        wall_clock=time.time,
    )
    session = Session(build_parser().parse_args([]), environment, backend=lambda _: backend)
    session.__enter__()
    return session.build_engine(view, interactive=True), backend, view


def test_slash_search_lists_hits_and_load_n_opens_one_at_its_turn(isolated_env: Path) -> None:
    engine, backend, view = engine_in(isolated_env)
    for text in ("the capital of Peru is Lima", "and of Chile?", "and of Bolivia?"):
        backend.enqueue(reply(f"noted: {text}"))
        engine.handle(text)
    engine.handle("/clear")
    backend.enqueue(reply("hello"))
    engine.handle("something else")
    engine.handle("/search chile")
    title, rows = view.tables[-1]
    assert title.startswith("Search 'chile': 2 messages") and title.endswith("/load N opens one")
    assert [row[3] for row in rows] == ["assistant · turn 2", "user · turn 2"]
    snippet = rows[1][4]
    assert isinstance(snippet, Highlighted) and snippet == "and of Chile?"
    assert [snippet[a:b] for a, b in snippet.spans] == ["Chile"]
    engine.handle("/load 2")
    assert view.infos[-2:] == ["turn 2 of 3:", "> and of Chile?"]
    assert view.text.endswith("noted: and of Chile?")
    assert engine.conversation.turns == 3
    engine.handle("/sessions rm 1")
    assert view.errors[-1] == "/sessions rm N takes N from /sessions (the last list was a search)"
    engine.handle("/search nowhere-to-be-found")
    assert view.infos[-1] == "no saved message matches 'nowhere-to-be-found'"


SAVER = """
import sys, time
from pathlib import Path
from chatrepl.adapters.search_index import SessionIndex
from chatrepl.adapters.storage import FileSessionStore
from chatrepl.core.conversation import Conversation
from chatrepl.core.messages import TurnStats
folder = Path(sys.argv[1])
store = FileSessionStore(folder, index=SessionIndex(folder.parent / "index.sqlite3", folder))
conversation = Conversation()
for n in range(100000):
    conversation.add_user(f"question {n} " + "x" * 3000)
    stats = TurnStats(started_at=time.time())
    conversation.add_assistant(f"answer {n} " + "y" * 20000, stats=stats)
    store.save(conversation, {"model": "m"})
    if n % 7 == 3:  # now and then a rewrite (a settings change) instead of an append
        store.save(conversation, {"model": f"m{n}"})
    print(n, store.current, flush=True)
"""


def assert_index_matches_files(folder: Path) -> None:
    index = index_for(folder)
    listed = index.sessions(limit=100)  # brings the index in step, as any use does
    assert sorted(i.path.name for i in listed) == sorted(p.name for p in folder.glob("*.jsonl"))
    db = sqlite3.connect(index.path)
    for info in listed:
        on_disk = storage.read_transcript(info.path).conversation.messages
        assert info.turns == sum(1 for m in on_disk if m.role == "user")
        indexed = db.execute(
            "SELECT t.content FROM messages m JOIN texts t ON t.rowid = m.id "
            "JOIN sessions s ON s.id = m.session WHERE s.file = ? ORDER BY m.position",
            (info.path.name,),
        ).fetchall()
        assert [row[0] for row in indexed] == [m.content for m in on_disk]
    db.close()
    index.close()


def test_the_index_matches_the_files_after_a_sigkill_mid_save(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "sessions"
    for attempt in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(folder)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        child.stdout.readline()
        time.sleep(0.03 + 0.02 * attempt)
        os.kill(child.pid, signal.SIGKILL)
        child.stdout.read()
        child.wait()
        assert_index_matches_files(folder)


def test_an_index_that_cannot_be_opened_is_one_line_and_sessions_still_list(
    folder: Path, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the index's folder should be")
    index = SessionIndex(blocked / "index.sqlite3", folder)
    with pytest.raises(CommandError, match=r"the session index .* cannot be used"):
        index.search(SearchQuery("sqlite"))
    store = storage.FileSessionStore(folder, index=index)
    assert [i.path.name for i in store.sessions(limit=10)] == [
        i.path.name for i in storage.list_sessions(folder, limit=10)
    ]
    assert store.latest() == storage.latest_session(folder)
