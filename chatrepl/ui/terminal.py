"""The terminal: its modes around a reply, and the output the prompt draws on."""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import time
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from prompt_toolkit.output import Output


def columns_of(stream: IO[str] | None, env: Mapping[str, str]) -> int | None:
    """The width of the terminal `stream` writes to (COLUMNS wins, as in rich); None
    when it is not a terminal."""
    if stream is None:
        return None
    given = env.get("COLUMNS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (OSError, ValueError, AttributeError):
        return None


@contextlib.contextmanager
def keyboard_echo_off(stdin: IO[str] | None) -> Iterator[None]:
    """Don't let the terminal echo keys (or `^C`) while a reply is drawn.

    Between prompts the terminal is in cooked mode, so the kernel echoes whatever is
    typed right into the live region; an echoed `^C` at the end of a full-width line
    wraps it, and the region's redraw then leaves a copy of its top line behind. Keys
    typed meanwhile are not lost: they wait in the terminal for the next prompt.
    """
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
        yield  # not a terminal: nothing is echoed anyway
        return
    quiet = list(saved)
    quiet[3] &= ~termios.ECHO  # lflags; ISIG stays on, so Ctrl-C still interrupts
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def prompt_output(stream: TextIO, *, colour: str = "auto") -> Output:
    """prompt_toolkit's output for this stream, in the colours chosen for the run
    (`never`: monochrome; `always`: coloured even under NO_COLOR, which prompt_toolkit
    reads from the process by itself, as the replies are)."""
    from prompt_toolkit.output import ColorDepth, create_output

    output = create_output(stream)
    if hasattr(output, "default_color_depth"):  # a Vt100_Output's own default
        if colour == "never":
            output.default_color_depth = ColorDepth.DEPTH_1_BIT
        elif colour == "always" and output.default_color_depth == ColorDepth.DEPTH_1_BIT:
            output.default_color_depth = None  # as the terminal type says
    return output


def open_tty() -> TextIO | None:
    """The controlling terminal for writing (`chatrepl | tee log` draws its prompt there),
    or None when the process has none (cron, a container without a tty)."""
    try:
        return open("/dev/tty", "w", encoding="utf-8", errors="replace")
    except OSError:
        return None


def is_pipe(stream: IO[str]) -> bool:
    """Whether the stream writes into a pipe (`| tee`, `| less`), not a file or terminal."""
    try:
        return stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def wait_for_reader(stream: IO[str], *, timeout: float = 0.25) -> None:
    """Wait (briefly) until the pipe's reader has taken everything written to it.

    `chatrepl | tee log` shows the reply through tee, a moment after writing it, while
    the stats line (stderr) and the next prompt (/dev/tty) go to the terminal straight
    away: without this wait they can land before the reply's last line, or inside the
    prompt. Bounded: a reader that is not reading (`| less` at a full page) only costs
    `timeout`.
    """
    try:
        import fcntl
        import termios

        fd = stream.fileno()
    except (ImportError, OSError, ValueError, AttributeError):
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            left = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            return  # not a pipe this system can ask
        if left <= 0:
            break
        if time.monotonic() > deadline:
            return
        time.sleep(0.002)
    time.sleep(0.005)  # the reader writes to the terminal right after its read returns


def terminal_width(stream: IO[str]) -> int | None:
    """The width of the terminal behind `stream`; None when it is not one (unlike
    `columns_of`, COLUMNS does not make a file or a pipe a terminal)."""
    try:
        fd = stream.fileno()
        return os.get_terminal_size(fd).columns if os.isatty(fd) else None
    except (OSError, ValueError, AttributeError):
        return None
