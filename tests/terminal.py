"""Drive the real `chatrepl` in a pseudo-terminal and read its screen like a person would.

Output goes through pyte, a terminal emulator, so tests assert on the text a user sees
(scrollback included), never on escape codes.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping

import pexpect
import pyte

ROWS, COLS = 30, 100


def _default_signals() -> None:
    # a parent started with SIGINT ignored (`cmd &`) would pass that on: Ctrl-C tests need it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """A chatrepl process in a pty, with its screen emulated."""

    def __init__(
        self,
        args: list[str],
        env: Mapping[str, str],
        *,
        rows: int = ROWS,
        cols: int = COLS,
        cwd: str | None = None,
        answer_cpr: bool = False,
        shell: str | None = None,
    ) -> None:
        self.screen = pyte.HistoryScreen(cols, rows, history=5000)
        self.stream = pyte.ByteStream(self.screen)
        # prompt_toolkit draws the bottom toolbar only once it knows where the cursor is:
        # with `answer_cpr` the terminal answers its cursor-position requests (ESC[6n),
        # as a real one does, instead of the program being told not to ask
        self.answer_cpr = answer_cpr
        self._tail = b""
        env = dict(env)
        if answer_cpr:
            env.pop("PROMPT_TOOLKIT_NO_CPR", None)
        command, argv = sys.executable, ["-m", "chatrepl", *args]
        if shell is not None:  # a shell line around it: "CHATREPL | tee log", "CHATREPL > log"
            line = shell.replace("CHATREPL", '"$0" "$@"')
            command, argv = "sh", ["-c", line, sys.executable, *argv]
        self.child = pexpect.spawn(
            command,
            argv,
            env=env,
            dimensions=(rows, cols),
            cwd=cwd,
            preexec_fn=_default_signals,
        )
        self.raw = b""

    def pump(self, timeout: float = 0.05) -> None:
        """Feed whatever the program wrote into the emulator."""
        try:
            while True:
                data = self.child.read_nonblocking(65536, timeout=timeout)
                self.raw += data
                self.stream.feed(data)
                if self.answer_cpr:
                    self._answer_cpr(data)
                timeout = 0.01
        except (pexpect.TIMEOUT, pexpect.EOF):
            pass

    def _answer_cpr(self, data: bytes) -> None:
        # a request may be split across two reads: keep the last few bytes to look in
        seen = self._tail + data
        for _ in range(seen.count(b"\x1b[6n")):
            cursor = self.screen.cursor
            self.child.send(f"\x1b[{cursor.y + 1};{cursor.x + 1}R")
        self._tail = seen[-3:] if not seen.endswith(b"\x1b[6n") else b""

    def toolbar_cells(self) -> list[pyte.screens.Char]:
        """The characters of the bottom line (the toolbar), with their colours."""
        self.pump()
        line = self.screen.buffer[self.screen.lines - 1]
        return [line[x] for x in range(self.screen.columns)]

    def text(self) -> str:
        """Scrollback plus the visible screen, trailing spaces trimmed."""
        history = [
            "".join(ch.data for ch in line.values())
            if isinstance(line, dict)
            else "".join(line[x].data for x in range(self.screen.columns))
            for line in self.screen.history.top
        ]
        lines = [*history, *self.screen.display]
        return "\n".join(line.rstrip() for line in lines)

    def wait_for(self, needle: str, timeout: float = 10.0) -> str:
        """Wait until `needle` is on screen; return the screen text."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            text = self.text()
            if needle in text:
                return text
            if not self.child.isalive():
                self.pump()
                break
        raise AssertionError(f"{needle!r} not on screen after {timeout}s:\n{self.text()}")

    def wait_for_after(self, marker: str, needle: str, timeout: float = 10.0) -> str:
        """Wait until `needle` is on screen after the last `marker`; return what follows it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            text = self.text().rpartition(marker)[2]
            if needle in text:
                return text
            if not self.child.isalive():
                break
        raise AssertionError(f"{needle!r} not after {marker!r} in {timeout}s:\n{self.text()}")

    def count(self, needle: str) -> int:
        """How many times `needle` appears on screen and in scrollback."""
        self.pump()
        return self.text().count(needle)

    def type(self, text: str, *, enter: bool = True) -> None:
        """Type a line (as keystrokes) and press Enter."""
        self.child.send(text)
        if enter:
            time.sleep(0.05)
            self.child.send("\r")

    def wait_for_prompt(self, timeout: float = 10.0) -> None:
        """Wait until the prompt is idle, waiting for input (the toolbar is drawn)."""
        self.wait_for("/help", timeout)
        time.sleep(0.1)
        self.pump()

    def exit_code(self, timeout: float = 10.0) -> int:
        """Wait for the process to end; its exit status."""
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            self.pump()
        self.pump()
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -1

    def close(self) -> None:
        """Kill the process if it is still running."""
        if self.child.isalive():
            self.child.terminate(force=True)


def chat_env(url: str, **extra: str) -> dict[str, str]:
    """The current (isolated) environment plus an endpoint and a key."""
    env = dict(os.environ)
    env.update(
        INFERENCE_URL=url,
        INFERENCE_KEY="inf-testkey-0123456789abcdef",
        TERM="xterm-256color",
        COLUMNS=str(COLS),
        LINES=str(ROWS),
        # pexpect does not answer cursor-position requests; a terminal would
        PROMPT_TOOLKIT_NO_CPR="1",
    )
    env.update(extra)
    return env
