"""Request parameters and roles: /set, /unset, /role.

`/set KEY VALUE` takes any chat-completions parameter (checked by core.params where its
range is known, else sent as the JSON it reads as); the four settings with commands
of their own (model, temperature, max_tokens, system) are set through their parsers,
so `/set temperature 0.2` means `/temperature 0.2`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatrepl.core import params
from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.errors import CommandError
from chatrepl.core.settings import (
    describe,
    parse_max_tokens,
    parse_optional_text,
    parse_temperature,
    parse_text,
)

_SETTINGS: dict[str, Callable[[Any], Any]] = {
    "model": parse_text,
    "temperature": parse_temperature,
    "max_tokens": parse_max_tokens,
    "system": parse_optional_text,
}


def _list(ctx: CommandContext) -> None:
    current = ctx.settings.params or {}
    if not current:
        known = ", ".join(params.KNOWN_KEYS)
        ctx.view.info(f"no request parameters set: /set KEY VALUE ({known}, or any other key)")
        return
    rows = [
        (key, params.describe_value(value), ctx.sources.get(f"params.{key}", ""))
        for key, value in current.items()
    ]
    ctx.view.table(rows, title="Request parameters (/unset KEY removes one)")


def _set(ctx: CommandContext, args: str) -> None:
    if not args.strip():
        _list(ctx)
        return
    key, _, text = args.strip().partition(" ")
    if not text.strip():
        raise CommandError(f"usage: /set {key} VALUE (/unset {key} removes it)")
    if key in _SETTINGS:
        try:
            value = _SETTINGS[key](text.strip())
        except ValueError as exc:
            raise CommandError(f"{key} takes {exc}, not {text.strip()!r}") from None
        ctx.set(key, value, "/set")
        ctx.view.info(f"{key}: {describe(key, getattr(ctx.settings, key))}")
        return
    try:
        value = params.from_text(key, text)
    except params.ParamError as exc:
        raise CommandError(str(exc)) from None
    ctx.set_param(key, value, "/set")
    known = "" if key in params.KNOWN_KEYS else "; chatrepl does not know this key: it goes as is"
    ctx.view.info(f"{key}: {params.describe_value(value)} (sent with every request{known})")


def _unset(ctx: CommandContext, args: str) -> None:
    key = args.strip()
    if not key or " " in key:
        raise CommandError("usage: /unset KEY")
    if key in _SETTINGS:
        ctx.set(key, None, "/unset")
        ctx.view.info(f"{key}: {describe(key, None)}")
        return
    if key not in (ctx.settings.params or {}):
        set_now = ", ".join(ctx.settings.params or {}) or "none"
        raise CommandError(f"{key} is not set (set now: {set_now})")
    ctx.set_param(key, None, "/unset")
    ctx.view.info(f"{key}: removed")


def _role(ctx: CommandContext, args: str) -> None:
    name = args.strip()
    if not name:
        roles = ctx.roles
        current = ctx.settings.role
        if not roles:
            ctx.view.info('no roles yet: add [roles.NAME] with system = "…" to the config file')
            return
        rows = []
        for role_name, layer in roles.items():
            system = str(layer.values.get("system", "")).strip().split("\n", 1)[0]
            model = layer.values.get("model")
            extra = f" (model {model})" if model else ""
            system = system if len(system) <= 60 else system[:59] + "…"
            rows.append(("*" if role_name == current else "", role_name, system + extra))
        ctx.view.table(rows, title="Roles (/role NAME takes one on, /role off drops it)")
        return
    if name.lower() in ("off", "none"):
        if ctx.settings.role is None:
            raise CommandError("no role in use")
        ctx.use_role(None)
        ctx.view.info("role: off (its system prompt went with it)")
        return
    if " " in name:
        raise CommandError("a role name has no spaces")
    role = ctx.use_role(name)
    assert role is not None
    model = role.values.get("model")
    ctx.view.info(f"role: {name}" + (f" (model {model})" if model else ""))


COMMANDS: tuple[Command, ...] = (
    Command(
        "set",
        _set,
        "set a request parameter (top_p, stop, seed, response_format json, …)",
        "[KEY VALUE]",
        completes="params",
    ),
    Command("unset", _unset, "remove a request parameter", "KEY", completes="params"),
    Command(
        "role",
        _role,
        "take on a role from the config file, or list them",
        "[NAME|off]",
        completes="roles",
    ),
)
