"""The clipboard: OSC 52 to the terminal, and the platform's clipboard tool.

OSC 52 (`ESC ] 52 ; c ; BASE64 BEL`) asks the terminal emulator itself to set its
clipboard, so it works over SSH, where no local tool can reach the user's machine.
Inside tmux the sequence is wrapped for passthrough (`ESC P tmux; … ESC \\`, every ESC
inside doubled; tmux ≥ 3.3 also needs `set -g allow-passthrough on`), inside GNU
screen it is cut into DCS strings screen passes on (it limits each, 256 bytes in old
versions). Terminals drop sequences longer than about 100,000 base64 characters, the
limit hterm's osc52.sh uses, so a longer text is not sent that way and the user is
told. Alongside, the first clipboard tool that fits the session (`pbcopy`, `wl-copy`
under Wayland, `xclip` or `xsel` under X, `clip.exe` in WSL) gets the text too.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from chatrepl.core.ports import CopyReport

OSC52_LIMIT = 100_000  # base64 characters terminals accept in one sequence
_SCREEN_CHUNK = 252  # 256 bytes per DCS string, less the 4 bytes of ESC P and ESC \


@dataclass(frozen=True, slots=True)
class Tool:
    """A clipboard program and how to run it."""

    name: str
    argv: tuple[str, ...]
    encoding: str = "utf-8"


def osc52(text: str, env: Mapping[str, str]) -> tuple[str, str]:
    """The escape sequence that sets the clipboard to `text`, and how it was wrapped."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    sequence = f"\x1b]52;c;{payload}\x07"
    if env.get("TMUX"):
        return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\", "tmux passthrough"
    if env.get("STY") or env.get("TERM", "").startswith("screen"):
        chunks = [sequence[i : i + _SCREEN_CHUNK] for i in range(0, len(sequence), _SCREEN_CHUNK)]
        return "".join(f"\x1bP{chunk}\x1b\\" for chunk in chunks), "screen passthrough"
    return sequence, ""


def find_tool(env: Mapping[str, str]) -> Tool | None:
    """The clipboard tool this session can use, if one is installed."""
    path = env.get("PATH")

    def has(name: str) -> str | None:
        return shutil.which(name, path=path)

    candidates: list[tuple[str, tuple[str, ...], bool, str]] = [
        ("pbcopy", (), True, "utf-8"),
        ("wl-copy", (), bool(env.get("WAYLAND_DISPLAY")), "utf-8"),
        ("xclip", ("-selection", "clipboard"), bool(env.get("DISPLAY")), "utf-8"),
        ("xsel", ("--clipboard", "--input"), bool(env.get("DISPLAY")), "utf-8"),
        # clip.exe reads UTF-16 (with its byte-order mark) without mangling non-ASCII
        ("clip.exe", (), True, "utf-16"),
    ]
    for name, args, fits, encoding in candidates:
        found = has(name) if fits else None
        if found:
            return Tool(name, (found, *args), encoding)
    return None


class TerminalClipboard:
    """The Clipboard port: OSC 52 on the terminal (when stdout is one) and a tool."""

    def __init__(
        self, *, terminal: TextIO | None, env: Mapping[str, str], timeout: float = 5.0
    ) -> None:
        self._terminal = terminal  # None when stdout is not a terminal
        self._env = env
        self._timeout = timeout

    def copy(self, text: str) -> CopyReport:
        """Put `text` on every clipboard within reach; say which worked."""
        used: list[str] = []
        problems: list[str] = []
        tool = find_tool(self._env)
        if tool is not None:
            problem = self._run(tool, text)
            if problem is None:
                used.append(tool.name)
            else:
                problems.append(problem)
        if self._terminal is not None:
            sequence, wrapping = osc52(text, self._env)
            size = len(base64.b64encode(text.encode("utf-8")))
            if size > OSC52_LIMIT:
                problems.append(
                    f"not sent by OSC 52: {size // 1000} KB of base64 is over the ~100 KB "
                    "terminals accept"
                )
            else:
                self._terminal.write(sequence)
                self._terminal.flush()
                used.insert(0, f"OSC 52 ({wrapping})" if wrapping else "OSC 52")
        elif tool is None:
            problems.append(
                "stdout is not a terminal (no OSC 52) and no clipboard tool was found "
                "(wl-copy, xclip, xsel, pbcopy, clip.exe)"
            )
        return CopyReport(tuple(used), tuple(problems))

    def _run(self, tool: Tool, text: str) -> str | None:
        try:
            # xclip and wl-copy stay behind to serve the selection: with pipes for their
            # output, waiting for them would hang, so their output goes nowhere
            done = subprocess.run(
                tool.argv,
                input=text.encode(tool.encoding),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=self._timeout,
                check=False,
                env=dict(self._env),
            )
        except subprocess.TimeoutExpired:
            return f"{tool.name} did not finish in {self._timeout:g} s"
        except OSError as exc:
            return f"{tool.name} could not run ({exc.strerror or exc})"
        if done.returncode != 0:
            return f"{tool.name} failed (exit status {done.returncode})"
        return None
