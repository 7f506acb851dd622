"""Settings, the layers they come from, and validation. Pure: no env, no disk.

Precedence, lowest to highest: defaults < config file (its top level, then its default
profile) < environment < a profile picked with --profile < flags < slash-commands.
A profile named on the command line is itself a flag, so it outranks the environment:
`--profile openai` must not be overridden by Heroku's INFERENCE_URL in the shell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from chatrepl.errors import ConfigError

TEMPERATURE_RANGE = (0.0, 2.0)
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True, slots=True)
class Secret:
    """An API key. Its repr and str are masked so it cannot leak through formatting."""

    value: str = field(repr=False)
    source: str  # where it came from, e.g. "INFERENCE_KEY", named in 401 messages

    def masked(self) -> str:
        """`inf-…abcd`: enough to recognise the key, never enough to use it."""
        v = self.value
        if len(v) < 12:
            return "…" * bool(v)
        prefix = v.split("-", 1)[0] + "-" if "-" in v[:8] else ""
        return f"{prefix}…{v[-4:]}"

    def __str__(self) -> str:
        return self.masked()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that shapes a session. `key` is masked wherever it is shown."""

    url: str | None = None
    key: Secret | None = None
    key_env: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    system: str | None = None
    stream: bool = True
    timeout: float = DEFAULT_TIMEOUT
    plain: bool = False
    autosave: bool = True
    local: bool = False
    local_model: str | None = None
    profile: str | None = None


# --- validation: one function per key, shared by config, flags and slash-commands --


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("a number")
    try:
        return float(value)
    except ValueError:
        raise ValueError("a number") from None


def parse_temperature(value: Any) -> float:
    """A temperature from 0 to 2."""
    lo, hi = TEMPERATURE_RANGE
    try:
        t = _number(value)
    except ValueError:
        raise ValueError(f"a number from {lo:g} to {hi:g}") from None
    if not lo <= t <= hi:
        raise ValueError(f"a number from {lo:g} to {hi:g}")
    return t


def parse_max_tokens(value: Any) -> int | None:
    """A positive whole number, or "off" (None) for no cap."""
    if value is None or (isinstance(value, str) and value.strip().lower() in {"off", "none"}):
        return None
    if isinstance(value, bool):
        raise ValueError("a positive whole number or 'off'")
    try:
        n = int(value) if not isinstance(value, float) or value.is_integer() else -1
    except (TypeError, ValueError):
        raise ValueError("a positive whole number or 'off'") from None
    if n <= 0:
        raise ValueError("a positive whole number or 'off'")
    return n


def parse_timeout(value: Any) -> float:
    """A positive number of seconds."""
    t = _number(value)
    if t <= 0:
        raise ValueError("a positive number of seconds")
    return t


def parse_url(value: Any) -> str:
    """An http(s) URL; a trailing `/` or `/v1` is accepted and dropped later."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an http:// or https:// URL")
    url = value.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("an http:// or https:// URL")
    return url


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a string")
    return value


def _optional_text(value: Any) -> str | None:
    text = _text(value)
    return None if text.strip().lower() in {"", "off"} else text


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


PARSERS: dict[str, Callable[[Any], Any]] = {
    "url": parse_url,
    "key_env": _text,
    "model": _text,
    "temperature": parse_temperature,
    "max_tokens": parse_max_tokens,
    "system": _optional_text,
    "stream": _boolean,
    "timeout": parse_timeout,
    "plain": _boolean,
    "autosave": _boolean,
    "local": _boolean,
    "local_model": _text,
}
CONFIG_KEYS = (*PARSERS, "profile", "profiles")
SETTING_NAMES = tuple(f.name for f in fields(Settings))


def closest(name: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The valid name the user most likely meant, if any is close."""
    import difflib  # only on the error path

    found = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return found[0] if found else None


# --- layers ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layer:
    """Values from one place; `origins` names a more precise source per key."""

    source: str
    values: Mapping[str, Any]
    origins: Mapping[str, str] = field(default_factory=dict)

    def origin(self, key: str) -> str:
        """Where this layer's value for `key` came from."""
        return self.origins.get(key, self.source)


@dataclass(frozen=True, slots=True)
class Resolved:
    """Effective settings plus, for every key, the layer it came from."""

    settings: Settings
    sources: Mapping[str, str]

    def with_value(self, key: str, value: Any, source: str) -> Resolved:
        """A copy with one setting changed, e.g. by a slash-command."""
        return Resolved(replace(self.settings, **{key: value}), {**self.sources, key: source})


