"""The votes file: every vote, one JSON line each, appended in the user data folder.

`votes.jsonl` in the data folder (see adapters/paths.py), mode 0600 in a 0700 folder.
Each vote is one `write` of one line with O_APPEND, then fsync: a crash can at worst cut
the last line short, and the next vote starts on a line of its own. Reading skips a line
that is not a vote with one warning for the whole file (never a traceback), so one bad
line never costs the leaderboard. Every string goes through the session's redactor
before it is written: a key pasted into a prompt is stored as `***`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chatrepl.adapters.paths import data_dir, private_dir
from chatrepl.core.errors import TranscriptError
from chatrepl.core.votes import Vote

FILE = "votes.jsonl"


def votes_path(env: Mapping[str, str]) -> Path:
    """Where the votes are kept: $XDG_DATA_HOME/chatrepl/votes.jsonl."""
    return data_dir(env) / FILE


def _masked(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _masked(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, redact) for v in value]
    return value


class VoteFile:
    """The votes file (implements the core's `VoteStore`)."""

    def __init__(self, path: Path, *, redact: Callable[[str], str] | None = None) -> None:
        self._path = path
        self._redact = redact or (lambda text: text)

    @property
    def path(self) -> Path:
        """The file, named in messages."""
        return self._path

    def append(self, vote: Vote) -> None:
        """Add one vote at the end, durably; TranscriptError (one line) when it cannot."""
        line = json.dumps(_masked(vote.to_json(), self._redact), ensure_ascii=False)
        data = (line + "\n").encode("utf-8", "surrogatepass")
        try:
            private_dir(self._path.parent)
            fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.fchmod(fd, 0o600)  # whatever the umask says
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a cut-off last line stays a line of its own
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise TranscriptError(f"could not record the vote in {self._path}: {reason}") from None

    def read(self) -> tuple[list[Vote], str | None]:
        """Every vote in the file, oldest first, and a warning line if some were skipped."""
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return [], None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise TranscriptError(f"could not read the votes in {self._path}: {reason}") from None
        votes: list[Vote] = []
        bad: list[int] = []
        for number, line in enumerate(raw.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                votes.append(Vote.from_json(json.loads(line.decode("utf-8"))))
            except (ValueError, TypeError, KeyError):  # JSONDecodeError, UnicodeDecodeError too
                bad.append(number)
        if not bad:
            return votes, None
        some = (
            "a line that is not a vote" if len(bad) == 1 else f"{len(bad)} lines that are not votes"
        )
        return votes, f"{self._path}: skipped {some} (line {bad[0]})"
