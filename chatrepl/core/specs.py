"""Model specs: what the user types after /compare, turned into comparison `Target`s.

A spec is `[PROFILE:]MODEL[@NAME=VALUE,NAME=VALUE…]`:

- `heroku:claude-4-5-sonnet` asks that model at the endpoint of the config's
  `[profiles.heroku]`; `local:smollm2` asks the bundled llama.cpp server (the built-in
  `local` profile), started on first use. The part before the first `:` is a profile
  only when a profile of that name exists, so `llama3:8b` stays a model name.
- `gpt-4o@temperature=0.2,max_tokens=50` overrides settings for that column alone: a
  setting from the settings table (`temperature`, `max_tokens`, `system`, `think`),
  parsed by that table's own parser, or a request parameter (`top_p=0.9`,
  `stop=["END"]`), checked by `core/params.py` as `/set` checks it. The same model twice
  at two temperatures is two targets.
- `@NAME` stands for the specs of the config's `[compare.sets.NAME]` (`models = [...]`).

Pure: the profiles and sets known are handed in; a bad spec is one `SpecError` line.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from chatrepl.core.comparison import LABELS, Target
from chatrepl.core.errors import CommandError, ConfigError
from chatrepl.core.params import ParamError, from_text
from chatrepl.core.settings import BUILTIN_PROFILES, SPECS, ConfigFile, closest

# the settings a column may change: those that shape one request (the rest are the
# endpoint's, the profile's, or the session's)
OVERRIDABLE = ("temperature", "max_tokens", "system", "think")
# `a,b` inside a value (stop=["a","b"]) is not a new setting: split only before `name=`
_NEXT_SETTING = re.compile(r",(?=\s*[A-Za-z_][\w.-]*\s*=)")
_NAME = re.compile(r"[A-Za-z_][\w.-]*$")
_SETTING_NEXT = re.compile(r"\s*[A-Za-z_][\w.-]*\s*=")


class SpecError(CommandError):
    """A spec that names no usable model, endpoint or setting."""


def parse_spec(text: str, *, profiles: Collection[str] = ()) -> Target:
    """One spec as a Target; `profiles` are the config's (the built-in ones are known)."""
    spec = text.strip()
    if not spec or any(c.isspace() for c in spec):
        raise SpecError(f"{spec!r} is not a model spec (PROFILE:MODEL@NAME=VALUE,…)")
    head, at, tail = spec.partition("@")
    profile: str | None = None
    model = head
    name, colon, rest = head.partition(":")
    if colon and (name in profiles or name in BUILTIN_PROFILES):
        profile, model = name, rest
    if not model and profile is None:
        raise SpecError(f"{spec}: no model before '@'")
    overrides = parse_overrides(tail, spec=spec) if at else {}
    return Target(spec, model, profile, overrides)


def parse_overrides(text: str, *, spec: str) -> dict[str, Any]:
    """`temperature=0.2,max_tokens=50` as setting names and checked values."""
    if not text.strip():
        raise SpecError(f"{spec}: nothing after '@' (NAME=VALUE,… like temperature=0.2)")
    overrides: dict[str, Any] = {}
    for part in _NEXT_SETTING.split(text):
        name, eq, raw = part.partition("=")
        name = name.strip()
        if not eq or not _NAME.match(name):
            raise SpecError(f"{spec}: {part!r} is not NAME=VALUE (like temperature=0.2)")
        if name in overrides:
            raise SpecError(f"{spec}: {name} is given twice")
        overrides[name] = _value(name, raw, spec=spec)
    return overrides


def _value(name: str, raw: str, *, spec: str) -> Any:
    if name in OVERRIDABLE:
        try:
            return SPECS[name].parse(raw.strip())
        except (ValueError, OverflowError) as exc:
            raise SpecError(f"{spec}: {name} must be {exc}, not {raw.strip()!r}") from None
    if name in SPECS:
        hint = closest(name, list(OVERRIDABLE))
        guess = f"; did you mean {hint}?" if hint else ""
        raise SpecError(
            f"{spec}: {name} is not a per-model setting (a spec may set "
            f"{', '.join(OVERRIDABLE)} or a request parameter){guess}"
        )
    hint = closest(name, list(OVERRIDABLE))
    if hint is not None and hint != name and len(name) > 3:
        # `temprature=0.2` is a typo, not a parameter the server would silently ignore
        raise SpecError(f"{spec}: unknown setting {name!r}; did you mean {hint}?")
    try:
        return from_text(name, raw)
    except ParamError as exc:
        raise SpecError(f"{spec}: {exc}") from None


def expand(
    words: Sequence[str],
    *,
    profiles: Collection[str] = (),
    sets: Mapping[str, Sequence[str]] | None = None,
) -> list[Target]:
    """Every word as Targets, `@NAME` replaced by its set's specs (in order)."""
    sets = sets or {}
    targets: list[Target] = []
    for word in words:
        if word.startswith("@"):
            name = word[1:]
            if name not in sets:
                hint = closest(name, list(sets))
                known = f"did you mean @{hint}?" if hint else _known_sets(sets)
                raise SpecError(f"unknown set {word} ({known})")
            targets += [parse_spec(spec, profiles=profiles) for spec in sets[name]]
        else:
            targets.append(parse_spec(word, profiles=profiles))
    if len(targets) > len(LABELS):  # each column needs its letter (blind, /vote, /pick)
        raise SpecError(
            f"at most {len(LABELS)} models at once (columns A to Z), not {len(targets)}"
        )
    return targets


def _known_sets(sets: Mapping[str, Sequence[str]]) -> str:
    if not sets:
        return "the config file defines none: add [compare.sets.NAME] models = [...]"
    return "known: " + ", ".join(f"@{name}" for name in sorted(sets))


def split_specs(text: str) -> list[str]:
    """`--compare a,b@temperature=0.2,max_tokens=5,c` as specs: a comma before `NAME=`
    belongs to the settings of the spec it is in."""
    parts, start, depth, quoted = [], 0, 0, False
    for i, char in enumerate(text):
        if char == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char in "[{":
            depth += 1
        elif not quoted and char in "]}":
            depth -= 1
        elif char == "," and not quoted and depth <= 0 and not _SETTING_NEXT.match(text, i + 1):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def current_target(model: str) -> Target:
    """The session's own model at its own endpoint, as a comparison column."""
    return Target(model, model)


def is_current(target: Target, model: str | None) -> bool:
    """Whether `target` is the session's model as it stands (its endpoint, no overrides)."""
    return target.profile is None and not target.overrides and target.model == model


def check_sets(config: ConfigFile) -> None:
    """Every spec of the config's `[compare.sets.NAME]` parses (a ConfigError naming the
    file and the set otherwise), so a typo shows at startup, not at the first /compare."""
    for name, specs in config.compare_sets.items():
        for spec in specs:
            try:
                parse_spec(spec, profiles=config.profiles)
            except SpecError as exc:
                raise ConfigError(f"{config.path}: [compare.sets.{name}] {exc}") from None
