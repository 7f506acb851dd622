"""Choosing the view for a run, and building it only when it is first needed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import IO, Any

from chatrepl.core.ports import View
from chatrepl.ui.plain import PlainView


def colour_choice(color: str, env: Mapping[str, str]) -> str:
    """`always`, `never` or `auto`: the --color setting, else what the environment asks.

    NO_COLOR and FORCE_COLOR count only when set and not empty (no-color.org,
    force-color.org); NO_COLOR wins when both are. A setting other than `auto` (a flag,
    the config file) outranks both, as no-color.org asks of explicit choices.
    """
    if color != "auto":
        return color
    if env.get("NO_COLOR"):
        return "never"
    if env.get("FORCE_COLOR"):
        return "always"
    return "auto"


def make_view(
    *,
    plain: bool,
    stdout: IO[str],
    stderr: IO[str],
    stdout_isatty: bool,
    env: Mapping[str, str],
    color: str = "auto",
) -> View:
    """The view for this run: rich on a terminal (without colour under NO_COLOR or
    --color never: the markdown is still laid out), plain pass-through for --plain and
    for pipes (unless colour is forced)."""
    mode = colour_choice(color, env)
    if plain or (not stdout_isatty and mode != "always"):
        from chatrepl.ui.terminal import is_pipe, terminal_width, wait_for_reader

        settle = (lambda: wait_for_reader(stdout)) if is_pipe(stdout) else None
        return PlainView(stdout, stderr, settle=settle, err_width=lambda: terminal_width(stderr))
    from rich.console import Console

    from chatrepl.ui.rich_view import RichView  # rich loads only when a terminal needs it

    # rich reads NO_COLOR and FORCE_COLOR itself: it is told the outcome instead
    environ = {k: v for k, v in env.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    forced = mode == "always"  # a terminal, or a pipe that asked for colour
    dumb = environ.get("TERM", "").lower() in ("dumb", "unknown")
    console = Console(
        file=stdout,
        _environ=environ,
        no_color=mode == "never",
        force_terminal=True,  # the environment says it is one (or colour is forced)
        # a dumb terminal gets no colour from rich unless it is asked for by name
        color_system="standard" if forced and dumb else "auto",
    )
    # into a pipe (forced colour) the reply is printed block by block, never redrawn
    return RichView(console, live=stdout_isatty)


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

    def begin_compare(self, comparison: Any) -> None:
        """See View.begin_compare."""
        self.get().begin_compare(comparison)

    def compare_show(self, index: int, event: Any) -> None:
        """See View.compare_show."""
        self.get().compare_show(index, event)

    def compare_done(self, index: int, result: Any) -> None:
        """See View.compare_done."""
        self.get().compare_done(index, result)

    def end_compare(self, comparison: Any) -> None:
        """See View.end_compare."""
        self.get().end_compare(comparison)

    def reveal(self, comparison: Any) -> None:
        """See View.reveal."""
        self.get().reveal(comparison)
