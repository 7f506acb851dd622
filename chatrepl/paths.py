"""Where chatrepl keeps its files. platformdirs gives the right folders on Linux (XDG),
macOS and Windows; the config file follows XDG on every platform because that is where
the README (and most terminal users) look for it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP = "chatrepl"


def config_file(env: Mapping[str, str]) -> Path:
    """$CHATREPL_CONFIG, else $XDG_CONFIG_HOME/chatrepl/config.toml (~/.config/...)."""
    if env.get("CHATREPL_CONFIG"):
        return Path(env["CHATREPL_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP / "config.toml"


def data_dir() -> Path:
    """The user data folder ($XDG_DATA_HOME/chatrepl), holding saved sessions."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def state_dir() -> Path:
    """The user state folder ($XDG_STATE_HOME/chatrepl), holding input history."""
    import platformdirs

    return Path(platformdirs.user_state_dir(APP, appauthor=False))


def private_dir(path: Path) -> Path:
    """Create `path` (mode 0700) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
