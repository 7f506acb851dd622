"""An SQLite index of every saved session: full-text search, /sessions, /usage, `-c`.

The session files (JSON Lines) stay the source of truth: the index is a cache of them
in `data_dir()/index.sqlite3`, and deleting it loses nothing. It is kept in step as each
turn is saved (`before_save` / `after_save`, called by the store around its write), and
checked before every use:

- missing, unreadable, corrupt or of another schema: rebuilt from the files;
- the sessions folder's mtime differs from the one recorded at the last sync (a file was
  created, deleted or atomically replaced by something other than this index's own
  saves): every file's (mtime, size) is compared, and the changed ones re-read;
- a session marked dirty (a save began and the process died before the index heard how
  it ended, e.g. SIGKILL between the append and the index update): that file is re-read.

When nothing changed, the check is one `stat` of the folder and one small query, so
`/sessions` and `-c` do not touch the 10,000 files a long-time user has.

Messages get chronological row ids (milliseconds of their time * 1024, plus a few bits
to keep them unique), so FTS5 can hand back the newest matches first and stop at the
limit instead of sorting every match. SQLite without FTS5 still lists sessions and adds
up usage; only search says it is unavailable.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from chatrepl.adapters.paths import private_dir
from chatrepl.core import transcript as formats
from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import CommandError, TranscriptError
from chatrepl.core.messages import Message, Usage
from chatrepl.core.pricing import UsageRow
from chatrepl.core.search import MARK_END, MARK_START, Hit, SearchQuery, fts_query
from chatrepl.core.transcript import SessionInfo

SCHEMA = 2  # 2: sessions.kind (one-shot runs); an index of another schema is rebuilt
SUFFIX = ".jsonl"
_ID_SPACE = 1024  # row ids: milliseconds * 1024 + a tie-breaker
_SNIPPET_TOKENS = 14
SMALL_FOLDER = 500  # sessions: an index is started on the first save below this many

_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    file TEXT NOT NULL UNIQUE,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    name TEXT, parent TEXT, models TEXT, model TEXT, turns INTEGER, first_line TEXT,
    problem TEXT,
    kind TEXT,
    messages INTEGER NOT NULL DEFAULT 0,
    dirty INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_recent ON sessions (mtime_ns DESC, file DESC);
CREATE INDEX sessions_kind_recent ON sessions (kind, mtime_ns DESC, file DESC);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL,
    position INTEGER NOT NULL,
    turn INTEGER NOT NULL,
    role TEXT NOT NULL,
    model TEXT,
    at REAL
);
CREATE INDEX messages_session ON messages (session, position);
CREATE TABLE usage (
    session INTEGER NOT NULL,
    position INTEGER NOT NULL,
    at REAL, model TEXT, prompt INTEGER, completion INTEGER, cached INTEGER
);
CREATE INDEX usage_at ON usage (at);
CREATE INDEX usage_session ON usage (session, position);
"""
_FTS = "CREATE VIRTUAL TABLE texts USING fts5(content, tokenize='unicode61 remove_diacritics 2')"


def fts5_available() -> bool:
    """Whether this Python's sqlite3 was built with FTS5."""
    try:
        db = sqlite3.connect(":memory:")
        try:
            db.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return True


# --- what a session file holds, as rows -----------------------------------------------


def _clean(text: str) -> str:
    # the snippet marks must only ever be the index's own
    return text.replace(MARK_START, "").replace(MARK_END, "")


def _message_rows(
    messages: Sequence[Message], start: int, *, turn: int, model: str | None, fallback: float
) -> list[tuple[int, int, str, str | None, float, str]]:
    """(position, turn, role, model, at, content) for messages[start:]; `turn` user
    messages come before them.

    A user message has no time or model of its own: it takes those of the reply that
    answered it (sent the moment the user pressed Enter), else the session's.
    """
    rows: list[tuple[int, int, str, str | None, float, str]] = []
    next_at: float | None = None
    next_model: str | None = None
    later: list[tuple[float | None, str | None]] = [(None, None)] * (len(messages) - start)
    for index in range(len(messages) - 1, start - 1, -1):
        stats = messages[index].stats
        if stats is not None:
            next_at = stats.started_at if stats.started_at is not None else next_at
            next_model = stats.model or next_model
        later[index - start] = (next_at, next_model)
    last_at = fallback
    for index in range(start, len(messages)):
        message = messages[index]
        turn += message.role == "user"
        at, by = later[index - start]
        at = at if at is not None else last_at
        last_at = at
        rows.append((index, max(turn, 1), message.role, by or model, at, _clean(message.content)))
    return rows


