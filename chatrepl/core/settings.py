"""Settings, the layers they come from, and validation. Pure: no env, no disk.

Precedence, lowest to highest: defaults < config file (its top level, then its default
profile) < environment < a profile picked with --profile < flags < slash-commands.
A profile named on the command line is itself a flag, so it outranks the environment:
`--profile openai` must not be overridden by Heroku's INFERENCE_URL in the shell.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chatrepl.core.dialect import DIALECTS, parse_dialect, parse_think
from chatrepl.core.errors import ConfigError
from chatrepl.core.params import parse_params

if TYPE_CHECKING:  # the price and window tables load with a config file that has them
    from chatrepl.core.pricing import Price

TEMPERATURE_RANGE = (0.0, 2.0)
CONNECT_TIMEOUT = 10.0
STREAM_TIMEOUT = 120.0  # streaming: the longest silence between two bytes of a reply
WHOLE_REPLY_TIMEOUT = 600.0  # --no-stream: the whole reply is written at once, at the end
MAX_TIMEOUT = 86400.0  # a day; beyond it the socket layer overflows (1e308, inf)
DEFAULT_RETRIES = 2
MAX_RETRIES = 10
QUOTES = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb`"  # straight, curly and guillemets
# Models that take image input unless the config says otherwise (`image_models`):
# Heroku's Claude 4.5 / 4.6 ids, and the well-known vision families elsewhere.
DEFAULT_IMAGE_MODELS = (
    "claude-4-5-*",
    "claude-4-6-*",
    "claude-*-4-5",
    "claude-*-4-6",
    "claude-sonnet-4*",
    "claude-opus-4*",
    "gpt-4o*",
    "gpt-4.1*",
    "gpt-5*",
    "*vision*",
    "*-vl*",
    "llava*",
    "gemma3*",
    "pixtral*",
)


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

    @property
    def origin(self) -> str:
        """Where it came from, for messages: `$INFERENCE_KEY`, or a file or command."""
        name = self.source
        return f"${name}" if name.replace("_", "").isalnum() and name.upper() == name else name


def parse_key(value: Any) -> str:
    """An API key: printable ASCII once surrounding whitespace and quotes are stripped.

    The error never repeats the value: it is a secret, however mangled.
    """
    if not isinstance(value, str):
        raise ValueError("a string")
    key = value.strip().strip(QUOTES).strip()
    if not key:
        raise ValueError("a key, not an empty string")
    for position, char in enumerate(key, 1):
        if not "!" <= char <= "~":
            what = {"\n": "a line break", "\r": "a line break", "\t": "a tab", " ": "a space"}
            kind = what.get(char) or (
                "a non-ASCII character" if ord(char) > 127 else "a control character"
            )
            raise ValueError(f"printable ASCII, but character {position} is {kind}")
    return key


# --- validation: one function per kind of value, shared by config, flags and commands


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
    """A positive number of seconds, at most a day."""
    try:
        t = _number(value)
    except ValueError:
        t = math.nan
    if not 0 < t <= MAX_TIMEOUT:  # also refuses nan and inf
        raise ValueError(f"a number of seconds above 0 and up to {MAX_TIMEOUT:g}")
    return t


def parse_retries(value: Any) -> int:
    """How many times to retry a failed request: a whole number from 0 to 10."""
    if isinstance(value, bool):
        raise ValueError(f"a whole number from 0 to {MAX_RETRIES}")
    try:
        n = int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        n = None
    if not isinstance(n, int) or not 0 <= n <= MAX_RETRIES:
        raise ValueError(f"a whole number from 0 to {MAX_RETRIES}")
    return n


def parse_command(value: Any) -> tuple[str, ...]:
    """A command as a list of words (run without a shell): ["pass", "show", "x"]."""
    if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
        raise ValueError('a list of words like ["pass", "show", "heroku/inference"]')
    if not all(isinstance(word, str) and word and "\0" not in word for word in value):
        raise ValueError("a list of non-empty strings")
    return tuple(value)


def parse_url(value: Any) -> str:
    """An http(s) URL with a host (and a valid port); `/` or `/v1` at the end is fine."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an http:// or https:// URL")
    url = value.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("an http:// or https:// URL")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError("a URL without spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"a valid URL ({exc})") from None
    if not parts.hostname:
        raise ValueError("an http:// or https:// URL with a host name")
    del port
    return url


def is_loopback(host: str | None) -> bool:
    """Whether `host` is this machine (localhost, 127.0.0.0/8, ::1)."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_plain_http(settings: Settings) -> None:
    """Refuse to send a key over plain http:// to another machine unless allowed."""
    url, key = settings.url, settings.key
    if not url or key is None or not key.value or settings.allow_insecure_http:
        return
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http" or is_loopback(parts.hostname):
        return
    raise ConfigError(
        f"refusing to send the API key over plain http:// to {parts.hostname}: anyone on "
        "the network could read it; use https://, or --allow-insecure-http "
        "(allow_insecure_http = true) if you trust this network"
    )


def parse_text(value: Any) -> str:
    """Any string."""
    if not isinstance(value, str):
        raise ValueError("a string")
    return value


def parse_optional_text(value: Any) -> str | None:
    """A string; empty or "off" means unset."""
    text = parse_text(value)
    return None if text.strip().lower() in {"", "off"} else text


def parse_boolean(value: Any) -> bool:
    """true or false (TOML booleans only: "yes" in a config file is a typo, not a yes)."""
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def parse_name(value: Any) -> str | None:
    """A name (a role): one word; empty or "off" means none."""
    text = parse_optional_text(value)
    if text is not None and (not text.strip() or len(text.split()) != 1):
        raise ValueError("a name without spaces")
    return None if text is None else text.strip()


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2}


