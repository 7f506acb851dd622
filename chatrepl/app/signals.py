"""SIGTERM, SIGHUP, SIGQUIT and the terminal: every way out leaves things as they were.

`guarded()` runs the whole session inside `handled_signals()` and `TerminalGuard`:

- Each of the three signals raises `TerminatedBySignal` in the main thread, a kind of
  KeyboardInterrupt, so it stops whatever runs the way Ctrl-C does: a reply in
  progress is kept and marked interrupted, the engine saves it, every `with` block on
  the way out closes (the prompt gives the terminal back, the local model server
  stops), and the run ends with 128 + the signal number (143, 129, 131).
- SIGHUP usually means the terminal is gone, and writing to a hung-up terminal fails
  (EIO), which would stop the save halfway out. So the terminal is restored at once
  and the standard streams are pointed at /dev/null before the exception is raised.
- A second signal while the first is being handled means the orderly way out is stuck:
  the terminal is restored and the process ends at once.
- `TerminalGuard` notes the terminal's modes (what `stty -g` prints) at the start and
  puts them back at the end, then shows the cursor and turns bracketed paste off,
  whatever happened in between: prompt_toolkit and rich restore their own changes, and
  this is the net under them.

Ctrl-Z is not handled here: at the prompt, prompt_toolkit suspends (and redraws on
`fg`); during a reply the terminal is in cooked mode and the kernel stops the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import IO, Any

from chatrepl.core.errors import TerminatedBySignal

termios: Any
try:
    import termios
except ImportError:  # not POSIX: no terminal modes to keep
    termios = None

SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)
RESET = "\x1b[?2004l\x1b[?25h"  # bracketed paste off, cursor shown


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _fileno(stream: IO[str] | None) -> int | None:
    try:
        return stream.fileno() if stream is not None else None
    except (AttributeError, OSError, ValueError):
        return None


class TerminalGuard:
    """The terminal's modes at the start, put back (with the cursor) on the way out."""

    def __init__(self, stdin: IO[str] | None, stdout: IO[str] | None, *, tty: bool) -> None:
        self._stdin_fd = _fileno(stdin) if tty else None
        out = _fileno(stdout) if tty else None
        # the reset goes to the terminal: never into a log (`chatrepl | tee log`), where
        # stderr is the terminal the prompt was drawn on
        if out is not None and not _isatty(out):
            out = 2 if _isatty(2) else None
        self._stdout_fd = out
        # noted now: once the terminal has hung up, isatty() says no
        self.terminal_fds = [fd for fd in (0, 1, 2) if _isatty(fd)]
        self._saved: Any = None
        if termios is not None and self._stdin_fd is not None:
            with contextlib.suppress(OSError, termios.error):
                self._saved = termios.tcgetattr(self._stdin_fd)

    def restore(self) -> None:
        """Put the modes back, show the cursor, end bracketed paste; never raises."""
        if self._saved is not None and self._stdin_fd is not None:
            with contextlib.suppress(Exception):
                if termios.tcgetattr(self._stdin_fd) != self._saved:
                    termios.tcsetattr(self._stdin_fd, termios.TCSANOW, self._saved)
        if self._stdout_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self._stdout_fd, RESET.encode())


@dataclass(slots=True)
class SignalState:
    """Which signal, if any, is ending the run."""

    received: int | None = None


def _silence(fds: list[int]) -> None:
    """Point the terminal's fds at /dev/null, so the way out writes (to nobody) and reads
    EOF instead of failing with EIO halfway through the save."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDWR)
        for fd in fds:
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
        os.close(null)


@contextlib.contextmanager
def handled_signals(guard: TerminalGuard) -> Iterator[SignalState]:
    """Turn SIGTERM, SIGHUP and SIGQUIT into `TerminatedBySignal` for the block."""
    state = SignalState()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if state.received is not None:  # the orderly way out is stuck: leave now
            guard.restore()
            os._exit(128 + state.received)
        state.received = signum
        # the way out saves the conversation: a Ctrl-C (or the SIGINT that follows a
        # hang-up from some terminals) must not cut that short
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if signum == getattr(signal, "SIGHUP", None):
            guard.restore()
            _silence(guard.terminal_fds)
        raise TerminatedBySignal(signum)

    previous = {signum: signal.signal(signum, handle) for signum in SIGNALS}
    interrupt = signal.getsignal(signal.SIGINT)
    try:
        yield state
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.signal(signal.SIGINT, interrupt)
