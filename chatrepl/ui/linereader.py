"""`LineReader`: the prompt for a terminal that cannot move its cursor (TERM=dumb).

Emacs' shell buffer, some CI consoles and serial lines set TERM=dumb: they edit the
line themselves and show every byte they receive, so prompt_toolkit's redraws would
print as escape codes. Here the prompt is `> ` and a line is read as the terminal
hands it over; no toolbar, no completion (the terminal's own editing does the rest).
"""

from __future__ import annotations

from typing import IO

from chatrepl.core.errors import TerminatedBySignal


def is_dumb(term: str | None) -> bool:
    """Whether TERM names a terminal without cursor movement."""
    return (term or "").lower() in ("dumb", "unknown")


class LineReader:
    """Reads one line at a time from a terminal that shows text as it comes."""

    def __init__(self, stdin: IO[str], screen: IO[str]) -> None:
        self._in = stdin
        self._screen = screen

    def _ask(self, prompt: str) -> str | None:
        self._screen.write(prompt)
        self._screen.flush()
        line = self._in.readline()
        if not line:
            return None  # Ctrl-D
        return line.rstrip("\n").rstrip("\r")

    def read(self, default: str = "") -> str | None:
        """The next line; None at end of input. A `default` (a message /edit put back)
        is shown, since it cannot be placed in the terminal's own line editor."""
        if default:
            self._screen.write(f"(to edit: {default})\n")
        try:
            return self._ask("> ")
        except TerminatedBySignal:
            raise
        except KeyboardInterrupt:
            self._screen.write("\n")
            return ""

    def confirm(self, question: str) -> bool:
        """A yes/no question; only y or yes is a yes."""
        try:
            answer = self._ask(f"{question} [y/N] ")
        except TerminatedBySignal:
            raise
        except KeyboardInterrupt:
            return False
        return (answer or "").strip().lower() in ("y", "yes")
