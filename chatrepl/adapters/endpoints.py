"""What chatrepl remembers about each endpoint between runs, in the user state folder.

One small JSON file, `endpoints.json` (mode 0600), keyed by the endpoint's API base
(`https://us.inference.heroku.com/v1`, credentials never included):

- `model`: the model picked there when no layer named one, used next time;
- `refused`: parameters chatrepl adds on its own that the server refused with a 400
  (`stream_options`), so they are not sent to it again.

The key is never written. A file that cannot be read or written is no reason to fail a
chat: it is then treated as empty (and `remembered_*` says so to nobody).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from chatrepl.adapters.paths import private_dir, state_dir
from chatrepl.adapters.storage import write_private
from chatrepl.core.settings import api_base

FILE_NAME = "endpoints.json"


def endpoint_key(url: str) -> str:
    """The endpoint's identity: its API base without credentials, query or fragment."""
    try:
        parts = urlsplit(api_base(url))
        host = parts.netloc.rpartition("@")[2].lower()
    except ValueError:
        return url.strip()
    return urlunsplit((parts.scheme.lower(), host, parts.path, "", ""))


class EndpointMemory:
    """Remembered facts per endpoint; every method is safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def in_state_dir(cls, env: Any) -> EndpointMemory:
        """The memory file in the user state folder the environment points at."""
        return cls(state_dir(env) / FILE_NAME)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _entry(self, url: str) -> dict[str, Any]:
        entry = self._read().get(endpoint_key(url))
        return entry if isinstance(entry, dict) else {}

    def _update(self, url: str, key: str, change: Callable[[Any], Any]) -> bool:
        with self._lock:
            data = self._read()
            entry = data.get(endpoint_key(url))
            entry = dict(entry) if isinstance(entry, dict) else {}
            value = change(entry.get(key))
            if entry.get(key) == value:
                return True
            entry[key] = value
            data[endpoint_key(url)] = entry
            try:
                private_dir(self.path.parent)
                write_private(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
            except OSError:
                return False
            return True

    def model(self, url: str) -> str | None:
        """The model remembered for this endpoint."""
        model = self._entry(url).get("model")
        return model if isinstance(model, str) and model else None

    def remember_model(self, url: str, model: str) -> bool:
        """Use `model` next time at this endpoint; False if it could not be saved."""
        return self._update(url, "model", lambda _: model)

    def refused(self, url: str) -> frozenset[str]:
        """Parameters this endpoint refused before."""
        names = self._entry(url).get("refused")
        return (
            frozenset(n for n in names if isinstance(n, str))
            if isinstance(names, list)
            else frozenset()
        )

    def remember_refused(self, url: str, parameter: str) -> bool:
        """Do not send `parameter` to this endpoint again."""

        def add(old: Any) -> list[str]:
            names = {n for n in old if isinstance(n, str)} if isinstance(old, list) else set()
            return sorted(names | {parameter})

        return self._update(url, "refused", add)
