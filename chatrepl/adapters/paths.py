"""Where chatrepl keeps its files, worked out from the environment it is handed.

On Linux and other XDG systems the folders follow the XDG base-directory variables in
that environment; on macOS and Windows platformdirs knows the platform's folders. The
config file follows XDG everywhere, because that is where the README (and most terminal
users) look for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

APP = "chatrepl"


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def _xdg(env: Mapping[str, str], variable: str, fallback: str) -> Path:
    value = env.get(variable, "")
    # the spec: a relative path in these variables is invalid and must be ignored
    base = Path(value) if value and os.path.isabs(value) else _home(env) / fallback
    return base / APP


def config_file(env: Mapping[str, str]) -> Path:
    """$CHATREPL_CONFIG, else $XDG_CONFIG_HOME/chatrepl/config.toml (~/.config/...)."""
    if env.get("CHATREPL_CONFIG"):
        return Path(env["CHATREPL_CONFIG"]).expanduser()
    return _xdg(env, "XDG_CONFIG_HOME", ".config") / "config.toml"


def _platform_folder(kind: str) -> Path:
    import platformdirs

    finder = platformdirs.user_data_dir if kind == "data" else platformdirs.user_state_dir
    return Path(finder(APP, appauthor=False))


def data_dir(env: Mapping[str, str]) -> Path:
    """The user data folder ($XDG_DATA_HOME/chatrepl), holding saved sessions."""
    if sys.platform in ("darwin", "win32"):
        return _platform_folder("data")
    return _xdg(env, "XDG_DATA_HOME", ".local/share")


def state_dir(env: Mapping[str, str]) -> Path:
    """The user state folder ($XDG_STATE_HOME/chatrepl), holding input history."""
    if sys.platform in ("darwin", "win32"):
        return _platform_folder("state")
    return _xdg(env, "XDG_STATE_HOME", ".local/state")


def sessions_dir(env: Mapping[str, str]) -> Path:
    """Where autosaved conversations live."""
    return data_dir(env) / "sessions"


def index_path(env: Mapping[str, str]) -> Path:
    """The SQLite index of every session (a cache of the session files)."""
    return data_dir(env) / "index.sqlite3"


def images_dir(env: Mapping[str, str]) -> Path:
    """Where attached images are kept, once each, named by their sha256."""
    return data_dir(env) / "images"


def private_dir(path: Path) -> Path:
    """Create `path` (mode 0700) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