def parse_size(value: Any) -> int:
    """A size in bytes: 4096, "512K", "5MB"."""
    bad = ValueError('a size in bytes, like 1048576, "512K" or "5MB"')
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int):
        number, unit = float(value), ""
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        digits = text.rstrip("kmb")
        unit = text[len(digits) :]
        try:
            number = float(digits)
        except ValueError:
            raise bad from None
    else:
        raise bad
    if unit not in _SIZE_UNITS or number <= 0:
        raise bad
    return int(number * _SIZE_UNITS[unit])


def parse_count(value: Any) -> int:
    """A positive whole number."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("a positive whole number")
    try:
        n = int(value)
    except ValueError:
        raise ValueError("a positive whole number") from None
    if n <= 0:
        raise ValueError("a positive whole number")
    return n


def parse_patterns(value: Any) -> tuple[str, ...]:
    """A list of model-name patterns (`*` matches anything): ["gpt-4o*", "llava*"]."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ValueError('a list of model-name patterns, like ["gpt-4o*", "llava*"]')
    return tuple(value)


def parse_alias(value: Any) -> str:
    """A Heroku attachment alias: letters, digits and underscores (`INFERENCE`, `MYAI`)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an add-on alias like INFERENCE")
    alias = value.strip().upper().rstrip("_")
    if not alias.replace("_", "").isalnum() or not alias[0].isalpha() or not alias.isascii():
        raise ValueError("an add-on alias like INFERENCE (letters, digits, _)")
    return alias


COLOR_MODES = ("auto", "always", "never")


def parse_color(value: Any) -> str:
    """auto, always or never (when to colour the output)."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in COLOR_MODES:
        raise ValueError("auto, always or never")
    return text


AUTO_COMPACT = ("off", "trim", "summarise")


def parse_auto_compact(value: Any) -> str:
    """off, trim or summarise (summarize works too)."""
    text = value.strip().lower() if isinstance(value, str) else None
    text = "summarise" if text == "summarize" else text
    if text not in AUTO_COMPACT:
        raise ValueError("off, trim or summarise")
    return text


# --- the table of settings --------------------------------------------------------