def resolve(*layers: Layer) -> Resolved:
    """Merge layers, later ones winning, remembering where each value came from."""
    values: dict[str, Any] = {}
    sources = {name: "default" for name in SETTING_NAMES}
    for layer in layers:
        for key, value in layer.values.items():
            values[key] = value
            sources[key] = layer.origin(key)
    return Resolved(Settings(**values), sources)


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """A parsed config file: its top-level layer, its profiles, and the default profile."""

    base: Layer
    profiles: Mapping[str, Layer]
    default_profile: str | None

    def profile(self, name: str) -> Layer:
        """The named profile's layer, or a ConfigError naming the closest one."""
        if name in self.profiles:
            return self.profiles[name]
        hint = closest(name, list(self.profiles))
        known = ", ".join(sorted(self.profiles)) or "none"
        suggestion = f" (did you mean '{hint}'?)" if hint else f" (known: {known})"
        raise ConfigError(f"unknown profile '{name}'{suggestion}")


def _validate_table(table: Mapping[str, Any], *, path: str, where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in PARSERS:
            # the top level also accepts `profile` and `profiles`: suggest those too
            hint = closest(key, list(CONFIG_KEYS if not where else PARSERS))
            tip = f"; did you mean '{hint}'?" if hint else ""
            raise ConfigError(f"{path}: unknown key '{where}{key}'{tip}")
        try:
            values[key] = PARSERS[key](raw)
        except ValueError as exc:
            raise ConfigError(f"{path}: '{where}{key}' must be {exc}, not {raw!r}") from None
    return values


def from_toml(text: str, *, path: str) -> ConfigFile:
    """Parse and validate a config file; every error names the file and the key."""
    import tomllib  # only when a config file exists: keeps startup fast

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    profiles_table = data.pop("profiles", {})
    default_profile = data.pop("profile", None)
    if default_profile is not None and not isinstance(default_profile, str):
        raise ConfigError(f"{path}: 'profile' must be a profile name, not {default_profile!r}")
    if not isinstance(profiles_table, dict):
        raise ConfigError(f"{path}: 'profiles' must be a table like [profiles.NAME]")
    base = Layer(f"config {path}", _validate_table(data, path=path, where=""))
    profiles: dict[str, Layer] = {}
    for name, table in profiles_table.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: 'profiles.{name}' must be a table [profiles.{name}]")
        values = _validate_table(table, path=path, where=f"profiles.{name}.")
        profiles[name] = Layer(f"config {path} [profiles.{name}]", {**values, "profile": name})
    config = ConfigFile(base, profiles, default_profile)
    if default_profile is not None:
        try:
            config.profile(default_profile)  # fail early on a typo
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return config


URL_VARS = ("INFERENCE_URL", "OPENAI_BASE_URL")
KEY_VARS = ("INFERENCE_KEY", "OPENAI_API_KEY")
MODEL_VARS = ("INFERENCE_MODEL_ID",)


def _first_set(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def from_env(env: Mapping[str, str]) -> Layer:
    """The environment layer: Heroku's INFERENCE_* first, OpenAI's variables as fallbacks."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for key, names in (("url", URL_VARS), ("model", MODEL_VARS)):
        found = _first_set(env, names)
        if found:
            name, value = found
            try:
                values[key] = PARSERS[key](value)
            except ValueError as exc:
                raise ConfigError(f"${name} must be {exc}, not {value!r}") from None
            origins[key] = f"env {name}"
    return Layer("env", values, origins)


def resolve_key(resolved: Resolved, env: Mapping[str, str]) -> Resolved:
    """Look the API key up in the environment (by `key_env` if set) and attach it."""
    key_env = resolved.settings.key_env
    names = (key_env,) if key_env else KEY_VARS
    found = _first_set(env, names)
    if found is None:
        if key_env:
            raise ConfigError(f"key_env names ${key_env}, but it is not set")
        return resolved
    name, value = found
    return resolved.with_value("key", Secret(value, name), f"env {name}")


def api_base(url: str) -> str:
    """`…/v1` for any accepted spelling of the base URL (with or without `/` or `/v1`)."""
    base = url.strip().rstrip("/")
    for suffix in ("/chat/completions", "/v1"):
        if base.endswith(suffix):
            base = base[: -len(suffix)].rstrip("/")
    return base + "/v1"


def describe(key: str, value: Any) -> str:
    """A setting's value as /settings shows it."""
    if value is None:
        return "off" if key in {"max_tokens", "system"} else "(not set)"
    if isinstance(value, Secret):
        return value.masked()
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