def _turns(messages: Sequence[Message]) -> int:
    return sum(1 for m in messages if m.role == "user")


def _models(messages: Sequence[Message]) -> list[str]:
    """The models that answered, in order (a listing falls back to the session's model)."""
    return list(dict.fromkeys(m.stats.model for m in messages if m.stats and m.stats.model))


def _first_line(messages: Sequence[Message]) -> str:
    first = next((m.content for m in messages if m.content.strip()), "")
    line = first.strip().split("\n", 1)[0]
    return line if len(line) <= 60 else line[:59] + "…"


class SessionIndex:
    """The index (the SessionIndex port, and what FileSessionStore lists sessions with)."""

    def __init__(self, path: Path, folder: Path, *, fts: bool | None = None) -> None:
        self.path = path
        self.folder = folder
        self._fts_wanted = fts  # None: use FTS5 when this sqlite3 has it (tests say False)
        self._db: sqlite3.Connection | None = None
        self._fts = False
        self._lock = threading.RLock()
        self._fresh_before_save = False
        self.announce: Callable[[str], None] | None = None  # a long rebuild is announced

    # --- connection, schema, rebuild ---------------------------------------------------

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None

    def _remove_files(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    def _connect(self) -> sqlite3.Connection:
        private_dir(self.path.parent)
        db = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False)
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)
        db.execute("PRAGMA journal_mode=WAL")
        # a lost last transaction after a power cut is re-read from the files; a
        # corrupt database is rebuilt: it is a cache, so no fsync per turn
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _open(self, *, build: bool = True) -> sqlite3.Connection | None:
        """The connection, the schema checked; rebuilt when missing, corrupt or old."""
        if self._db is not None:
            return self._db
        exists = self.path.exists()
        if not exists and not build:
            return None
        try:
            db = self._connect()
            version = None
            if exists:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                version = row[0] if row else None
            if version == str(SCHEMA):
                self._fts = bool(
                    db.execute("SELECT 1 FROM sqlite_master WHERE name = 'texts'").fetchone()
                )
                self._db = db
                return db
            db.close()
        except sqlite3.DatabaseError:
            pass  # not a database, malformed, or from another version: start over
        if not build:
            return None
        self._remove_files()
        return self._create()

    def _create(self) -> sqlite3.Connection:
        db = self._connect()
        db.executescript(_TABLES)
        use_fts = self._fts_wanted if self._fts_wanted is not None else True
        self._fts = False
        if use_fts:
            try:
                db.execute(_FTS)
                self._fts = True
            except sqlite3.OperationalError:  # "no such module: fts5"
                self._fts = False
        db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
        db.execute("INSERT INTO meta VALUES ('folder_mtime', '')")
        db.commit()
        self._db = db
        return db

    def _recover(self) -> sqlite3.Connection:
        """After a DatabaseError mid-use: throw the index away and build it again."""
        self._remove_files()
        db = self._create()
        self._sync(db)
        return db

    def _run(self, work: Callable[[sqlite3.Connection], Any], *, build: bool = True) -> Any:
        """Run `work` on a fresh index; a corrupt one is rebuilt and `work` run again."""
        with self._lock:
            try:
                db = self._open(build=build)
            except (sqlite3.Error, OSError) as exc:
                raise CommandError(
                    f"the session index {self.path} cannot be used ({exc})"
                ) from None
            if db is None:
                return None
            try:
                self._sync(db)
                return work(db)
            except sqlite3.DatabaseError as exc:
                with contextlib.suppress(sqlite3.Error):
                    db.rollback()
                if _busy(exc):
                    raise CommandError(
                        "the session index is busy (another chatrepl is writing it); try again"
                    ) from None
                return work(self._recover())

    # --- keeping in step with the files ----------------------------------------------

    def _folder_mtime(self) -> int | None:
        try:
            return os.stat(self.folder).st_mtime_ns
        except OSError:
            return None

    def _recorded_mtime(self, db: sqlite3.Connection) -> str:
        row = db.execute("SELECT value FROM meta WHERE key = 'folder_mtime'").fetchone()
        return str(row[0]) if row else ""

    def _sync(self, db: sqlite3.Connection) -> None:
        """Bring the index in step with the sessions folder (cheap when nothing changed)."""
        mtime = self._folder_mtime()
        recorded = self._recorded_mtime(db)
        dirty = [r[0] for r in db.execute("SELECT file FROM sessions WHERE dirty = 1")]
        if str(mtime) == recorded and not dirty:
            return
        if str(mtime) != recorded:
            self._scan(db)
        else:
            for name in dirty:
                self._refresh(db, name)
        db.execute("UPDATE meta SET value = ? WHERE key = 'folder_mtime'", (str(mtime),))
        db.commit()

    def _scan(self, db: sqlite3.Connection) -> None:
        """Compare every file with its row; re-read the changed ones, drop the gone."""
        on_disk: dict[str, tuple[int, int]] = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder):
                if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                    with contextlib.suppress(OSError):
                        st = entry.stat()
                        on_disk[entry.name] = (st.st_mtime_ns, st.st_size)
        known = {
            row[0]: (row[1], row[2], row[3])
            for row in db.execute("SELECT file, mtime_ns, size, dirty FROM sessions")
        }
        for name in known.keys() - on_disk.keys():
            self._forget(db, name)
        changed = [
            name
            for name, stamp in on_disk.items()
            if name not in known or known[name][:2] != stamp or known[name][2]
        ]
        if len(changed) > 200 and self.announce is not None:
            self.announce(f"indexing {len(changed):,} saved sessions for search (once)…")
        # oldest first: the rows of a big rebuild go in roughly the order they were made
        for name in sorted(changed, key=lambda n: on_disk[n][0]):
            self._refresh(db, name)

    def _forget(self, db: sqlite3.Connection, name: str) -> None:
        row = db.execute("SELECT id FROM sessions WHERE file = ?", (name,)).fetchone()
        if row is None:
            return
        self._drop_messages(db, row[0], 0)
        db.execute("DELETE FROM usage WHERE session = ?", (row[0],))
        db.execute("DELETE FROM sessions WHERE id = ?", (row[0],))

    def _drop_messages(self, db: sqlite3.Connection, session: int, start: int) -> None:
        ids = [
            (r[0],)
            for r in db.execute(
                "SELECT id FROM messages WHERE session = ? AND position >= ?", (session, start)
            )
        ]
        if ids:
            if self._fts:
                db.executemany("DELETE FROM texts WHERE rowid = ?", ids)
            db.executemany("DELETE FROM messages WHERE id = ?", ids)

    def _refresh(self, db: sqlite3.Connection, name: str) -> None:
        """Re-read one session file into the index."""
        path = self.folder / name
        try:
            st = os.stat(path)
        except OSError:
            self._forget(db, name)
            return
        try:
            data = path.read_bytes()
            loaded = formats.loads_bytes(data, name=name)
        except (OSError, TranscriptError) as exc:
            problem = str(exc).removeprefix(f"{name}: ")
            self._forget(db, name)
            db.execute(
                "INSERT INTO sessions (file, mtime_ns, size, problem) VALUES (?, ?, ?, ?)",
                (name, st.st_mtime_ns, st.st_size, problem),
            )
            return
        self._store(db, name, loaded.conversation, loaded.settings, 0, st)

    def _store(
        self,
        db: sqlite3.Connection,
        name: str,
        conversation: Conversation,
        settings: Mapping[str, Any],
        unchanged: int,
        st: os.stat_result,
    ) -> None:
        """Write a session's rows; messages[:unchanged] are already in the index.

        After an append only the new messages are read, so a turn of a 2,000-message
        conversation costs what the turn added.
        """
        messages = conversation.messages
        model = settings.get("model")
        row = db.execute(
            "SELECT id, messages, models, turns FROM sessions WHERE file = ?", (name,)
        ).fetchone()
        models: list[str] = []
        turns_before = 0
        if row is not None:
            unchanged = min(unchanged, row[1], len(messages))
            if unchanged and messages[unchanged - 1].role == "user":
                # a message that was waiting for its reply takes the reply's time now
                unchanged -= 1
            if unchanged:
                models = json.loads(row[2] or "[]")
                last = db.execute(
                    "SELECT turn FROM messages WHERE session = ? AND position = ?",
                    (row[0], unchanged - 1),
                ).fetchone()
                turns_before = last[0] if last else _turns(messages[:unchanged])
        else:
            unchanged = 0
        new = messages[unchanged:]
        models = list(dict.fromkeys([*models, *_models(new)]))
        values = (
            st.st_mtime_ns,
            st.st_size,
            conversation.name,
            conversation.parent,
            json.dumps(models),
            model,
            turns_before + _turns(new),
            _first_line(messages),
            conversation.kind,
            len(messages),
        )
        if row is None:
            session = db.execute(
                "INSERT INTO sessions (file, mtime_ns, size, name, parent, models, model, turns, "
                "first_line, kind, messages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, *values),
            ).lastrowid
        else:
            session = row[0]
            db.execute(
                "UPDATE sessions SET mtime_ns = ?, size = ?, name = ?, parent = ?, models = ?, "
                "model = ?, turns = ?, first_line = ?, kind = ?, messages = ?, problem = NULL, "
                "dirty = 0 "
                "WHERE id = ?",
                (*values, session),
            )
        assert session is not None
        self._drop_messages(db, session, unchanged)
        rows = _message_rows(
            messages, unchanged, turn=turns_before, model=model, fallback=st.st_mtime_ns / 1e9
        )
        for position, turn, role, by, at, content in rows:
            rowid = int(at * 1000) * _ID_SPACE + position % _ID_SPACE
            while True:
                try:
                    db.execute(
                        "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (rowid, session, position, turn, role, by, at),
                    )
                    break
                except sqlite3.IntegrityError:
                    rowid += 1  # two messages in the same millisecond: the next id is free
            if self._fts:
                db.execute("INSERT INTO texts (rowid, content) VALUES (?, ?)", (rowid, content))
        # the replies from `unchanged` on, and those of branches and summaries (-1): few
        db.execute(
            "DELETE FROM usage WHERE session = ? AND (position >= ? OR position = -1)",
            (session, unchanged),
        )
        db.executemany(
            "INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    session,
                    position,
                    stats.started_at,
                    stats.model or model,
                    stats.usage.prompt_tokens if stats.usage else None,
                    stats.usage.completion_tokens if stats.usage else None,
                    stats.usage.cached_tokens if stats.usage else None,
                )
                for position, stats in conversation.billed(unchanged)
            ],
        )

    # --- the store's hooks -----------------------------------------------------------

    def before_save(self, path: Path | None) -> None:
        """A save of `path` (None: a new file) is about to begin: mark it, so a process
        that dies before `after_save` leaves the index knowing the file may differ."""
        with self._lock:
            try:
                db = self._open(build=False)
                if db is None:
                    return
                self._fresh_before_save = self._recorded_mtime(db) == str(self._folder_mtime())
                if path is not None:
                    db.execute("UPDATE sessions SET dirty = 1 WHERE file = ?", (path.name,))
                    db.commit()
            except sqlite3.Error:
                self._fresh_before_save = False

    def after_save(
        self, path: Path, conversation: Conversation, settings: Mapping[str, Any], *, unchanged: int
    ) -> None:
        """The file now holds `conversation`; messages[:unchanged] were there before."""
        with self._lock:
            try:
                db = self._open(build=False)
                if db is None and self._small_folder():
                    db = self._create()  # a new user: start the index while it is cheap
                    self._sync(db)
                    return
                if db is None:
                    return  # no index yet: the first /sessions or /search builds it
                st = os.stat(path)
                self._store(db, path.name, conversation, settings, unchanged, st)
                if self._fresh_before_save:
                    # our own rename changed the folder's mtime; anything else would have
                    # been noticed before (the index was fresh when this save began)
                    db.execute(
                        "UPDATE meta SET value = ? WHERE key = 'folder_mtime'",
                        (str(self._folder_mtime()),),
                    )
                db.commit()
            except (sqlite3.Error, OSError):
                # the index is a cache: a failure here is found and repaired on next use
                with contextlib.suppress(sqlite3.Error):
                    if self._db is not None:
                        self._db.rollback()

    def _small_folder(self) -> bool:
        try:
            return len(os.listdir(self.folder)) <= SMALL_FOLDER
        except OSError:
            return False

    def forget(self, path: Path) -> None:
        """A session file was deleted."""
        with self._lock:
            try:
                db = self._open(build=False)
                if db is not None:
                    self._forget(db, path.name)
                    db.commit()
            except sqlite3.Error:
                pass

    # --- queries -----------------------------------------------------------------------

    def sessions(self, *, limit: int, one_shots: bool = False) -> list[SessionInfo]:
        """The most recently changed sessions, newest first (one-shot runs only with
        `one_shots`)."""
        where = "" if one_shots else "WHERE kind IS NULL "

        def work(db: sqlite3.Connection) -> list[SessionInfo]:
            rows = db.execute(
                "SELECT file, mtime_ns, models, model, turns, first_line, problem, name, "
                f"parent, kind FROM sessions {where}ORDER BY mtime_ns DESC, file DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [self._info(row) for row in rows]

        result: list[SessionInfo] = self._run(work)
        return result

    def _info(self, row: Sequence[Any], turn: int | None = None) -> SessionInfo:
        file, mtime_ns, models, model, turns, first_line, problem, name, parent, kind = row
        answered = tuple(json.loads(models)) if models else ()
        return SessionInfo(
            self.folder / file,
            # as os.stat computes st_mtime, so a listing equals the folder scan's
            mtime_ns // 10**9 + (mtime_ns % 10**9) * 1e-9,
            answered or ((model,) if model else ()),
            turns or 0,
            first_line or "",
            problem,
            name,
            parent,
            turn,
            kind,
        )

    def latest(self, *, one_shots: bool = False) -> Path | bool | None:
        """The session changed last (a one-shot run's only with `one_shots`); False when
        there is no index to ask (yet)."""
        where = "" if one_shots else "WHERE kind IS NULL "

        def work(db: sqlite3.Connection) -> Path | None:
            row = db.execute(
                f"SELECT file FROM sessions {where}ORDER BY mtime_ns DESC, file DESC LIMIT 1"
            ).fetchone()
            return self.folder / row[0] if row else None

        with self._lock:
            try:
                if self._open(build=False) is None:
                    return False  # missing or unreadable: the caller scans the folder
                found: Path | None = self._run(work, build=False)
            except (CommandError, sqlite3.Error, OSError):
                return False
            return found

    def search(self, query: SearchQuery) -> list[Hit]:
        """Messages matching the query, newest first."""
        match = fts_query(query.text)

        def work(db: sqlite3.Connection) -> list[Hit]:
            if not self._fts:
                raise CommandError(
                    f"search needs SQLite's FTS5, which this Python's sqlite3 "
                    f"(SQLite {sqlite3.sqlite_version}) was built without"
                )
            sql = (
                "SELECT m.session, m.position, m.turn, m.role, m.model, m.at, "
                f"snippet(texts, 0, char(2), char(3), '…', {_SNIPPET_TOKENS}), texts.content "
                "FROM texts JOIN messages m ON m.id = texts.rowid WHERE texts MATCH ?"
            )
            args: list[Any] = [match]
            if query.since is not None:
                sql += " AND texts.rowid >= ?"
                args.append(int(query.since * 1000) * _ID_SPACE)
            if query.role is not None:
                sql += " AND m.role = ?"
                args.append(query.role)
            if query.model is not None:
                sql += " AND m.model GLOB ?"
                args.append(query.model)
            sql += " ORDER BY texts.rowid DESC LIMIT ?"
            args.append(query.limit)
            try:
                rows = db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                if "fts5" in str(exc).lower() or "syntax" in str(exc).lower():
                    raise CommandError(f"cannot search for {query.text!r}: {exc}") from None
                raise
            if not rows:
                return []
            sessions = {
                r[0]: r[1:]
                for r in db.execute(
                    "SELECT id, file, mtime_ns, models, model, turns, first_line, problem, "
                    f"name, parent, kind FROM sessions WHERE id IN ({','.join('?' * len(rows))})",
                    [row[0] for row in rows],
                )
            }
            hits = []
            for session, position, turn, role, model, at, snippet, content in rows:
                if session not in sessions:
                    continue
                info = self._info(sessions[session], turn)
                hits.append(Hit(info, turn, position, role, model, at, snippet, content))
            return hits

        result: list[Hit] = self._run(work)
        return result

    def usage(self, *, since: float | None) -> list[UsageRow]:
        """Replies since `since`, added up per day and model (local dates)."""

        def work(db: sqlite3.Connection) -> list[UsageRow]:
            sql = (
                "SELECT min(at), model, count(*), sum(prompt), sum(completion), sum(cached), "
                "count(prompt) + count(completion) > 0 FROM usage"
            )
            args: list[Any] = []
            if since is not None:
                sql += " WHERE at >= ?"
                args.append(since)
            sql += (
                " GROUP BY date(at, 'unixepoch', 'localtime'), model, "
                "prompt IS NULL AND completion IS NULL"
            )
            out = []
            for at, model, replies, prompt, completion, cached, counted in db.execute(sql, args):
                usage = Usage(prompt, completion, cached_tokens=cached) if counted else None
                out.append(UsageRow(at, model or "(server default)", usage, replies))
            return out

        result: list[UsageRow] = self._run(work)
        return result

    def rebuild(self) -> int:
        """Throw the index away and read every session file again; how many sessions."""
        with self._lock:
            self._remove_files()
            db = self._create()
            self._sync(db)
            count: int = db.execute("SELECT count(*) FROM sessions").fetchone()[0]
            return count


def _busy(exc: sqlite3.DatabaseError) -> bool:
    """A lock held by another process: a reason to wait, not to rebuild."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)
