"""The disk side: autosave, resume, the transcript commands, permissions, bad files."""

from __future__ import annotations

import ctypes
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import FakeBackend, FakeClock, RecordingView, reply
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from chatrepl.adapters import paths
from chatrepl.adapters import storage as store
from chatrepl.app.cli import build_parser
from chatrepl.app.environment import Environment
from chatrepl.app.wiring import Session
from chatrepl.core import transcript
from chatrepl.core.conversation import Conversation
from chatrepl.core.engine import Engine
from chatrepl.core.errors import ConfigError, ExitStatus, TranscriptError
from chatrepl.core.messages import Message, TextDelta, TurnStats
from chatrepl.ui.prompt import ChatCompleter

KEY = "inf-0123456789abcdefSECRETabcd"
ENV = {
    "INFERENCE_URL": "https://us.inference.heroku.com",
    "INFERENCE_KEY": KEY,
    "INFERENCE_MODEL_ID": "m1",
}
PR_CAPBSET_DROP = 24


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def make_engine(
    *, autosave: bool = True, resume: bool = False, load: str | None = None, **flags: object
) -> tuple[Engine, FakeBackend, RecordingView]:
    """An engine wired as the app wires it, around a scripted backend."""
    backend = FakeBackend(clock=FakeClock(), models=["m1"])
    view = RecordingView()
    argv = [] if autosave else ["--no-save"]
    argv += ["--continue"] if resume else []
    argv += ["--load", load] if load else []
    for name, value in flags.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    environment = Environment(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        env={**os.environ, **ENV},
        stdin_isatty=True,
        stdout_isatty=True,
        clock=backend.clock,
        wall_clock=FakeClock(1_700_000_000.0),
    )
    session = Session(build_parser().parse_args(argv), environment, backend=lambda _: backend)
    session.__enter__()
    return session.build_engine(view, interactive=True), backend, view


def turn(engine: Engine, backend: FakeBackend, text: str) -> None:
    backend.enqueue(reply(f"You said: {text}"))
    engine.handle(text)


def sessions_dir() -> Path:
    return paths.sessions_dir(os.environ)


def sessions() -> list[Path]:
    folder = sessions_dir()
    return sorted(folder.glob("*.jsonl")) if folder.exists() else []


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


SAMPLE = transcript.dumps(
    Conversation([Message("user", "old question"), Message("assistant", "old answer")]),
    {"model": "saved-model", "temperature": 0.3, "max_tokens": 50, "system": "Be old."},
)


# --- private atomic writes --------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_write_private_is_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    (tmp_path / "out").mkdir()
    old = os.umask(umask)
    try:
        target = tmp_path / "out" / "t.json"
        store.write_private(target, "one")
        store.write_private(target, "two")  # replacing keeps the mode too
    finally:
        os.umask(old)
    assert target.read_text() == "two" and mode(target) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["t.json"]  # no temp file left behind


def test_autosave_folder_0700_files_0600_one_file_per_conversation() -> None:
    engine, backend, _ = make_engine()
    assert sessions() == []  # nothing is written before the first turn
    turn(engine, backend, "hello")
    (first,) = sessions()
    assert mode(first) == 0o600
    assert mode(first.parent) == 0o700 and mode(first.parent.parent) == 0o700
    turn(engine, backend, "again")
    assert sessions() == [first]
    loaded = store.read_transcript(first)
    assert loaded.conversation == engine.conversation
    assert loaded.settings == {"model": "m1"}
    assert KEY not in first.read_text()
    engine.handle("/clear")
    assert len(sessions()) == 2  # saved at once, empty, so -c resumes the cleared state
    newest = store.latest_session(sessions_dir())
    assert newest != first and store.read_transcript(newest).conversation.turns == 0
    turn(engine, backend, "fresh start")
    assert len(sessions()) == 2
    assert store.latest_session(sessions_dir()) == newest
    assert store.read_transcript(newest).conversation.turns == 1


