"""The ports the core talks through. Adapters implement them; tests fake them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from chatrepl.core.comparison import Comparison
from chatrepl.core.conversation import Conversation
from chatrepl.core.messages import Attachment, ReasoningDelta, StreamEvent, TextDelta, TurnStats
from chatrepl.core.reply import CompareResult
from chatrepl.core.settings import Settings
from chatrepl.core.transcript import SessionInfo, Transcript

if TYPE_CHECKING:  # annotations only: kept off the path to the first prompt
    from chatrepl.core.attachments import Attached, Limits, Staged
    from chatrepl.core.pricing import UsageRow
    from chatrepl.core.search import Hit, SearchQuery
    from chatrepl.core.votes import Vote


class Backend(Protocol):
    """Something that answers chat-completions requests."""

    def stream(self, payload: dict[str, Any]) -> Iterator[StreamEvent]:
        """Send one request; yield its events. Closing the iterator aborts the request."""
        ...

    def list_models(self) -> list[str]:
        """Model ids the endpoint offers."""
        ...


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Another endpoint a comparison asks (a profile's): its own pooled backend and the
    profile's settings (url, dialect, model; never shown with its key)."""

    backend: Backend
    settings: Settings


# a profile's name -> its endpoint, built (a local server started) on first use; the
# app wires it, so the core never builds an adapter. Raises ChatReplError (one line).
Endpoints = Callable[[str], Endpoint]


class View(Protocol):
    """Where the engine's output goes."""

    def info(self, text: str) -> None:
        """A plain line for the user."""
        ...

    def error(self, text: str) -> None:
        """A one-line failure."""
        ...

    def notice(self, text: str) -> None:
        """A dim line about what is happening (a retry wait), not part of any reply."""
        ...

    def table(self, rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
        """A small table (help, settings, models, sessions)."""
        ...

    def begin_reply(self) -> None:
        """A reply is about to stream."""
        ...

    def show(self, event: TextDelta | ReasoningDelta) -> None:
        """Display one piece of the reply as it arrives."""
        ...

    def end_reply(self, stats: TurnStats | None) -> None:
        """The reply ended (stats is None when it failed before producing anything)."""
        ...

    def begin_compare(self, comparison: Comparison) -> None:
        """A comparison is about to stream: one column per target, in display order."""
        ...

    def compare_show(self, index: int, event: TextDelta | ReasoningDelta) -> None:
        """A piece of target `index`'s reply (called from that target's thread)."""
        ...

    def compare_done(self, index: int, result: CompareResult) -> None:
        """Target `index`'s reply ended: its column ends with its stats or its error
        (called from that target's thread)."""
        ...

    def end_compare(self, comparison: Comparison) -> None:
        """Every reply has ended (or Ctrl-C stopped them): the metrics table."""
        ...

    def reveal(self, comparison: Comparison) -> None:
        """A blind comparison was revealed: which letter was which model, with stats."""
        ...


class SessionStore(Protocol):
    """Where conversations are kept: the autosaved session files, and files the user names.

    Every method raises TranscriptError (one line naming the file) for a file it cannot
    read or write; nothing is changed then.
    """

    @property
    def folder(self) -> Path:
        """The sessions folder (named in messages)."""
        ...

    @property
    def current(self) -> Path | None:
        """The session file this conversation is saved to, once it has one."""
        ...

    def save(self, conversation: Conversation, settings: Mapping[str, Any]) -> Path | None:
        """Bring the current session file up to date; None while there is nothing to save."""
        ...

    def start_new(self) -> None:
        """The next save starts a new session file."""
        ...

    def open(self, path: str | Path) -> Transcript:
        """Read a transcript; a file in the sessions folder becomes the current session."""
        ...

    def latest(self, *, one_shots: bool = False) -> Path | None:
        """The conversation saved last (a one-shot run's too with `one_shots`), if any."""
        ...

    def sessions(self, *, limit: int, one_shots: bool = False) -> list[SessionInfo]:
        """The most recent sessions, newest first (one-shot runs only with `one_shots`);
        remembered as `last_listing`."""
        ...

    @property
    def last_listing(self) -> list[SessionInfo]:
        """What the last `sessions()` returned: what `/load N` numbers refer to."""
        ...

    def remember(self, listing: list[SessionInfo]) -> None:
        """Make `listing` (a search's hits) what `/load N` numbers refer to."""
        ...

    def write(self, path: str, text: str) -> Path:
        """Write a file the user named (private, atomic)."""
        ...

    def remove(self, path: Path) -> None:
        """Delete a saved session (`/sessions rm N`)."""
        ...


class VoteStore(Protocol):
    """Where votes are kept (the votes file in adapters.votes_store): appended, never changed."""

    @property
    def path(self) -> Path:
        """The file, named in messages."""
        ...

    def append(self, vote: Vote) -> None:
        """Record one vote durably; TranscriptError (one line) when it cannot."""
        ...

    def read(self) -> tuple[list[Vote], str | None]:
        """Every vote, oldest first, and one warning line if some lines were skipped."""
        ...


@runtime_checkable
class WindowProbe(Protocol):
    """A backend that can ask its server how big a model's context window is."""

    def context_window(self, model: str | None) -> int | None:
        """The window in tokens, if the server says (llama.cpp's /props, /v1/models)."""
        ...


class SearchIndex(Protocol):
    """Every saved session, searchable (the SQLite index in adapters.search_index)."""

    def search(self, query: SearchQuery) -> list[Hit]:
        """Messages matching `query`, newest first; CommandError when search is unavailable."""
        ...

    def usage(self, *, since: float | None) -> list[UsageRow]:
        """The replies of every saved session since `since`, summed per day and model."""
        ...


class Files(Protocol):
    """The files a user attaches, and the folder images are kept in (by sha256)."""

    def read(
        self, paths: Sequence[str], *, limits: Limits, staged: Sequence[Staged] = ()
    ) -> Attached:
        """Read files (a folder: its text files) to attach; AttachmentError (one line,
        nothing read) for a missing, unreadable, binary or too-large one."""
        ...

    def exists(self, path: str) -> bool:
        """Whether an `@path` in a message names a file or folder."""
        ...

    def keep(self, attachment: Attachment) -> None:
        """Store an image's bytes in the image folder, once per sha256."""
        ...

    def load(self, attachment: Attachment) -> bytes:
        """An image's bytes from the image folder; AttachmentError when it is gone."""
        ...


@dataclass(frozen=True, slots=True)
class CopyReport:
    """How a copy went: the ways it reached a clipboard, and the ways that failed."""

    used: tuple[str, ...]  # "OSC 52 (tmux passthrough)", "xclip"
    problems: tuple[str, ...] = ()  # "OSC 52: 140 KB base64 is over the ~100 KB terminals take"


class Clipboard(Protocol):
    """The user's clipboard: the terminal's (OSC 52) and the platform's tool."""

    def copy(self, text: str) -> CopyReport:
        """Put `text` on every clipboard within reach."""
        ...


class Editor(Protocol):
    """$VISUAL / $EDITOR."""

    def edit(self, text: str) -> str:
        """Let the user edit `text`; EditorError (one line) when there is no editor."""
        ...
