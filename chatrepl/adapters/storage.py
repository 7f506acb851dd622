"""The disk side of transcripts: autosave, resume, the sessions folder, private writes.

Autosave keeps one file per conversation in `data_dir()/sessions/` (folder 0700, files
0600), in JSON Lines: a header line (format, version, settings), then one line per
message. After a turn the new messages are *appended* with a single `write` and an
`fsync`, so the cost per turn stays flat however long the conversation is: about
0.2 ms at 10, 500 and 2,000 messages, where a full atomic rewrite costs 1 ms, 6 ms and
20-30 ms and keeps growing (benchmarks/bench_transcripts.py). Anything that is not a
plain extension (a settings change, /undo, /retry, /edit, /branch, /name, a new file,
a torn tail) rewrites the whole file atomically: temp file in the same folder, fsync,
rename, fsync the folder. A SIGKILL mid-append can at worst leave a cut-off last line,
which the loader drops (the turn being written had not been saved yet) and the next
save repairs by rewriting; a SIGKILL mid-rewrite leaves the old file untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from chatrepl.adapters.paths import private_dir
from chatrepl.core import transcript
from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import ChatReplError, TranscriptError
from chatrepl.core.messages import Message
from chatrepl.core.transcript import SessionInfo, Transcript

SUFFIX = ".jsonl"


class _OneShot(Exception):
    """A one-shot run's session, where only a conversation will do (`-c` in the REPL)."""


class Index(Protocol):
    """What the store tells the session index (adapters.search_index) and asks it."""

    def before_save(self, path: Path | None) -> None: ...
    def after_save(
        self, path: Path, conversation: Conversation, settings: Mapping[str, Any], *, unchanged: int
    ) -> None: ...
    def forget(self, path: Path) -> None: ...
    def sessions(self, *, limit: int, one_shots: bool = False) -> list[SessionInfo]: ...
    def latest(self, *, one_shots: bool = False) -> Path | bool | None: ...


