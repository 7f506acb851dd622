"""The one object that holds the process's world: its streams, variables and clocks.

`main()` builds it from the real process; tests build one from StringIO streams and a
dict, so whole one-shot and piped runs are driven in-process. Nothing below the app
layer reads `sys.stdin`, `sys.stdout` or `os.environ` itself: it is handed what it needs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):  # closed or detached
        return False


@dataclass(frozen=True, slots=True)
class Environment:
    """Streams, whether each is a terminal, the environment variables and the clocks."""

    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str] = field(default_factory=dict)
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    clock: Callable[[], float] = time.monotonic  # for durations
    wall_clock: Callable[[], float] = time.time  # for timestamps

    @classmethod
    def from_process(cls) -> Environment:
        """The real process: sys streams and os.environ.

        Bytes that are not UTF-8 are read as surrogate escapes instead of failing the
        read (the engine repairs them), and written back as the bytes they were.
        """
        stdin = sys.stdin if sys.stdin is not None else open(os.devnull)  # noqa: SIM115
        for stream in (stdin, sys.stdout):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                with contextlib.suppress(ValueError, OSError):
                    reconfigure(errors="surrogateescape")
        return cls(
            stdin=stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            env=os.environ,
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
        )