def test_turns_are_appended_and_other_changes_rewrite_atomically() -> None:
    engine, backend, _ = make_engine()
    turn(engine, backend, "one")
    (path,) = sessions()
    inode = path.stat().st_ino
    turn(engine, backend, "two")
    assert path.stat().st_ino == inode  # appended in place
    engine.handle("/undo")
    turn(engine, backend, "three")
    assert path.stat().st_ino != inode  # history changed: a fresh file renamed over it
    inode = path.stat().st_ino
    engine.handle("/model m2")
    turn(engine, backend, "four")
    assert path.stat().st_ino != inode  # settings changed: the header is rewritten
    loaded = store.read_transcript(path)
    assert [m.content for m in loaded.conversation.messages if m.role == "user"] == [
        "one",
        "three",
        "four",
    ]
    assert loaded.settings["model"] == "m2"
    assert loaded.conversation == engine.conversation


def test_an_interrupted_turn_is_saved_and_marked() -> None:
    engine, backend, _ = make_engine()
    backend.interrupt_after([TextDelta("Partial ans")])
    engine.handle("long question")
    (path,) = sessions()
    last = store.read_transcript(path).conversation.messages[-1]
    assert last.content == "Partial ans" and last.stats is not None and last.stats.interrupted


def test_a_failed_turn_saves_the_message_for_retry_after_a_restart() -> None:
    from chatrepl.core.errors import TransportError

    engine, backend, _ = make_engine()
    backend.fail(TransportError("connection refused"))
    engine.handle("hello")
    (path,) = sessions()
    assert [(m.role, m.content) for m in store.read_transcript(path).conversation.messages] == [
        ("user", "hello")
    ]
    resumed, backend, _ = make_engine(resume=True)
    backend.enqueue(reply("hi!"))
    resumed.handle("/retry")
    assert backend.payloads[-1]["messages"] == [{"role": "user", "content": "hello"}]


def test_no_save_writes_nothing(isolated_env: Path) -> None:
    engine, backend, _ = make_engine(autosave=False)
    turn(engine, backend, "hello")
    engine.handle("/clear")
    turn(engine, backend, "again")
    assert not any(p.is_file() for p in isolated_env.rglob("*"))
    assert not sessions_dir().exists()


def test_autosave_failure_is_one_error_line_and_the_session_goes_on() -> None:
    data = sessions_dir().parent
    data.parent.mkdir(parents=True)
    data.write_text("a file where the data folder should be")
    engine, backend, view = make_engine()
    turn(engine, backend, "hello")
    assert len(view.errors) == 1 and view.errors[0].startswith("autosave failed:")
    assert engine.conversation.turns == 1
    turn(engine, backend, "still here")
    assert engine.conversation.turns == 2


def test_torn_tail_after_a_crash_is_dropped_and_repaired() -> None:
    engine, backend, _ = make_engine()
    for text in ("one", "two"):
        turn(engine, backend, text)
    (path,) = sessions()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"role": "user", "content": "thr')  # a kill in the middle of a write
    engine, backend, _ = make_engine(resume=True)
    assert engine.conversation.turns == 2
    turn(engine, backend, "three")
    lines = path.read_text().split("\n")
    assert lines[-1] == "" and '{"role": "user", "content": "thr' not in lines
    assert store.read_transcript(path).conversation.turns == 3


SAVER = r"""
import sys
from pathlib import Path
from chatrepl.core.conversation import Conversation
from chatrepl.adapters.storage import Autosaver
saver = Autosaver(Path(sys.argv[1]))
conversation = Conversation()
for n in range(100000):
    conversation.add_user(f"question {n} " + "x" * 3000)
    conversation.add_assistant(f"answer {n} " + "y" * 60000)
    saver.save(conversation, {"model": "m"})
    print(n, saver.path, flush=True)
"""