_NO_CONST: Any = object()


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One row of the settings table: how a setting is parsed, set and shown.

    It drives the command-line flags, config-file validation, `/settings` and the
    transcript header, so adding a setting is adding one field to `Settings`.
    """

    name: str
    parse: Callable[[Any], Any]
    help: str
    flags: tuple[str, ...] = ()  # e.g. ("-m", "--model"); empty: no flag
    metavar: str | None = None
    const: Any = _NO_CONST  # a flag that takes no value sets this (--no-stream: False)
    env: tuple[str, ...] = ()  # environment variables, first set wins
    config: bool = True  # may appear in the config file and its profiles
    shown: bool = False  # a row of /settings
    stored: bool = False  # recorded in transcripts (never the URL or the key)
    merges: bool = False  # a table: each layer adds keys; its flag may be repeated
    number: bool = False  # a config file must give a TOML number, not a string like "10"

    @property
    def takes_value(self) -> bool:
        """Whether its flag is followed by a value."""
        return self.const is _NO_CONST


def _setting(default: Any, parse: Callable[[Any], Any], help: str, **row: Any) -> Any:
    # `Any`: the field keeps the type its annotation gives; the row rides in metadata
    spec = SettingSpec("", parse, help, **row)
    return field(default=default, metadata={"spec": spec})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that shapes a session, one field per setting, each its own table row.

    `key` is masked wherever it is shown and never stored.
    """

    url: str | None = _setting(
        None,
        parse_url,
        "base URL (with or without /v1)",
        flags=("--url",),
        metavar="URL",
        env=("INFERENCE_URL", "OPENAI_BASE_URL"),
        shown=True,
    )
    key: Secret | None = _setting(
        None,
        lambda value: Secret(parse_key(value), "the config file"),
        "the API key (environment, key_env, key_command, or the config file)",
        shown=True,
    )
    key_env: str | None = _setting(
        None, parse_text, "read the API key from $VAR", flags=("--key-env",), metavar="VAR"
    )
    key_command: tuple[str, ...] | None = _setting(
        None, parse_command, "a command that prints the API key (run without a shell)"
    )
    model: str | None = _setting(
        None,
        parse_text,
        "model id",
        flags=("-m", "--model"),
        metavar="MODEL",
        env=("INFERENCE_MODEL_ID",),
        shown=True,
        stored=True,
    )
    temperature: float | None = _setting(
        None,
        parse_temperature,
        "0 to 2 (0 to 1 on Heroku)",
        flags=("-t", "--temperature"),
        metavar="X",
        shown=True,
        stored=True,
        number=True,
    )
    max_tokens: int | None = _setting(
        None,
        parse_max_tokens,
        "reply cap, or off",
        flags=("--max-tokens",),
        metavar="N|off",
        shown=True,
        stored=True,
        number=True,
    )
    system: str | None = _setting(
        None,
        parse_optional_text,
        "system prompt",
        flags=("-s", "--system"),
        metavar="TEXT",
        shown=True,
        stored=True,
    )
    think: str | None = _setting(
        None,
        parse_think,
        "ask for reasoning: off, on, low|medium|high, or N tokens (Heroku)",
        flags=("--think",),
        metavar="LEVEL",
        shown=True,
        stored=True,
    )
    dialect: str | None = _setting(
        None,
        parse_dialect,
        f"the server's dialect: {', '.join(DIALECTS)} (default: detected)",
        flags=("--dialect",),
        metavar="NAME",
        shown=True,
    )
    app: str | None = _setting(
        None,
        parse_text,
        "read the add-on's URL, key and model from this Heroku app (heroku config)",
        flags=("--app",),
        metavar="APP",
        shown=True,
    )
    addon: str | None = _setting(
        None,
        parse_alias,
        "the add-on's attachment alias: read ALIAS_URL, ALIAS_KEY, ALIAS_MODEL_ID",
        flags=("--addon",),
        metavar="ALIAS",
        shown=True,
    )
    stream: bool = _setting(
        True,
        parse_boolean,
        "ask for the whole reply at once",
        flags=("--no-stream",),
        const=False,
        shown=True,
    )
    timeout: float | None = _setting(
        None,
        parse_timeout,
        f"read timeout: the longest wait for the server (default {STREAM_TIMEOUT:g} s "
        f"between bytes of a stream, {WHOLE_REPLY_TIMEOUT:g} s with --no-stream)",
        flags=("--timeout",),
        metavar="SECONDS",
        shown=True,
        number=True,
    )
    max_retries: int = _setting(
        DEFAULT_RETRIES,
        parse_retries,
        f"retries of a failed request (default {DEFAULT_RETRIES}; 0 to {MAX_RETRIES})",
        flags=("--max-retries",),
        metavar="N",
        shown=True,
        number=True,
    )
    allow_insecure_http: bool = _setting(
        False,
        parse_boolean,
        "send the key over plain http:// to a host that is not this machine",
        flags=("--allow-insecure-http",),
        const=True,
    )
    plain: bool = _setting(
        False, parse_boolean, "no markdown rendering or colour", flags=("--plain",), const=True
    )
    color: str = _setting(
        "auto",
        parse_color,
        "colour: auto (a terminal, unless NO_COLOR is set; FORCE_COLOR forces it), always "
        "(markdown rendered even into a pipe) or never (markdown laid out, no colour)",
        flags=("--color",),
        metavar="WHEN",
    )
    autosave: bool = _setting(
        True,
        parse_boolean,
        "do not autosave this session",
        flags=("--no-save",),
        const=False,
        shown=True,
    )
    autosave_one_shot: bool = _setting(
        True,
        parse_boolean,
        "save one-shot runs too (as one-shot sessions, which /sessions hides)",
        shown=True,
    )
    local: bool = _setting(
        False,
        parse_boolean,
        "start the bundled llama.cpp server with SmolLM2 (extra 'local')",
        flags=("--local",),
        const=True,
    )
    local_model: str | None = _setting(
        None,
        parse_text,
        "a GGUF model for --local (implies --local)",
        flags=("--local-model",),
        metavar="PATH.gguf",
    )
    params: Mapping[str, Any] | None = _setting(
        None,
        parse_params,
        "a request parameter, e.g. top_p=0.9 or stop='[\"END\"]' (repeatable)",
        flags=("-o", "--param"),
        metavar="KEY=VALUE",
        shown=True,
        stored=True,
        merges=True,
    )
    role: str | None = _setting(
        None,
        parse_name,
        "use [roles.NAME] from the config file (its system prompt, model, params)",
        flags=("--role",),
        metavar="NAME",
        shown=True,
        stored=True,
    )
    image_models: tuple[str, ...] = _setting(
        DEFAULT_IMAGE_MODELS, parse_patterns, "models that take image attachments"
    )
    attach_max_file: int = _setting(5 * 1024**2, parse_size, "the largest file /attach takes")
    attach_max_total: int = _setting(
        20 * 1024**2, parse_size, "the most one message may carry in attachments"
    )
    attach_max_files: int = _setting(50, parse_count, "the most files one message may carry")
    auto_compact: str = _setting(
        "off",
        parse_auto_compact,
        "when the conversation outgrows the window: off (ask), trim or summarise",
        shown=True,
    )
    profile: str | None = _setting(
        None, parse_text, "the profile in use", config=False, shown=True, stored=True
    )


