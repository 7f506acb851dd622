"""Heroku conveniences: `--app APP` (the Heroku CLI's `config --json`) and `--addon ALIAS`.

Heroku's add-on sets `<ALIAS>_URL`, `<ALIAS>_KEY` and (on legacy single-model plans)
`<ALIAS>_MODEL_ID`, where the alias is `INFERENCE` unless it was attached under another
name. `--addon MYAI` reads `MYAI_*` from the environment; `--app APP` asks the Heroku
CLI for the app's config vars instead, so nothing has to be copied into the shell.

The CLI runs without a shell (`heroku config --json -a APP`), with stdin closed. Its
output holds every config var of the app (database passwords too), so none of it is
ever printed or logged: only the three values we need are kept, and the key only as a
`Secret`. A missing CLI, a failing call or an app without the add-on is one line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chatrepl.core.dialect import HEROKU_HOST_SUFFIX
from chatrepl.core.errors import ConfigError
from chatrepl.core.settings import Layer, Secret, parse_url

DEFAULT_ALIAS = "INFERENCE"
CLI_TIMEOUT = 60.0
CLI_HELP = "https://devcenter.heroku.com/articles/heroku-cli"
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True, slots=True)
class AddonSettings:
    """The add-on's values as a settings layer, and its key."""

    layer: Layer
    key: Secret | None


def _cli_reason(stderr: str) -> str:
    """The CLI's own first line of complaint, without its decorations."""
    for line in stderr.splitlines():
        text = line.strip().lstrip("›▸!✖ ").strip()
        if text.lower().startswith("error:"):
            text = text[len("error:") :].strip()
        if text:
            return text[:200]
    return "no reason given"


def app_config(app: str, env: Mapping[str, str], *, run: Runner = subprocess.run) -> dict[str, str]:
    """The app's config vars from `heroku config --json -a APP` (never shown to anyone)."""
    command = f"heroku config --json -a {app}"
    exe = shutil.which("heroku", path=env.get("PATH"))
    if exe is None:
        raise ConfigError(f"--app needs the Heroku CLI, and `heroku` is not on PATH ({CLI_HELP})")
    try:
        done = run(
            [exe, "config", "--json", "-a", app],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=CLI_TIMEOUT,
            env=dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(f"`{command}` did not finish within {CLI_TIMEOUT:g} s") from None
    except OSError as exc:
        raise ConfigError(f"cannot run the Heroku CLI ({exe}): {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise ConfigError(f"`{command}` failed: {_cli_reason(done.stderr or '')}")
    try:
        data: Any = json.loads(done.stdout)
    except ValueError:
        raise ConfigError(f"`{command}` did not print a JSON object") from None
    if not isinstance(data, dict):
        raise ConfigError(f"`{command}` did not print a JSON object")
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def _other_aliases(variables: Mapping[str, str]) -> list[str]:
    """Aliases whose `_URL` points at Heroku's inference hosts (a hint for --addon)."""
    found = []
    for name, value in variables.items():
        if name.endswith("_URL") and HEROKU_HOST_SUFFIX in value.lower():
            found.append(name[: -len("_URL")])
    return sorted(found)


def addon_settings(
    variables: Mapping[str, str], *, alias: str, where: str, origin: Callable[[str], str]
) -> AddonSettings:
    """URL, model and key of the add-on attached as `alias`, from `variables`."""
    url_var, key_var, model_var = f"{alias}_URL", f"{alias}_KEY", f"{alias}_MODEL_ID"
    url = variables.get(url_var, "").strip()
    if not url:
        others = [a for a in _other_aliases(variables) if a != alias]
        hint = (
            f"; it is attached as {others[0]}: add --addon {others[0]}"
            if others
            else "; is the Heroku Managed Inference add-on attached?"
        )
        raise ConfigError(f"{where} has no {url_var}{hint}")
    try:
        values: dict[str, Any] = {"url": parse_url(url)}
    except ValueError as exc:
        raise ConfigError(f"{url_var} from {where} must be {exc}") from None
    origins = {"url": origin(url_var)}
    model = variables.get(model_var, "").strip()
    if model:  # legacy plans name their one model; the standard plan leaves it out
        values["model"], origins["model"] = model, origin(model_var)
    key_value = variables.get(key_var, "").strip()
    key = Secret(key_value, origin(key_var).removeprefix("env ")) if key_value else None
    return AddonSettings(Layer(where, values, origins), key)


def heroku_settings(
    *, app: str | None, addon: str | None, env: Mapping[str, str], run: Runner = subprocess.run
) -> AddonSettings | None:
    """The add-on's settings for `--app` and/or `--addon`, or None when neither is given."""
    if not app and not addon:
        return None
    alias = addon or DEFAULT_ALIAS
    if app:
        variables = app_config(app, env, run=run)
        return addon_settings(
            variables,
            alias=alias,
            where=f"heroku app {app}",
            origin=lambda name: f"{name} (heroku config -a {app})",
        )
    return addon_settings(
        env, alias=alias, where="the environment", origin=lambda name: f"env {name}"
    )
