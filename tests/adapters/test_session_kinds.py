"""One-shot runs are sessions of their own kind: flagged in the file, hidden from
/sessions (unless --all) and from the REPL's -c, found by search; `autosave_one_shot`."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from fakes import FakeBackend, FakeClock, reply
from test_store import ENV, SAMPLE, make_engine, sessions, sessions_dir, turn, write

from chatrepl.adapters import storage as store
from chatrepl.app.cli import build_parser
from chatrepl.app.environment import Environment
from chatrepl.app.oneshot import run_one_shot
from chatrepl.app.wiring import Session
from chatrepl.core.errors import ExitStatus


def one_shot(*argv: str, env: dict[str, str] | None = None, answer: str = "ok") -> Path | None:
    """`chatrepl ARGV...` in one-shot mode, around a scripted backend; the file it saved."""
    backend = FakeBackend(clock=FakeClock(), models=["m1"])
    backend.enqueue(reply(answer))
    environment = Environment(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        env={**os.environ, **ENV, **(env or {})},
        stdin_isatty=True,
        stdout_isatty=False,
        clock=backend.clock,
        wall_clock=FakeClock(1_700_000_000.0),
    )
    args = build_parser().parse_args(list(argv))
    with Session(args, environment, backend=lambda _: backend) as session:
        assert run_one_shot(session) == ExitStatus.OK
        return session.store.current


def header(path: Path) -> dict[str, object]:
    head: dict[str, object] = json.loads(path.read_text().split("\n", 1)[0])
    return head


def age(path: Path, seconds: float) -> None:
    """Make `path` look `seconds` older than the files written since."""
    then = os.stat(path).st_mtime - seconds
    os.utime(path, (then, then))


def test_a_one_shot_run_is_flagged_in_its_session_file() -> None:
    path = one_shot("what is SSE?")
    assert path is not None and header(path)["kind"] == "one-shot"
    loaded = store.read_transcript(path)
    assert loaded.conversation.kind == "one-shot" and loaded.conversation.turns == 1
    engine, backend, _ = make_engine()
    turn(engine, backend, "a conversation")
    (conversation,) = [p for p in sessions() if p != path]
    assert "kind" not in header(conversation)  # a conversation's header has no kind


@pytest.mark.parametrize("index", [True, False])
def test_sessions_hides_one_shots_unless_all(index: bool) -> None:
    engine, backend, view = make_engine()
    turn(engine, backend, "a real conversation")
    (talk,) = sessions()
    age(talk, 60)
    one_shot("scripted", "call")
    if not index:  # the folder scan, where there is no index, filters the same way
        for leftover in sessions_dir().parent.glob("index.sqlite3*"):
            leftover.unlink()
        engine.store.index = None  # type: ignore[union-attr]
    engine.handle("/sessions")
    title, rows = view.tables[-1]
    assert [row[4] for row in rows] == ["a real conversation"]
    assert "--all adds one-shot runs" in title
    engine.handle("/sessions --all")
    _, rows = view.tables[-1]
    assert [row[4] for row in rows] == ["(one-shot) scripted call", "a real conversation"]
    engine.handle("/load 1")  # the numbers are those of the --all list
    assert engine.conversation.messages[0].content == "scripted call"
    engine.handle("/sessions 5 --all")
    assert len(view.tables[-1][1]) == 2
    engine.handle("/sessions --every")
    assert view.errors[-1] == "/sessions takes a count or --all, not '--every'"


def test_continue_in_the_repl_skips_newer_one_shots_and_one_shot_c_takes_either() -> None:
    engine, backend, _ = make_engine()
    turn(engine, backend, "the conversation")
    (talk,) = sessions()
    age(talk, 60)
    newest = one_shot("a one-shot question")
    assert newest is not None
    resumed, _, _view = make_engine(resume=True)
    assert resumed.conversation.messages[0].content == "the conversation"
    assert resumed.store is not None and resumed.store.current == talk
    # one-shot -c goes on from the latest of either, as `llm -c` does
    continued = one_shot("-c", "and then?")
    assert continued == newest
    loaded = store.read_transcript(newest)
    assert [m.content for m in loaded.conversation.messages if m.role == "user"] == [
        "a one-shot question",
        "and then?",
    ]
    assert loaded.conversation.kind == "one-shot"  # still a one-shot run's session


def test_continue_in_the_repl_without_an_index_skips_one_shots_too() -> None:
    engine, backend, _ = make_engine()
    turn(engine, backend, "the conversation")
    (talk,) = sessions()
    age(talk, 60)
    one_shot("newer one-shot")
    for leftover in sessions_dir().parent.glob("index.sqlite3*"):
        leftover.unlink()
    found = store.FileSessionStore(sessions_dir()).open_latest()
    assert found is not None and found[0] == talk
    assert store.FileSessionStore(sessions_dir()).latest() == talk


def test_only_one_shots_saved_means_nothing_to_continue_in_the_repl() -> None:
    one_shot("just scripts")
    with pytest.raises(Exception, match="no saved conversation to continue"):
        make_engine(resume=True)


def test_old_files_without_the_flag_load_as_conversations() -> None:
    sessions_dir().mkdir(parents=True)
    old = write(sessions_dir() / "2024-01-01_00-00-00.000_abcd.jsonl", "")
    document = json.loads(SAMPLE)
    lines = [json.dumps({k: v for k, v in document.items() if k != "messages"})]
    lines += [json.dumps(m) for m in document["messages"]]
    old.write_text("\n".join(lines) + "\n")
    assert "kind" not in header(old)
    engine, _, view = make_engine(resume=True)
    assert engine.conversation.messages[0].content == "old question"
    engine.handle("/sessions")
    assert [row[4] for row in view.tables[-1][1]] == ["old question"]


def test_loading_a_one_shot_in_the_repl_makes_it_a_conversation() -> None:
    path = one_shot("started as a script")
    assert path is not None
    engine, backend, _ = make_engine(load=str(path))
    turn(engine, backend, "now in the REPL")
    assert "kind" not in header(path)
    resumed, _, _ = make_engine(resume=True)
    assert resumed.conversation.turns == 2


def config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"CHATREPL_CONFIG": str(path)}


def test_autosave_one_shot_false_saves_no_one_shot_run(tmp_path: Path) -> None:
    env = config(tmp_path, "autosave_one_shot = false\n")
    assert one_shot("not kept", env=env) is None
    assert sessions() == []
    # a one-shot run that goes on in a saved conversation still saves to it
    engine, backend, _ = make_engine()
    turn(engine, backend, "kept")
    (talk,) = sessions()
    assert one_shot("-c", "and more", env=env) == talk
    assert store.read_transcript(talk).conversation.turns == 2
    assert "kind" not in header(talk)


def test_autosave_one_shot_is_in_settings_with_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in config(tmp_path, "autosave_one_shot = false\n").items():
        monkeypatch.setenv(name, value)
    engine, _, view = make_engine()
    engine.handle("/settings")
    rows = {row[0]: row for row in view.tables[-1][1]}
    assert rows["autosave_one_shot"][1] == "off"
    assert "config" in rows["autosave_one_shot"][2]
