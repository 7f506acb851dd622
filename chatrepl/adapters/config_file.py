"""Reading the config file from disk; parsing and validation are the core's (settings)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from chatrepl.adapters.paths import config_file
from chatrepl.core.errors import ConfigError
from chatrepl.core.settings import ConfigFile, from_toml
from chatrepl.core.specs import check_sets


def read_config(explicit: str | None, env: Mapping[str, str]) -> ConfigFile | None:
    """The file named by --config or $CHATREPL_CONFIG, else the XDG default (if present)."""
    if explicit:
        path, named = os.path.expanduser(explicit), True
    else:
        path, named = str(config_file(env)), bool(env.get("CHATREPL_CONFIG"))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            raise ConfigError(f"{path}: config file not found") from None
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    config = from_toml(text, path=path)
    check_sets(config)
    return config


def exposed_key_warning(config: ConfigFile | None) -> str | None:
    """A warning when the config file holds a literal key and others may read it."""
    if config is None or not config.holds_key or not config.path:
        return None
    try:
        mode = stat.S_IMODE(os.stat(config.path).st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"warning: {config.path} holds an API key and is readable by others "
        f"(mode {mode:04o}); run: chmod 600 {config.path}"
    )