SETTINGS: tuple[SettingSpec, ...] = tuple(
    replace(f.metadata["spec"], name=f.name) for f in fields(Settings)
)
SPECS: Mapping[str, SettingSpec] = {spec.name: spec for spec in SETTINGS}
PARSERS: Mapping[str, Callable[[Any], Any]] = {s.name: s.parse for s in SETTINGS if s.config}
CONFIG_KEYS = (*PARSERS, "profile", "profiles", "roles", "models", "prices", "compare")
ROLE_KEYS = ("system", "model", "temperature", "max_tokens", "params")
SETTING_NAMES = tuple(spec.name for spec in SETTINGS)
SHOWN_SETTINGS = tuple(spec.name for spec in SETTINGS if spec.shown)
STORED_SETTINGS = tuple(spec.name for spec in SETTINGS if spec.stored)


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
    """Effective settings plus, for every key, the layer it came from.

    `ranks` numbers those layers (later is higher), so the key can be taken from
    whichever of `key`, `key_env` and `key_command` was set last.
    """

    settings: Settings
    sources: Mapping[str, str]
    ranks: Mapping[str, int] = field(default_factory=dict)

    def with_value(self, key: str, value: Any, source: str) -> Resolved:
        """A copy with one setting changed, e.g. by a slash-command."""
        sources = {**self.sources, key: source}
        if SPECS[key].merges:  # the whole table is replaced: each of its keys too
            value = dict(value) if value else None
            sources = {k: v for k, v in sources.items() if not k.startswith(f"{key}.")}
            sources.update({f"{key}.{sub}": source for sub in value or {}})
        rank = max(self.ranks.values(), default=0) + 1
        return Resolved(replace(self.settings, **{key: value}), sources, {**self.ranks, key: rank})

    def with_param(self, name: str, value: Any, source: str) -> Resolved:
        """A copy with one request parameter set (or removed, for None)."""
        params = dict(self.settings.params or {})
        sources = {**self.sources}
        if value is None:
            params.pop(name, None)
            sources.pop(f"params.{name}", None)
        else:
            params[name] = value
            sources[f"params.{name}"] = source
        sources["params"] = source
        settings = replace(self.settings, params=params or None)
        return Resolved(settings, sources, self.ranks)


