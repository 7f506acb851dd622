"""`key_command`: get the API key from a password manager instead of a variable or file.

`key_command = ["pass", "show", "heroku/inference"]` runs that program directly (no
shell, so nothing in the words is interpreted), with the terminal left to it (a
passphrase prompt works), and takes what it prints, stripped, as the key. A failure is
one line naming the program and the first line it wrote to stderr, never its output:
that could be the key.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from chatrepl.core.errors import ConfigError

TIMEOUT = 120.0  # a passphrase typed at a prompt takes a while; a hung helper does not


def run_key_command(words: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
    """What the command printed on stdout (decoded, not yet validated as a key)."""
    name = words[0]
    try:
        done = subprocess.run(
            list(words),
            capture_output=True,
            env=dict(env) if env is not None else None,
            timeout=TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        missing = f"key_command: {name!r} not found (is it installed and on PATH?)"
        raise ConfigError(missing) from None
    except PermissionError:
        raise ConfigError(f"key_command: {name!r} cannot be run (permission denied)") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"key_command: {name!r} did not finish within {TIMEOUT:g} s") from None
    except OSError as exc:
        raise ConfigError(f"key_command: {name!r} cannot be run ({exc.strerror or exc})") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {said[0][:200]}" if said else ""
        raise ConfigError(f"key_command: {name!r} failed (exit status {done.returncode}){detail}")
    return done.stdout.decode("utf-8", "replace")