def _fsync_dir(folder: Path) -> None:
    # the rename is only durable once the folder's entry is on disk
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _encoded(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # the engine repairs text; this is the last guard
        raise TranscriptError(f"text that cannot be saved as UTF-8 (at {exc.start})") from None


def write_private(path: Path, text: str | bytes) -> None:
    """Replace `path` with `text` atomically, mode 0600 (temp file, fsync, rename)."""
    data = _encoded(text)  # before the temp file exists
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # whatever the umask says
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_file(path: str | Path, text: str) -> Path:
    """`write_private` for a user-given path; failures become one TranscriptError line."""
    target = Path(os.path.expanduser(str(path)))
    if target.is_dir():
        raise TranscriptError(f"{path}: is a folder; give a file name")
    if not target.parent.is_dir():
        raise TranscriptError(f"{path}: folder {target.parent} does not exist")
    try:
        write_private(target, text)
    except OSError as exc:
        raise TranscriptError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except ValueError as exc:  # a NUL in the name, say
        raise TranscriptError(f"{path!r}: not a usable file name ({exc})") from None
    except TranscriptError as exc:
        raise TranscriptError(f"{path}: {exc}") from None
    return target


def read_transcript(path: str | Path) -> Transcript:
    """Read and parse a transcript file; every failure is one line naming the file."""
    name = str(path)
    target = Path(os.path.expanduser(name))
    try:
        data = target.read_bytes()
    except ValueError as exc:  # a NUL in the name
        raise TranscriptError(f"{name!r}: not a usable file name ({exc})") from None
    except FileNotFoundError:
        raise TranscriptError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise TranscriptError(f"{name}: is a folder, not a transcript file") from None
    except PermissionError:
        raise TranscriptError(f"{name}: permission denied (cannot read it)") from None
    except OSError as exc:
        raise TranscriptError(f"{name}: cannot read ({exc.strerror or exc})") from None
    return transcript.loads_bytes(data, name=name)


class Autosaver:
    """Keeps one session file in step with the conversation: append when it only grew."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None
        self._saved: list[Message] = []  # the messages the file holds
        self._settings: dict[str, Any] | None = None
        self._meta: tuple[Any, ...] | None = None  # name, parent, branches in the header
        self._dirty = False  # the file must be rewritten before the next append
        self.unchanged = 0  # after a save: how many leading messages the file had before

    def start_new(self) -> None:
        """The next save starts a new file (after /clear, /fork or loading another file)."""
        self.path, self._saved, self._settings, self._dirty = None, [], None, False
        self._meta = None

    def adopt(self, path: Path, loaded: Transcript) -> None:
        """Continue an existing session file holding `loaded`."""
        self.path = path
        self._saved = list(loaded.conversation.messages)
        self._settings = dict(loaded.settings)
        self._meta = _meta(loaded.conversation)
        self._dirty = loaded.torn_tail

    def save(self, conversation: Conversation, settings: Mapping[str, Any]) -> Path | None:
        """Bring the file up to date (an empty conversation too: its settings matter)."""
        messages = conversation.messages
        settings = dict(settings)
        saved = self._saved
        meta = _meta(conversation)
        # list equality tries identity first, in C: a few µs for 2,000 unchanged messages
        grew = len(messages) >= len(saved) and messages[: len(saved)] == saved
        # the header holds the settings, the name and the branches: a change there (an
        # /edit, a /branch switch) is a rewrite, even when the messages only grew
        same_head = settings == self._settings and meta == self._meta
        self.unchanged = len(saved) if grew else _common_prefix(saved, messages)
        if self.path is None:
            self.unchanged = 0
        if self.path is None or self._dirty or not same_head or not grew:
            self._rewrite(conversation, settings)
        elif len(messages) > len(saved):
            try:
                self._append(messages[len(saved) :])
            except FileNotFoundError:  # someone deleted the file: write it afresh
                self._rewrite(conversation, settings)
            except BaseException:
                # a signal or a full disk mid-write may have left part of a line: the
                # next save rewrites the whole file instead of appending after it
                self._dirty = True
                raise
        self._saved, self._settings, self._meta = list(messages), settings, meta
        return self.path

    def _rewrite(self, conversation: Conversation, settings: Mapping[str, Any]) -> None:
        private_dir(self.folder.parent)
        private_dir(self.folder)
        if self.path is None:
            # milliseconds in the name order files that share an mtime tick
            now = time.time()
            stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(now))
            millis = int(now * 1000) % 1000
            self.path = self.folder / f"{stamp}.{millis:03d}_{secrets.token_hex(2)}{SUFFIX}"
        head = transcript.header_line(settings, conversation)
        text = head + "".join(map(transcript.message_line, conversation.messages))
        self._dirty = True  # until the rename is done, the file may be the old one
        write_private(self.path, text)
        self._dirty = False

    def _append(self, messages: list[Message]) -> None:
        assert self.path is not None
        data = _encoded("".join(map(transcript.message_line, messages)))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            # one write: a kill can only cut the tail, never interleave lines
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def _meta(conversation: Conversation) -> tuple[Any, ...]:
    # Fork and Compaction values are immutable and kept by identity: comparing is cheap
    return (
        conversation.name,
        conversation.parent,
        conversation.kind,
        dict(conversation.forks),
        tuple(conversation.compactions),
    )


def _common_prefix(old: list[Message], new: list[Message]) -> int:
    same = 0
    for a, b in zip(old, new, strict=False):
        if a is not b and a != b:
            break
        same += 1
    return same


def _summary(path: Path, modified: float) -> SessionInfo:
    try:
        loaded = read_transcript(path)
    except TranscriptError as exc:
        return SessionInfo(path, modified, problem=str(exc).removeprefix(f"{path}: "))
    messages = loaded.conversation.messages
    models = [m.stats.model for m in messages if m.stats is not None and m.stats.model]
    if not models and loaded.settings.get("model"):
        models = [loaded.settings["model"]]
    first = next((m.content for m in messages if m.content.strip()), "")
    line = first.strip().split("\n", 1)[0]
    line = line if len(line) <= 60 else line[:59] + "…"
    return SessionInfo(
        path,
        modified,
        tuple(dict.fromkeys(models)),
        loaded.conversation.turns,
        line,
        name=loaded.conversation.name,
        parent=loaded.conversation.parent,
        kind=loaded.conversation.kind,
    )


def list_sessions(folder: Path, *, limit: int = 20, one_shots: bool = False) -> list[SessionInfo]:
    """The most recently changed sessions, newest first (one-shot runs only with
    `one_shots`: without, files are read until `limit` conversations are found)."""
    found: list[SessionInfo] = []
    for mtime, name in _by_mtime(folder):
        if len(found) >= limit:
            break
        info = _summary(folder / name, mtime)
        if one_shots or not info.one_shot:
            found.append(info)
    return found


def _by_mtime(folder: Path) -> list[tuple[float, str]]:
    """(mtime, name) of every session file, newest first. os.scandir, not Path.glob: with
    10,000 sessions this is the difference between 50 and 160 ms."""
    entries = []
    with contextlib.suppress(OSError), os.scandir(folder) as found:
        for entry in found:
            if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                with contextlib.suppress(OSError):
                    entries.append((entry.stat().st_mtime, entry.name))
    entries.sort(reverse=True)
    return entries


def latest_session(folder: Path) -> Path | None:
    """The session changed last, if any."""
    newest = _by_mtime(folder)
    return folder / newest[0][1] if newest else None


class FileSessionStore:
    """The SessionStore port over a folder of JSON Lines session files.

    With an `index` (adapters.search_index), each save is reported to it and /sessions
    and `-c` read it instead of every file; without one, the folder is scanned.
    """

    def __init__(self, folder: Path, *, index: Index | None = None) -> None:
        self._folder = folder
        self.saver = Autosaver(folder)
        self._listing: list[SessionInfo] = []
        self.index = index

    @property
    def folder(self) -> Path:
        """The sessions folder."""
        return self._folder

    @property
    def current(self) -> Path | None:
        """The file this conversation is saved to, once it has one."""
        return self.saver.path

    @property
    def last_listing(self) -> list[SessionInfo]:
        """What `/load N` numbers refer to."""
        return self._listing

    def sessions(self, *, limit: int, one_shots: bool = False) -> list[SessionInfo]:
        """List recent sessions (one-shot runs too with `one_shots`) and remember the
        numbering for /load N."""
        listing = None
        if self.index is not None:
            try:
                listing = self.index.sessions(limit=limit, one_shots=one_shots)
            except ChatReplError:
                listing = None  # an index that cannot be used: the folder has the answer
        if listing is None:
            listing = list_sessions(self._folder, limit=limit, one_shots=one_shots)
        self._listing = listing
        return listing

    def remember(self, listing: list[SessionInfo]) -> None:
        """What `/load N` numbers refer to from now on (a search's hits)."""
        self._listing = list(listing)

    def latest(self, *, one_shots: bool = False) -> Path | None:
        """The conversation changed last (or one-shot run, with `one_shots`), if any."""
        if self.index is not None:
            found = self.index.latest(one_shots=one_shots)
            if found is not False:
                return found if isinstance(found, Path) else None
        if one_shots:
            return latest_session(self._folder)
        listed = list_sessions(self._folder, limit=1)
        return listed[0].path if listed else None

    def open(self, path: str | Path) -> Transcript:
        """Read a transcript; one in the sessions folder goes on being saved to its file."""
        loaded = read_transcript(path)  # raises before anything is touched
        target = Path(os.path.expanduser(str(path)))
        if self._in_sessions(target):
            self.saver.adopt(target, loaded)
        else:
            self.saver.start_new()
        return loaded

    def _in_sessions(self, path: Path) -> bool:
        try:
            return path.resolve().parent == self._folder.resolve()
        except OSError:
            return False

    def save(self, conversation: Conversation, settings: Mapping[str, Any]) -> Path | None:
        """Bring the session file up to date; failures are one TranscriptError line."""
        if self.index is not None:
            self.index.before_save(self.saver.path)
        try:
            path = self.saver.save(conversation, settings)
        except OSError as exc:
            raise TranscriptError(f"{self._folder}: cannot save ({exc.strerror or exc})") from None
        except TranscriptError as exc:
            raise TranscriptError(f"{self._folder}: cannot save {exc}") from None
        if self.index is not None and path is not None:
            self.index.after_save(path, conversation, settings, unchanged=self.saver.unchanged)
        return path

    def open_latest(self, *, one_shots: bool = False) -> tuple[Path, Transcript, list[str]] | None:
        """The newest conversation that can be read (or one-shot run, with `one_shots`:
        `-c` in one-shot mode), and a line for each newer one that could not (a file cut
        short or damaged must not hide the conversations before it).

        The index names the newest without a look at every file; only when that one
        cannot be read is the folder scanned, newest first.
        """
        skipped: list[str] = []
        first = self.latest(one_shots=one_shots)
        if first is not None:
            try:
                return first, self._open_kind(first, one_shots), skipped
            except TranscriptError as exc:
                skipped.append(str(exc))
            except _OneShot:
                pass
        for _, name in _by_mtime(self._folder):
            path = self._folder / name
            if path == first:
                continue
            try:
                return path, self._open_kind(path, one_shots), skipped
            except TranscriptError as exc:
                skipped.append(str(exc))
            except _OneShot:
                continue
        if skipped:
            raise TranscriptError(f"no readable conversation to continue: {skipped[0]}")
        return None

    def _open_kind(self, path: Path, one_shots: bool) -> Transcript:
        """`open`, but a one-shot run's session is passed over unless `one_shots`."""
        loaded = self.open(path)
        if not one_shots and loaded.conversation.kind == transcript.ONE_SHOT:
            self.saver.start_new()  # it was adopted: let go of it again
            raise _OneShot
        return loaded

    def start_new(self) -> None:
        """After /clear the next save starts a new file."""
        self.saver.start_new()

    def write(self, path: str, text: str) -> Path:
        """A file the user named: private and atomic."""
        return write_file(path, text)

    def remove(self, path: Path) -> None:
        """Delete a session file of this folder (images stay: others may share them)."""
        if not self._in_sessions(path):
            raise TranscriptError(f"{path}: not in the sessions folder {self._folder}")
        try:
            path.unlink()
        except FileNotFoundError:
            raise TranscriptError(f"{path.name}: already gone") from None
        except OSError as exc:
            raise TranscriptError(f"{path}: cannot delete ({exc.strerror or exc})") from None
        if self.saver.path == path:
            self.saver.start_new()
        if self.index is not None:
            self.index.forget(path)

    def sweep(self, *, older_than: float = 3600.0) -> None:
        """Remove temp files a kill mid-rewrite left behind (an hour old: no writer left)."""
        with contextlib.suppress(OSError):
            for path in self._folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    if time.time() - path.stat().st_mtime > older_than:
                        path.unlink()
