"""The session index, opened on first use: sqlite3 loads after the first prompt."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: sqlite3 and the search rules load on first use
    from chatrepl.adapters.search_index import SessionIndex
    from chatrepl.core.conversation import Conversation
    from chatrepl.core.pricing import UsageRow
    from chatrepl.core.search import Hit, SearchQuery
    from chatrepl.core.transcript import SessionInfo


class LazyIndex:
    """Forwards to a `SessionIndex` built (and sqlite3 imported) on the first call."""

    def __init__(self, path: Path, folder: Path) -> None:
        self.path = path
        self.folder = folder
        self.announce: Callable[[str], None] | None = None
        self._index: SessionIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> SessionIndex:
        """The real index."""
        with self._lock:
            if self._index is None:
                from chatrepl.adapters.search_index import SessionIndex

                self._index = SessionIndex(self.path, self.folder)
            self._index.announce = self.announce
            return self._index

    def close(self) -> None:
        """Close the database, if it was opened."""
        if self._index is not None:
            self._index.close()

    def before_save(self, path: Path | None) -> None:
        """See SessionIndex.before_save."""
        self.get().before_save(path)

    def after_save(
        self, path: Path, conversation: Conversation, settings: Mapping[str, Any], *, unchanged: int
    ) -> None:
        """See SessionIndex.after_save."""
        self.get().after_save(path, conversation, settings, unchanged=unchanged)

    def forget(self, path: Path) -> None:
        """See SessionIndex.forget."""
        self.get().forget(path)

    def sessions(self, *, limit: int, one_shots: bool = False) -> list[SessionInfo]:
        """See SessionIndex.sessions."""
        return self.get().sessions(limit=limit, one_shots=one_shots)

    def latest(self, *, one_shots: bool = False) -> Path | bool | None:
        """See SessionIndex.latest."""
        return self.get().latest(one_shots=one_shots)

    def search(self, query: SearchQuery) -> list[Hit]:
        """See SessionIndex.search."""
        return self.get().search(query)

    def usage(self, *, since: float | None) -> list[UsageRow]:
        """See SessionIndex.usage."""
        return self.get().usage(since=since)