def resolve(*layers: Layer) -> Resolved:
    """Merge layers, later ones winning, remembering where each value came from.

    A table-valued setting (`params`) merges key by key instead, and each of its keys
    remembers its own source as `params.KEY`.
    """
    values: dict[str, Any] = {}
    sources = {name: "default" for name in SETTING_NAMES}
    ranks: dict[str, int] = {}
    for rank, layer in enumerate(layers, 1):
        for key, value in layer.values.items():
            if SPECS[key].merges and value is not None:
                values[key] = {**(values.get(key) or {}), **value} or None
                sources.update({f"{key}.{sub}": layer.origin(key) for sub in value})
            else:
                values[key] = value
            sources[key] = layer.origin(key)
            ranks[key] = rank
    return Resolved(Settings(**values), sources, ranks)


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """A parsed config file: its top-level layer, its profiles, the default profile, and
    its roles (named system prompts, each a layer of its own)."""

    base: Layer
    profiles: Mapping[str, Layer]
    default_profile: str | None
    roles: Mapping[str, Layer] = field(default_factory=dict)
    windows: Mapping[str, int] = field(default_factory=dict)  # [models."NAME"] context
    prices: Mapping[str, Price] = field(default_factory=dict)  # [prices."NAME"]
    path: str = ""
    # [compare.sets.NAME] models = [...]: what `/compare @NAME` compares
    compare_sets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def role(self, name: str) -> Layer:
        """The named role's layer, or a ConfigError naming the closest one."""
        return find_role(self.roles, name)

    @property
    def holds_key(self) -> bool:
        """Whether a literal API key is written in it (its permissions then matter)."""
        layers = [self.base, *self.profiles.values()]
        return any(layer.values.get("key") is not None for layer in layers)

    def profile(self, name: str) -> Layer:
        """The named profile's layer, or a ConfigError naming the closest one (a
        built-in profile's name is no error: see `profile_layers`)."""
        if name in self.profiles:
            return self.profiles[name]
        if name in BUILTIN_PROFILES:
            return builtin_profile(name)
        raise unknown_profile(name, self.profiles, has_config=True)


# Profiles every installation has; a config file's [profiles.NAME] of the same name
# adds to it (its values win).
BUILTIN_PROFILES: Mapping[str, Mapping[str, Any]] = {"local": {"local": True}}


def builtin_profile(name: str) -> Layer:
    """The layer of a built-in profile."""
    return Layer("built-in profile", {**BUILTIN_PROFILES[name], "profile": name})


def profile_layers(name: str, config: ConfigFile | None) -> list[Layer]:
    """The layers a profile adds: the built-in one, then the config file's, either or
    both; a ConfigError naming every known profile when there is neither."""
    layers = [builtin_profile(name)] if name in BUILTIN_PROFILES else []
    if config is not None and name in config.profiles:
        layers.append(config.profiles[name])
    if not layers:
        configured = config.profiles if config is not None else {}
        raise unknown_profile(name, configured, has_config=config is not None)
    return layers


def unknown_profile(name: str, configured: Mapping[str, Any], *, has_config: bool) -> ConfigError:
    """`unknown profile 'x'`, with the closest name and every profile there is."""
    hint = closest(name, [*configured, *BUILTIN_PROFILES])
    builtin = ", ".join(BUILTIN_PROFILES)
    if configured:
        known = f"known: {', '.join(sorted(configured))}; built in: {builtin}"
    elif not has_config:
        known = f"built in: {builtin}; no config file defines more"
    else:
        known = f"built in: {builtin}; the config file defines none"
    guess = f"did you mean '{hint}'? " if hint else ""
    return ConfigError(f"unknown profile '{name}' ({guess}{known})")


