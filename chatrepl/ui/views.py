"""Choosing the view for a run, and building it only when it is first needed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import IO, Any

from chatrepl.core.ports import View
from chatrepl.ui.plain import PlainView


def make_view(
    *,
    plain: bool,
    stdout: IO[str],
    stderr: IO[str],
    stdout_isatty: bool,
    env: Mapping[str, str],
) -> View:
    """The view for this run: rich on a terminal, plain pass-through otherwise."""
    no_color = "NO_COLOR" in env
    if plain or no_color or not stdout_isatty:
        return PlainView(stdout, stderr)
    from rich.console import Console

    from chatrepl.ui.rich_view import RichView  # rich loads only when a terminal needs it

    return RichView(Console(file=stdout, _environ=dict(env)))


class LazyView:
    """A View that builds the real one on first output, so rich loads after the prompt.

    Each call is forwarded by a plain method (no per-call attribute lookup magic), and
    `show`, called once per network read of a reply, becomes the real view's own bound
    method once that is built: a caller that binds `view.show` after `begin_reply()`
    (the engine does, once per turn) calls the real view directly.
    """

    def __init__(self, build: Any) -> None:
        self._build = build
        self._view: View | None = None
        self._lock = threading.Lock()
        self.show: Callable[[Any], None] = self._show_first

    def get(self) -> View:
        """The real view, built on first use."""
        view = self._view
        if view is None:
            with self._lock:
                if self._view is None:
                    self._view = self._build()
                    self.show = self._view.show
                view = self._view
        assert view is not None
        return view

    def _show_first(self, event: Any) -> None:
        self.get().show(event)

    def info(self, text: str) -> None:
        """See View.info."""
        self.get().info(text)

    def error(self, text: str) -> None:
        """See View.error."""
        self.get().error(text)

    def notice(self, text: str) -> None:
        """See View.notice."""
        self.get().notice(text)

    def table(self, rows: Any, *, title: str | None = None) -> None:
        """See View.table."""
        self.get().table(rows, title=title)

    def begin_reply(self) -> None:
        """See View.begin_reply."""
        self.get().begin_reply()

    def end_reply(self, stats: Any) -> None:
        """See View.end_reply."""
        self.get().end_reply(stats)

    def compare(self, results: Any) -> None:
        """See View.compare."""
        self.get().compare(results)
