"""Test doubles for the engine's two ports: a scripted Backend and a recording View.

The backend plays back scripts, one per request, in the order they were queued, and
records every payload it was sent and whether each stream was closed. A `Tick` inside
a script advances the shared `FakeClock`, so ttft and duration are exact numbers.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatrepl.core import attachments as rules
from chatrepl.core.attachments import Attached, Limits, Staged
from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import AttachmentError, EditorError, TranscriptError
from chatrepl.core.messages import (
    Attachment,
    Finish,
    Message,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    TurnStats,
    Usage,
    UsageReport,
)
from chatrepl.core.ports import CopyReport
from chatrepl.core.transcript import SessionInfo, Transcript


@dataclass(frozen=True)
class Tick:
    """A script step: time passes on the fake clock before the next event."""

    seconds: float


ScriptItem = StreamEvent | Tick


class FakeClock:
    """A clock that only moves when told to (callable like time.monotonic)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def reply(text: str, *, finish: str = "stop", usage: Usage | None = None) -> list[ScriptItem]:
    """The script of a normal, complete reply."""
    script: list[ScriptItem] = [TextDelta(text), Finish(finish)]
    if usage is not None:
        script.append(UsageReport(usage))
    return script


class ScriptedStream:
    """One reply being streamed: an iterator with `close()`, like a generator."""

    def __init__(
        self, items: Iterable[ScriptItem], clock: FakeClock, error: BaseException | None
    ) -> None:
        self._items = deque(items)
        self._clock = clock
        self._error = error
        self.closed = False
        self.yielded: list[StreamEvent] = []

    def __iter__(self) -> ScriptedStream:
        return self

    def __next__(self) -> StreamEvent:
        if self.closed:
            raise StopIteration
        while self._items:
            item = self._items.popleft()
            if isinstance(item, Tick):
                self._clock.advance(item.seconds)
                continue
            self.yielded.append(item)
            return item
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopIteration

    def close(self) -> None:
        self.closed = True


@dataclass
class _Script:
    items: list[ScriptItem]
    error: BaseException | None = None
    eager: bool = False  # raise from stream() itself, before any iteration


class FakeBackend:
    """A Backend that plays back queued scripts; a request with nothing queued fails the test."""

    def __init__(self, *, clock: FakeClock | None = None, models: Sequence[str] = ()) -> None:
        self.clock = clock if clock is not None else FakeClock()
        self.models = list(models)
        self.payloads: list[dict[str, Any]] = []
        self.streams: list[ScriptedStream] = []
        self._scripts: deque[_Script] = deque()

    # --- scripting ------------------------------------------------------------

    def enqueue(self, items: Iterable[ScriptItem]) -> FakeBackend:
        """The next request streams these events, then ends normally."""
        self._scripts.append(_Script(list(items)))
        return self

    def fail(self, exc: BaseException, *, eager: bool = False) -> FakeBackend:
        """The next request fails with `exc` before any event (from stream() if eager)."""
        self._scripts.append(_Script([], exc, eager))
        return self

    def fail_after(self, items: Iterable[ScriptItem], exc: BaseException) -> FakeBackend:
        """The next request streams these events, then raises `exc` mid-stream."""
        self._scripts.append(_Script(list(items), exc))
        return self

    def interrupt_after(self, items: Iterable[ScriptItem]) -> FakeBackend:
        """The next request streams these events, then the user presses Ctrl-C."""
        self._scripts.append(_Script(list(items), KeyboardInterrupt()))
        return self

    @property
    def pending(self) -> int:
        """Scripts queued but not yet requested."""
        return len(self._scripts)

    # --- the Backend port -----------------------------------------------------

    def stream(self, payload: dict[str, Any]) -> ScriptedStream:
        self.payloads.append(copy.deepcopy(payload))
        if not self._scripts:
            raise AssertionError(f"unexpected request #{len(self.payloads)}: {payload!r}")
        script = self._scripts.popleft()
        if script.eager and script.error is not None:
            raise script.error
        stream = ScriptedStream(script.items, self.clock, script.error)
        self.streams.append(stream)
        return stream

    def list_models(self) -> list[str]:
        return list(self.models)