def find_role(roles: Mapping[str, Layer], name: str) -> Layer:
    """The named role, or a ConfigError naming the closest (or the known) roles."""
    if name in roles:
        return roles[name]
    hint = closest(name, list(roles))
    known = ", ".join(sorted(roles)) or "none: add [roles.NAME] to the config file"
    suggestion = f" (did you mean '{hint}'?)" if hint else f" (known: {known})"
    raise ConfigError(f"unknown role '{name}'{suggestion}")


def _validate_table(
    table: Mapping[str, Any], *, path: str, where: str, keys: tuple[str, ...] | None = None
) -> dict[str, Any]:
    allowed = PARSERS if keys is None else {k: PARSERS[k] for k in keys}
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in allowed:
            # the top level also accepts `profile`, `profiles` and `roles`: suggest those too
            hint = closest(key, list(CONFIG_KEYS if not where else allowed))
            tip = f"; did you mean '{hint}'?" if hint else ""
            raise ConfigError(f"{path}: unknown key '{where}{key}'{tip}")
        if SPECS[key].merges:
            if not isinstance(raw, dict):
                raise ConfigError(f"{path}: '{where}{key}' must be a table like [...{key}]")
            try:
                values[key] = allowed[key](raw)
            except ValueError as exc:
                raise ConfigError(f"{path}: [{where}{key}] {exc}") from None
            continue
        shown = "the value given" if key == "key" else _short(raw)  # never echo a key
        if SPECS[key].number and isinstance(raw, str) and not _is_off(raw, key):
            raise ConfigError(
                f"{path}: '{where}{key}' must be a number, not a string ({shown}); drop the quotes"
            )
        try:
            values[key] = allowed[key](raw)
        except (ValueError, OverflowError) as exc:
            raise ConfigError(f"{path}: '{where}{key}' must be {exc}, not {shown}") from None
        if key == "key":
            values[key] = Secret(values[key].value, path)
    return values


def _is_off(raw: str, key: str) -> bool:
    return key == "max_tokens" and raw.strip().lower() in {"off", "none"}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _roles(table: Any, *, path: str) -> dict[str, Layer]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'roles' must be a table like [roles.NAME]")
    roles: dict[str, Layer] = {}
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{path}: 'roles.{name}' must be a table [roles.{name}]")
        if len(name.split()) != 1:
            raise ConfigError(f"{path}: role name {name!r} must be one word")
        values = _validate_table(spec, path=path, where=f"roles.{name}.", keys=ROLE_KEYS)
        if not values.get("system"):
            raise ConfigError(f"{path}: 'roles.{name}' needs a system = \"…\" prompt")
        roles[name] = Layer(f"role {name}", {**values, "role": name})
    return roles


def parse_sets(table: Any) -> dict[str, tuple[str, ...]]:
    """The config's `[compare.sets.NAME]` tables (`models = ["a", "b@temperature=0"]`);
    ValueError names the set at fault. Each spec's syntax is core/specs.py's (check_sets),
    checked once the config's profiles are known."""
    if not isinstance(table, dict):
        raise ValueError("[compare] must be a table with [compare.sets.NAME] tables")
    unknown = [k for k in table if k != "sets"]
    if unknown:
        raise ValueError(f"unknown key 'compare.{unknown[0]}' (only [compare.sets.NAME])")
    sets = table.get("sets", {})
    if not isinstance(sets, dict):
        raise ValueError("'compare.sets' must be a table like [compare.sets.NAME]")
    out: dict[str, tuple[str, ...]] = {}
    for name, body in sets.items():
        where = f"[compare.sets.{name}]"
        if not isinstance(body, dict) or set(body) != {"models"}:
            raise ValueError(f'{where} must hold models = ["MODEL", "PROFILE:MODEL", …]')
        models = body["models"]
        if (
            not isinstance(models, list)
            or not models
            or not all(isinstance(m, str) and m.strip() and " " not in m.strip() for m in models)
        ):
            raise ValueError(f"{where} models must be a non-empty list of model specs")
        out[name] = tuple(m.strip() for m in models)
    return out