def test_sigkill_at_any_moment_loses_no_saved_turn(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    for attempt in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(folder)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        line = child.stdout.readline()
        time.sleep(0.05 + 0.03 * attempt)
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read()
        child.wait()
        reported = [line, *rest.splitlines()]
        saved = int(reported[-1].split()[0]) + 1  # turns the child had finished saving
        path = Path(line.split()[1])
        loaded = store.read_transcript(path)
        assert loaded.conversation.turns >= saved
        assert all(
            m.content.split()[1] == str(i // 2) for i, m in enumerate(loaded.conversation.messages)
        )
        path.unlink()


def test_stale_temp_files_from_a_killed_rewrite_are_swept() -> None:
    folder = sessions_dir()
    folder.mkdir(parents=True)
    stale, fresh = folder / ".a.jsonl.1234.tmp", folder / ".b.jsonl.5678.tmp"
    for path in (stale, fresh):
        path.write_text("{")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    make_engine()
    assert not stale.exists() and fresh.exists()  # a fresh one may belong to a live writer


# --- resume and load at startup ---------------------------------------------------------


def test_continue_resumes_the_latest_and_keeps_appending_to_it() -> None:
    engine, backend, _ = make_engine()
    turn(engine, backend, "first")
    (path,) = sessions()
    inode = path.stat().st_ino
    engine, backend, view = make_engine(resume=True)
    assert view.infos == ["continuing “first” · 1 turn · last: “first” → “You said: first”"]
    turn(engine, backend, "second")
    assert sessions() == [path]
    assert path.stat().st_ino == inode  # resuming appends; it does not rewrite the file
    sent = backend.payloads[-1]["messages"]
    assert [m["content"] for m in sent] == ["first", "You said: first", "second"]


def test_continue_with_nothing_saved_is_an_error() -> None:
    with pytest.raises(TranscriptError, match="no saved conversation to continue"):
        make_engine(resume=True)


def test_continue_and_load_together_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        make_engine(resume=True, load=str(write(tmp_path / "a.json", SAMPLE)))


def test_load_restores_messages_and_settings_with_provenance(tmp_path: Path) -> None:
    path = write(tmp_path / "chat.json", SAMPLE)
    engine, backend, _ = make_engine(load=str(path), temperature=0.9)
    s = engine.settings
    assert (s.model, s.max_tokens, s.system) == ("saved-model", 50, "Be old.")
    assert s.temperature == 0.9  # a flag on the command line wins over the transcript
    assert engine.sources["model"] == f"transcript {path}"
    assert engine.sources["temperature"] == "flag --temperature"
    turn(engine, backend, "new question")
    body = backend.payloads[-1]
    assert body["messages"][0] == {"role": "system", "content": "Be old."}
    assert [m["content"] for m in body["messages"][1:]] == [
        "old question",
        "old answer",
        "new question",
    ]
    (saved,) = sessions()  # a loaded outside file continues in a new session file
    assert store.read_transcript(saved).conversation.turns == 2
    assert path.read_text() == SAMPLE


def test_load_reads_markdown_and_request_bodies(tmp_path: Path) -> None:
    body = {
        "model": "claude-4-sonnet",
        "temperature": 0.5,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    engine, _, _ = make_engine(load=str(write(tmp_path / "b.json", json.dumps(body))))
    assert engine.settings.model == "claude-4-sonnet" and engine.conversation.turns == 1
    md = transcript.to_markdown(Conversation([Message("user", "# not a heading")]), {})
    engine, _, _ = make_engine(load=str(write(tmp_path / "c.md", md)))
    assert engine.conversation.messages == [Message("user", "# not a heading")]


# --- bad files: one line naming the file; the REPL keeps its conversation -----------------


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = SAMPLE
    folder = tmp_path / "folder.json"
    folder.mkdir()
    (tmp_path / "garbage.bin").write_bytes(os.urandom(64) + b"\xff\xfe")
    return {
        "not json": (write(tmp_path / "notes.json", "just some notes"), "not a transcript"),
        "truncated": (write(tmp_path / "cut.json", good[: len(good) // 2]), "truncated"),
        "wrong shape": (write(tmp_path / "shape.json", '{"foo": [1]}'), "wrong shape"),
        "unknown version": (
            write(tmp_path / "v9.json", good.replace('"version": 2', '"version": 9')),
            "version 9 is newer",
        ),
        "binary": (tmp_path / "garbage.bin", "binary data"),
        "folder": (folder, "is a folder"),
        "missing": (tmp_path / "missing.json", "no such file"),
        "empty": (write(tmp_path / "empty.json", ""), "empty file"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not json",
        "truncated",
        "wrong shape",
        "unknown version",
        "binary",
        "folder",
        "missing",
        "empty",
    ],
)
def test_bad_file_at_startup(tmp_path: Path, case: str) -> None:
    path, problem = bad_files(tmp_path)[case]
    with pytest.raises(TranscriptError) as caught:
        make_engine(load=str(path))
    assert str(caught.value).startswith(f"{path}: ") and problem in str(caught.value)
    assert caught.value.exit_status == ExitStatus.USAGE == 2


@pytest.mark.parametrize(
    "case",
    [
        "not json",
        "truncated",
        "wrong shape",
        "unknown version",
        "binary",
        "folder",
        "missing",
        "empty",
    ],
)
def test_bad_file_in_the_repl_leaves_the_conversation_untouched(tmp_path: Path, case: str) -> None:
    path, problem = bad_files(tmp_path)[case]
    engine, backend, view = make_engine(system="Mine.")
    turn(engine, backend, "keep me")
    before, settings = list(engine.conversation.messages), engine.resolved
    engine.handle(f"/load {path}")
    assert engine.conversation.messages == before and engine.resolved == settings
    assert len(view.errors) == 1 and view.errors[0].startswith(f"{path}: ")
    assert problem in view.errors[0]
    turn(engine, backend, "still works")
    assert engine.conversation.turns == 2


def _without_root_file_powers() -> None:
    """In the child: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so mode 000 binds root."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_unreadable_file(tmp_path: Path) -> None:
    locked = write(tmp_path / "locked.json", SAMPLE)
    locked.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(TranscriptError, match=r"locked\.json: permission denied"):
            store.read_transcript(locked)
        return
    # root reads any file; run the real CLI as root without the capabilities that allow it
    env = {**os.environ, "INFERENCE_URL": "http://127.0.0.1:9", "INFERENCE_KEY": KEY}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "chatrepl", "--load", str(locked), "hi"],
            env=env,
            preexec_fn=_without_root_file_powers,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.SubprocessError as exc:  # no CAP_SETPCAP (an unusual container)
        pytest.skip(f"cannot make a file unreadable for root here: {exc}")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"chatrepl: {locked}: permission denied (cannot read it)\n"


# --- the commands ----------------------------------------------------------------------


def test_save_and_export_write_private_loadable_files(tmp_path: Path) -> None:
    engine, backend, view = make_engine(system="Sys.")
    turn(engine, backend, "hello")
    turn(engine, backend, "## tricky\n---\n```")
    for line, name in [
        ("/save {}", "chat.json"),
        ("/export {}", "chat.md"),
        ("/export {} --format openai", "body.json"),
        ("/export {}", "doc.json"),
    ]:
        path = tmp_path / name
        engine.handle(line.format(path))
        assert mode(path) == 0o600, name
        loaded = store.read_transcript(path)
        assert [(m.role, m.content) for m in loaded.conversation.messages] == [
            (m.role, m.content) for m in engine.conversation.messages
        ]
        assert loaded.settings["system"] == "Sys." and loaded.settings["model"] == "m1"
    assert view.errors == []
    full = store.read_transcript(tmp_path / "chat.md")
    assert full.conversation == engine.conversation  # stats and all
    body = json.loads((tmp_path / "body.json").read_text())
    assert set(body) == {"model", "messages"} and body["messages"][0]["role"] == "system"


def test_save_to_a_path_with_spaces_and_tilde(isolated_env: Path) -> None:
    engine, backend, view = make_engine()
    turn(engine, backend, "hi")
    engine.handle("/save ~/my chat.json")
    assert (isolated_env / "my chat.json").is_file()
    engine.handle("/load '~/my chat.json'")
    assert view.errors == [] and engine.conversation.turns == 1


def test_save_without_a_path_writes_the_session_even_with_autosave_off() -> None:
    engine, backend, view = make_engine(autosave=False)
    engine.handle("/save")
    assert view.errors == ["nothing to save yet"]
    turn(engine, backend, "keep this one")
    assert sessions() == []
    engine.handle("/save")
    (path,) = sessions()
    # one line saying so, and saving goes on for the rest of the session
    assert view.infos[-1] == (
        f"saved to {path}; autosave is on now: every later turn is saved there too"
    )
    turn(engine, backend, "and this one")
    assert store.read_transcript(path).conversation.turns == 2
    engine.handle("/settings")
    assert ("autosave", "on", "/save") in view.tables[-1][1]
    engine.handle("/save")  # saving again needs no second notice
    assert view.infos[-1] == f"saved to {path}"
    engine.handle("/clear")
    turn(engine, backend, "a new conversation, saved as well")
    assert len(sessions()) == 2


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("/export notes.txt", "writes PATH.md (Markdown) or PATH.json"),
        ("/export x.json --format yaml", "--format takes chatrepl, markdown, openai"),
        ("/export", "/export takes PATH.md"),
        ("/export {tmp} --format openai", "is a folder"),
        ("/export {tmp}/nowhere/x.md", "does not exist"),
        ("/save {tmp}/nowhere/x.json", "does not exist"),
        ("/load", "/load takes a FILE"),
        ("/load 3", "no session 3: /sessions shows 1 session"),
        ("/sessions lots", "/sessions takes a count"),
    ],
)
def test_command_mistakes_are_one_line(tmp_path: Path, line: str, problem: str) -> None:
    engine, backend, view = make_engine()
    turn(engine, backend, "hi")
    engine.handle(line.format(tmp=tmp_path))
    assert len(view.errors) == 1 and problem in view.errors[0]
    assert engine.conversation.turns == 1


def test_sessions_lists_and_load_n_opens(tmp_path: Path) -> None:
    engine, backend, view = make_engine()
    engine.handle("/sessions")
    assert view.infos[-1].startswith("no saved conversations yet")
    turn(engine, backend, "first topic\nsecond line")
    old = sessions()[0]
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    engine.handle("/clear")
    engine.handle("/model m2")
    turn(engine, backend, "other topic")
    turn(engine, backend, "more")
    write(sessions_dir() / "broken.jsonl", "{")
    os.utime(sessions_dir() / "broken.jsonl", (0, 0))
    engine.handle("/sessions")
    title, rows = view.tables[-1]
    assert "newest first" in title
    assert [row[0] for row in rows] == ["1*", "2", "3"]
    assert rows[0][2:] == ("m2", "2 turns", "other topic")
    assert rows[1][2:] == ("m1", "1 turn", "first topic")
    assert "unreadable" in rows[2][4]
    engine.handle("/load 2")
    assert engine.conversation.messages[0].content == "first topic\nsecond line"
    assert engine.settings.model == "m1"
    turn(engine, backend, "continue the first")
    assert store.read_transcript(old).conversation.turns == 2  # /load N continues its file
    engine.handle("/load 3")
    assert "unexpected" in view.errors[-1] or "truncated" in view.errors[-1]


def test_transcript_commands_complete_paths(tmp_path: Path) -> None:
    engine, _, _ = make_engine()
    (tmp_path / "chat-one.json").write_text("{}")
    completer = ChatCompleter(list(engine.registry), lambda: [])
    for command in ("/load", "/save", "/export"):
        text = f"{command} {tmp_path}/chat-"
        found = [c.text for c in completer.get_completions(Document(text), CompleteEvent())]
        assert found == ["one.json"], command
    names = {c.name for c in engine.registry}
    assert {"save", "load", "sessions", "export"} <= names


def test_stats_survive_autosave() -> None:
    engine, backend, _ = make_engine()
    turn(engine, backend, "hi")
    (path,) = sessions()
    stats = store.read_transcript(path).conversation.messages[-1].stats
    assert isinstance(stats, TurnStats) and stats == engine.conversation.messages[-1].stats
    assert stats.model == "m1" and stats.started_at == 1_700_000_000.0


# --- branches, forks, names, deleting ----------------------------------------------------


def test_an_edit_and_a_branch_switch_rewrite_the_session_exactly() -> None:
    engine, backend, _ = make_engine()
    for text in ("one", "two", "three"):
        turn(engine, backend, text)
    (path,) = sessions()
    inode = path.stat().st_ino
    engine.handle("/edit 2")
    turn(engine, backend, "two, edited")
    assert path.stat().st_ino != inode  # the header holds the branches: rewritten
    assert store.read_transcript(path).conversation == engine.conversation
    inode = path.stat().st_ino
    turn(engine, backend, "after the edit")
    assert path.stat().st_ino == inode  # only grew: appended
    assert store.read_transcript(path).conversation == engine.conversation
    engine.handle("/branch 1")
    assert [m.content for m in engine.conversation.messages][::2] == ["one", "two", "three"]
    loaded = store.read_transcript(path).conversation
    assert loaded == engine.conversation
    # a restart with --continue finds the other branch too
    again, _, view = make_engine(resume=True)
    again.handle("/branches")
    assert [row[4] for row in view.tables[-1][1]] == ["two", "two, edited"]
    again.handle("/branch 2")
    assert [m.content for m in again.conversation.messages][::2] == [
        "one",
        "two, edited",
        "after the edit",
    ]


def test_fork_writes_a_new_file_naming_its_parent_and_leaves_the_original() -> None:
    engine, backend, view = make_engine()
    turn(engine, backend, "one")
    turn(engine, backend, "two")
    (original,) = sessions()
    before = original.read_bytes()
    engine.handle("/fork 1 side quest")
    assert view.errors == []
    forked = next(p for p in sessions() if p != original)
    assert original.read_bytes() == before
    loaded = store.read_transcript(forked).conversation
    assert [m.content for m in loaded.messages] == ["one", "You said: one"]
    assert (loaded.name, loaded.parent) == ("side quest", original.name)
    turn(engine, backend, "in the fork")
    assert original.read_bytes() == before
    os.utime(original, (time.time() - 60, time.time() - 60))
    engine.handle("/sessions")
    rows = view.tables[-1][1]
    assert rows[0][4] == "“side quest” one (fork of 2)" and rows[0][0] == "1*"
    assert rows[1][4] == "one"


def test_sessions_rm_deletes_one_and_not_the_current(tmp_path: Path) -> None:
    engine, backend, view = make_engine()
    turn(engine, backend, "old")
    (old,) = sessions()
    os.utime(old, (time.time() - 60, time.time() - 60))
    engine.handle("/clear")
    turn(engine, backend, "new")
    engine.handle("/sessions")
    engine.handle("/sessions rm 1 --yes")
    assert view.errors[-1] == "that is the current session: /clear or /load another first"
    engine.handle("/sessions rm 2 --yes")
    assert not old.exists() and len(sessions()) == 1
    assert view.infos[-1].startswith("deleted session 2")


def test_attached_images_are_stored_once_beside_the_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 30
    (tmp_path / "a.png").write_bytes(png)
    (tmp_path / "notes.txt").write_text("remember\n")
    engine, backend, view = make_engine(model="gpt-4o-mini")
    engine.handle("/attach a.png notes.txt")
    turn(engine, backend, "look")
    turn(engine, backend, "@a.png again")  # the same bytes: still one file
    assert view.errors == []
    images = sorted((sessions_dir().parent / "images").iterdir())
    assert [p.name for p in images] == [f"{transcript_digest(png)}.png"]
    (path,) = sessions()
    text = path.read_text()
    assert "iVBOR" not in text  # no base64 in the session
    record = json.loads(text.splitlines()[1])
    assert record["content"] == "look\n\nnotes.txt:\n```\nremember\n```"
    assert [a["path"] for a in record["attachments"]] == ["a.png", "notes.txt"]
    again, backend2, _ = make_engine(resume=True, model="gpt-4o-mini")
    turn(again, backend2, "and now?")
    parts = backend2.payloads[-1]["messages"][0]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")


def transcript_digest(data: bytes) -> str:
    from chatrepl.core.attachments import digest

    return digest(data)


def test_a_name_alone_rewrites_the_header_and_later_turns_append() -> None:
    engine, backend, _ = make_engine()
    turn(engine, backend, "one")
    (path,) = sessions()
    engine.handle("/name the plan")
    assert store.read_transcript(path).conversation.name == "the plan"
    inode = path.stat().st_ino
    turn(engine, backend, "two")
    assert path.stat().st_ino == inode
    assert store.read_transcript(path).conversation == engine.conversation
