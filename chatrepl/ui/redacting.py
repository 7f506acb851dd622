"""`RedactingView`: a View that masks secrets in everything before the real view sees it.

The app wraps the run's view in one, so every line the engine or a command shows (an
error quoting a server, `/settings` with a URL holding a password, a notice, a table)
goes through the same `core.redact.Redactor` as the error boundary's stderr line. The
reply text itself was already redacted by the backend as it streamed, where a key
spread over several deltas can be caught; here each piece is checked again on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from chatrepl.core.comparison import Comparison
from chatrepl.core.errors import ChatReplError
from chatrepl.core.messages import ReasoningDelta, TextDelta, TurnStats
from chatrepl.core.ports import View
from chatrepl.core.redact import Redactor
from chatrepl.core.reply import CompareResult


class _Shown(ChatReplError):
    """An error whose message was redacted (only its words are shown)."""


class RedactingView:
    """Forwards to `view` with every string redacted."""

    def __init__(self, view: View, redactor: Redactor) -> None:
        self.view = view
        self.redact = redactor

    def info(self, text: str) -> None:
        """See View.info."""
        self.view.info(self.redact(text))

    def error(self, text: str) -> None:
        """See View.error."""
        self.view.error(self.redact(text))

    def notice(self, text: str) -> None:
        """See View.notice."""
        self.view.notice(self.redact(text))

    def table(self, rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
        """See View.table."""
        clean = [[self.redact(cell) for cell in row] for row in rows]
        self.view.table(clean, title=self.redact(title) if title else title)

    def begin_reply(self) -> None:
        """See View.begin_reply."""
        self.view.begin_reply()

    def show(self, event: TextDelta | ReasoningDelta) -> None:
        """See View.show (only the secrets: a model may rightly explain auth headers)."""
        text = self.redact.secrets_in(event.text)
        self.view.show(event if text == event.text else type(event)(text))

    def end_reply(self, stats: TurnStats | None) -> None:
        """See View.end_reply."""
        self.view.end_reply(stats)

    def begin_compare(self, comparison: Comparison) -> None:
        """See View.begin_compare."""
        self.view.begin_compare(comparison)

    def compare_show(self, index: int, event: TextDelta | ReasoningDelta) -> None:
        """See View.compare_show (only the secrets, as for a reply)."""
        text = self.redact.secrets_in(event.text)
        self.view.compare_show(index, event if text == event.text else type(event)(text))

    def compare_done(self, index: int, result: CompareResult) -> None:
        """See View.compare_done."""
        self.view.compare_done(index, self._clean(result))

    def end_compare(self, comparison: Comparison) -> None:
        """See View.end_compare."""
        self.view.end_compare(self._cleaned(comparison))

    def reveal(self, comparison: Comparison) -> None:
        """See View.reveal."""
        self.view.reveal(self._cleaned(comparison))

    def _cleaned(self, comparison: Comparison) -> Comparison:
        """A copy whose replies and errors are redacted (the engine keeps the original)."""
        return replace(comparison, results=[self._clean(r) for r in comparison.results])

    def _clean(self, result: CompareResult) -> CompareResult:
        reply = result.reply
        error = _Shown(self.redact(str(reply.error))) if reply.error is not None else None
        text = self.redact.secrets_in(reply.text)
        reasoning = self.redact.secrets_in(reply.reasoning)
        return CompareResult(
            result.model, replace(reply, text=text, reasoning=reasoning, error=error)
        )