def from_toml(text: str, *, path: str) -> ConfigFile:
    """Parse and validate a config file; every error names the file and the key."""
    import tomllib  # only when a config file exists: keeps startup fast

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    profiles_table = data.pop("profiles", {})
    roles = _roles(data.pop("roles", {}), path=path)
    windows: dict[str, int] = {}
    prices: dict[str, Price] = {}
    compare_sets: dict[str, tuple[str, ...]] = {}
    try:
        if "models" in data:
            from chatrepl.core.context import parse_windows

            windows = parse_windows(data.pop("models"))
        if "prices" in data:
            from chatrepl.core.pricing import parse_prices

            prices = parse_prices(data.pop("prices"))
        if "compare" in data:
            compare_sets = parse_sets(data.pop("compare"))
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
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
    config = ConfigFile(base, profiles, default_profile, roles, windows, prices, path, compare_sets)
    for layer in (base, *profiles.values()):
        role = layer.values.get("role")
        if role is not None and role not in roles:
            try:
                find_role(roles, role)
            except ConfigError as exc:
                raise ConfigError(f"{path}: {exc}") from None
    if default_profile is not None:
        try:
            config.profile(default_profile)  # fail early on a typo
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return config


URL_VARS = SPECS["url"].env
MODEL_VARS = SPECS["model"].env
KEY_VARS = ("INFERENCE_KEY", "OPENAI_API_KEY")  # the default places to look for the key


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
    for spec in SETTINGS:
        found = _first_set(env, spec.env) if spec.env else None
        if found:
            name, value = found
            try:
                values[spec.name] = spec.parse(value)
            except ValueError as exc:
                raise ConfigError(f"${name} must be {exc}, not {value!r}") from None
            origins[spec.name] = f"env {name}"
    return Layer("env", values, origins)


def resolve_key(
    resolved: Resolved,
    env: Mapping[str, str],
    *,
    run_command: Callable[[Sequence[str]], str] | None = None,
) -> Resolved:
    """Attach the API key: from `key_env`, `key_command` or a literal `key`, whichever was
    set last, else from $INFERENCE_KEY or $OPENAI_API_KEY. Every key is validated."""
    settings = resolved.settings
    given = [
        name
        for name in ("key", "key_command", "key_env")  # ties: the most explicit one last
        if getattr(settings, name) is not None
    ]
    chosen = max(given, key=lambda name: resolved.ranks.get(name, 0), default=None)
    if chosen == "key" and settings.key is not None:
        source = resolved.sources["key"]
        return resolved.with_value("key", _checked_key(settings.key.value, source), source)
    if chosen == "key_command" and settings.key_command is not None:
        if run_command is None:
            raise ConfigError("key_command cannot be run here")
        words = settings.key_command
        output = run_command(words)
        source = f"key_command {words[0]}"
        secret = _checked_key(output, f"the output of key_command {words[0]!r}", source)
        return resolved.with_value("key", secret, source)
    names = (settings.key_env,) if chosen == "key_env" and settings.key_env else KEY_VARS
    found = _first_set(env, names)
    if found is None:
        if chosen == "key_env":
            raise ConfigError(f"key_env names ${settings.key_env}, but it is not set")
        return resolved
    name, value = found
    return resolved.with_value("key", _checked_key(value, f"${name}", name), f"env {name}")


def _checked_key(value: str, where: str, source: str | None = None) -> Secret:
    try:
        key = parse_key(value)
    except ValueError as exc:
        raise ConfigError(f"{where} is not a usable API key: it must be {exc}") from None
    return Secret(key, source or where)


def api_base(url: str) -> str:
    """`…/v1` for any accepted spelling of the base URL (with or without `/` or `/v1`)."""
    base = url.strip().rstrip("/")
    for suffix in ("/chat/completions", "/v1"):
        if base.endswith(suffix):
            base = base[: -len(suffix)].rstrip("/")
    return base + "/v1"


def read_timeout(settings: Settings, *, streaming: bool) -> float:
    """Seconds to wait for the server: between bytes of a stream, or for a whole reply."""
    if settings.timeout is not None:
        return settings.timeout
    return STREAM_TIMEOUT if streaming else WHOLE_REPLY_TIMEOUT


def describe(key: str, value: Any) -> str:
    """A setting's value as /settings shows it."""
    if value is None:
        if key == "timeout":
            return f"{STREAM_TIMEOUT:g} s ({WHOLE_REPLY_TIMEOUT:g} s no-stream)"
        if key == "params":
            return "(none: /set KEY VALUE)"
        return "off" if key in {"max_tokens", "system", "role", "think"} else "(not set)"
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    if isinstance(value, Secret):
        return value.masked()
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
