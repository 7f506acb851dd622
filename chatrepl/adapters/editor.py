"""Composing in $VISUAL / $EDITOR (Ctrl-X Ctrl-E at the prompt, and `/editor`).

The text goes to a private temp file, the editor runs on the terminal, and what it
saved comes back (one final newline, which editors add, dropped). prompt_toolkit's own
`open_in_editor` reads os.environ and, when $EDITOR is missing, quietly falls back to
vi or nano, or does nothing; here the editor comes from the session's environment and
a missing or failing one is one line.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from typing import TextIO

from chatrepl.core.errors import EditorError

FALLBACKS = ("editor", "nano", "vi")  # when neither $VISUAL nor $EDITOR is set


def editor_command(env: Mapping[str, str]) -> list[str]:
    """$VISUAL, else $EDITOR (either may hold arguments), else a common editor."""
    for variable in ("VISUAL", "EDITOR"):
        value = env.get(variable, "").strip()
        if not value:
            continue
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise EditorError(f"${variable} cannot be read ({exc})") from None
        if not shutil.which(words[0], path=env.get("PATH")):
            raise EditorError(f"${variable} is {value!r}, which is not an executable on PATH")
        return words
    for name in FALLBACKS:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return [found]
    raise EditorError("no editor: set $VISUAL or $EDITOR (e.g. export EDITOR=nano)")


@contextlib.contextmanager
def _cooked(stdin: TextIO | None) -> Iterator[None]:
    """Echo and line editing on for the editor, whatever mode the REPL left."""
    try:
        import termios
    except ImportError:  # not POSIX
        yield
        return
    try:
        if stdin is None:
            raise ValueError("no terminal")
        fd = stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError, AttributeError):
        yield
        return
    sane = list(saved)
    sane[3] |= termios.ECHO | termios.ICANON
    termios.tcsetattr(fd, termios.TCSANOW, sane)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


class TerminalEditor:
    """The Editor port: runs the user's editor on the terminal."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self._env = env
        self._stdin = stdin
        # the terminal, when stdout is a pipe (`chatrepl | tee log`): the editor draws there
        self._stdout = stdout

    def edit(self, text: str) -> str:
        """The text after the user edited and saved it."""
        command = editor_command(self._env)
        fd, path = tempfile.mkstemp(prefix="chatrepl-", suffix=".md")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            try:
                with _cooked(self._stdin):
                    status = subprocess.call(
                        [*command, path], env=dict(self._env), stdout=self._stdout
                    )
            except OSError as exc:
                raise EditorError(f"{command[0]} could not run ({exc.strerror or exc})") from None
            if status != 0:
                raise EditorError(
                    f"{os.path.basename(command[0])} exited with status {status}; "
                    "the input is unchanged"
                )
            try:
                with open(path, encoding="utf-8") as handle:
                    edited = handle.read()
            except UnicodeDecodeError:
                raise EditorError("the editor saved text that is not UTF-8") from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return edited.removesuffix("\n")