class RecordingView:
    """A View that records every call, in order, as a tuple."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    # --- the View port --------------------------------------------------------

    def info(self, text: str) -> None:
        self.calls.append(("info", text))

    def error(self, text: str) -> None:
        self.calls.append(("error", text))

    def notice(self, text: str) -> None:
        self.calls.append(("notice", text))

    def table(self, rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
        self.calls.append(("table", title, [tuple(row) for row in rows]))

    def begin_reply(self) -> None:
        self.calls.append(("begin_reply",))

    def show(self, event: TextDelta | ReasoningDelta) -> None:
        self.calls.append(("show", event))

    def end_reply(self, stats: TurnStats | None) -> None:
        self.calls.append(("end_reply", stats))

    def begin_compare(self, comparison: Any) -> None:
        self.calls.append(("begin_compare", comparison))

    def compare_show(self, index: int, event: TextDelta | ReasoningDelta) -> None:
        self.calls.append(("compare_show", index, event))

    def compare_done(self, index: int, result: Any) -> None:
        self.calls.append(("compare_done", index, result))

    def end_compare(self, comparison: Any) -> None:
        self.calls.append(("end_compare", comparison))

    def reveal(self, comparison: Any) -> None:
        self.calls.append(("reveal", comparison))

    # --- what tests look at ---------------------------------------------------

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] == kind]

    @property
    def infos(self) -> list[str]:
        return [call[1] for call in self.of("info")]

    @property
    def notices(self) -> list[str]:
        return [call[1] for call in self.of("notice")]

    @property
    def errors(self) -> list[str]:
        return [call[1] for call in self.of("error")]

    @property
    def tables(self) -> list[tuple[str | None, list[tuple[str, ...]]]]:
        return [(call[1], call[2]) for call in self.of("table")]

    @property
    def shown(self) -> list[TextDelta | ReasoningDelta]:
        return [call[1] for call in self.of("show")]

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.shown if isinstance(e, TextDelta))

    @property
    def reasoning(self) -> str:
        return "".join(e.text for e in self.shown if isinstance(e, ReasoningDelta))

    @property
    def ended(self) -> list[TurnStats | None]:
        return [call[1] for call in self.of("end_reply")]

    def kinds(self) -> list[str]:
        return [call[0] for call in self.calls]

    def reset(self) -> None:
        self.calls.clear()


class MemoryStore:
    """A SessionStore that keeps every save in memory (what the file would hold)."""

    def __init__(self) -> None:
        self.saves: list[tuple[list[Message], dict[str, Any]]] = []
        self.files: dict[str, str] = {}
        self.transcripts: dict[str, Transcript] = {}
        self.new_sessions = 0
        self.removed: list[Path] = []
        self.conversations: list[Conversation] = []  # what each save was handed
        self._file_of_last_save = -1
        self._listing: list[SessionInfo] = []

    @property
    def folder(self) -> Path:
        return Path("/memory/sessions")

    @property
    def current(self) -> Path | None:
        # each start_new (a /clear, a /fork) begins another file once something is saved
        if not self.saves or self._file_of_last_save != self.new_sessions:
            return None
        suffix = f"-{self.new_sessions}" if self.new_sessions else ""
        return Path(f"/memory/sessions/current{suffix}.jsonl")

    @property
    def last_listing(self) -> list[SessionInfo]:
        return self._listing

    @property
    def saved(self) -> list[Message]:
        """The messages the last save held."""
        return self.saves[-1][0] if self.saves else []

    def save(self, conversation: Conversation, settings: Mapping[str, Any]) -> Path | None:
        self.saves.append((list(conversation.messages), dict(settings)))
        self.conversations.append(conversation)
        self._file_of_last_save = self.new_sessions
        return self.current

    def start_new(self) -> None:
        self.new_sessions += 1

    def open(self, path: str | Path) -> Transcript:
        if str(path) not in self.transcripts:
            raise TranscriptError(f"{path}: no such file")
        return self.transcripts[str(path)]

    def latest(self, *, one_shots: bool = False) -> Path | None:
        return None

    def sessions(self, *, limit: int, one_shots: bool = False) -> list[SessionInfo]:
        self._listing = []
        return self._listing

    def remember(self, listing: list[SessionInfo]) -> None:
        self._listing = list(listing)

    def write(self, path: str, text: str) -> Path:
        self.files[path] = text
        return Path(path)

    def remove(self, path: Path) -> None:
        self.removed.append(path)


class MemoryFiles:
    """A Files port over a dict of path -> bytes, judged by the same rules as the disk's."""

    def __init__(self, files: Mapping[str, bytes] | None = None) -> None:
        self.files = dict(files or {})
        self.kept: dict[str, bytes] = {}

    def exists(self, path: str) -> bool:
        return path in self.files

    def read(
        self, paths: Sequence[str], *, limits: Limits, staged: Sequence[Staged] = ()
    ) -> Attached:
        adding: list[Staged] = []
        for path in paths:
            if path not in self.files:
                raise AttachmentError(f"{path}: no such file")
            data = self.files[path]
            problem = rules.check_budget(len(data), staged=staged, adding=adding, limits=limits)
            if problem:
                raise AttachmentError(f"{path}: {problem}; nothing was attached")
            kind = rules.sniff(data)
            if kind is None:
                raise AttachmentError(f"{path}: binary")
            sha = rules.digest(data)
            if kind == "text":
                media = rules.text_media_type(path)
                adding.append(Staged(Attachment(path, len(data), sha, media), data.decode()))
            else:
                adding.append(Staged(Attachment(path, len(data), sha, kind, data=data)))
        return Attached(tuple(adding))

    def keep(self, attachment: Attachment) -> None:
        assert attachment.data is not None
        self.kept[attachment.sha256] = attachment.data

    def load(self, attachment: Attachment) -> bytes:
        if attachment.sha256 not in self.kept:
            raise AttachmentError(f"image {attachment.path} is gone")
        return self.kept[attachment.sha256]


class FakeClipboard:
    """Records what was copied; reports the ways it pretends to have used."""

    def __init__(self, used: tuple[str, ...] = ("OSC 52",), problems: tuple[str, ...] = ()):
        self.copied: list[str] = []
        self.report = CopyReport(used, problems)

    def copy(self, text: str) -> CopyReport:
        self.copied.append(text)
        return self.report


class FakeEditor:
    """Edits text with a function (or fails, like a missing $EDITOR)."""

    def __init__(self, change: Any = None) -> None:
        self.seen: list[str] = []
        self.change = change

    def edit(self, text: str) -> str:
        self.seen.append(text)
        if self.change is None:
            raise EditorError("no editor: set $VISUAL or $EDITOR")
        return str(self.change(text))
