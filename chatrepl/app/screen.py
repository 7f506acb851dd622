"""Where the prompt is drawn, and where the conversation goes, when stdout is not the
terminal: `chatrepl | tee log` or `chatrepl > log` with the keyboard still on a terminal.

The prompt, its toolbar and the banner are drawn on /dev/tty (prompt_toolkit writing
into a pipe draws nothing usable and leaves `>` and line ends in the log); stdout gets
the conversation as plain text, each message as `> text` and each reply as it came.
When stdout is a pipe, its reader (tee) probably shows it on the same terminal, so the
prompt erases its own line once a message is sent and the log's copy takes its place;
commands, which stay out of the log, are written back on the terminal instead.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TextIO

from chatrepl.app.environment import Environment
from chatrepl.core.commands.registry import UserText, parse
from chatrepl.ui.terminal import is_pipe, open_tty, wait_for_reader

FILE_LOG_NOTE = "(the replies go to stdout, not to this screen)"
NO_TTY = (
    "chatrepl: stdout is not a terminal and there is no /dev/tty to draw the prompt on: "
    "it goes to stdout with the conversation"
)


@dataclass
class Screen:
    """The terminal the prompt draws on, and the log stdout is (None: stdout is the
    terminal, or there is no other)."""

    terminal: TextIO
    log: TextIO | None = None
    echoed: bool = False  # the log is a pipe, whose reader likely shows it
    erases: bool = False  # the prompt erases its line once entered (tee's copy replaces it)
    _opened: TextIO | None = None
    _logged: bool = False  # something is in the log already

    @classmethod
    def choose(cls, environment: Environment) -> Screen:
        """/dev/tty for the prompt when stdin is a terminal and stdout is not."""
        stdout = environment.stdout
        if environment.stdout_isatty or not environment.stdin_isatty:
            return cls(stdout)
        tty = open_tty()
        if tty is None:
            environment.stderr.write(NO_TTY + "\n")
            environment.stderr.flush()
            return cls(stdout)
        return cls(tty, log=stdout, echoed=is_pipe(stdout), _opened=tty)

    def settle(self) -> None:
        """Before the prompt is drawn: let the pipe's reader show what it was given."""
        if self.echoed and self.log is not None:
            wait_for_reader(self.log)

    def record(self, line: str) -> None:
        """A line the user entered: a message goes into the log (`> text`), a command
        back onto the terminal when the prompt erased it."""
        if self.log is None:
            return
        if line.strip() and isinstance(parse(line), UserText):
            text = line[1:] if line.startswith("//") else line  # `//x` sends `/x`
            quoted = "\n".join(f"> {row}".rstrip() for row in text.split("\n"))
            self.log.write(("\n" if self._logged else "") + quoted + "\n")
            self.log.flush()
            self._logged = True
        elif self.erases:
            self.terminal.write(f"> {line}".rstrip() + "\n")
            self.terminal.flush()

    def close(self) -> None:
        """Close /dev/tty if it was opened."""
        if self._opened is not None:
            with contextlib.suppress(OSError):
                self._opened.close()
