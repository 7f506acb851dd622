"""The two ports the engine talks through. Adapters implement them; tests fake them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from chatrepl.messages import ReasoningDelta, StreamEvent, TextDelta, TurnStats

if TYPE_CHECKING:
    from chatrepl.compare import CompareResult


class Backend(Protocol):
    """Something that answers chat-completions requests."""

    def stream(self, payload: dict[str, Any]) -> Iterator[StreamEvent]:
        """Send one request; yield its events. Closing the iterator aborts the request."""
        ...

    def list_models(self) -> list[str]:
        """Model ids the endpoint offers."""
        ...


class View(Protocol):
    """Where the engine's output goes."""

    def info(self, text: str) -> None:
        """A plain line for the user."""
        ...

    def error(self, text: str) -> None:
        """A one-line failure."""
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

    def compare(self, results: Sequence[CompareResult]) -> None:
        """Several models' answers side by side."""
        ...
