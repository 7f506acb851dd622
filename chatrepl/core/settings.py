"""Settings, the layers they come from, and validation. Pure: no env, no disk.

Precedence, lowest to highest: defaults < config file (its top level, then its default
profile) < environment < a profile picked with --profile < flags < slash-commands.
A profile named on the command line is itself a flag, so it outranks the environment:
`--profile openai` must not be overridden by Heroku's INFERENCE_URL in the shell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from chatrepl.core.dialect import DIALECTS, parse_dialect, parse_think
from chatrepl.core.errors import ConfigError
from chatrepl.core.params import parse_params

if TYPE_CHECKING:  # the price and window tables load with a config file that has them
    from chatrepl.core.pricing import Price

TEMPERATURE_RANGE = (0.0, 2.0)
DEFAULT_TIMEOUT = 600.0
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


AUTO_COMPACT = ("off", "trim", "summarise")


def parse_auto_compact(value: Any) -> str:
    """off, trim or summarise (summarize works too)."""
    text = value.strip().lower() if isinstance(value, str) else None
    text = "summarise" if text == "summarize" else text
    if text not in AUTO_COMPACT:
        raise ValueError("off, trim or summarise")
    return text


def _not_configurable(value: Any) -> Any:
    raise ValueError("not settable here")


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
        None, _not_configurable, "the API key (only from the environment)", config=False, shown=True
    )
    key_env: str | None = _setting(
        None, parse_text, "read the API key from $VAR", flags=("--key-env",), metavar="VAR"
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
    )
    max_tokens: int | None = _setting(
        None,
        parse_max_tokens,
        "reply cap, or off",
        flags=("--max-tokens",),
        metavar="N|off",
        shown=True,
        stored=True,
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
    timeout: float = _setting(
        DEFAULT_TIMEOUT,
        parse_timeout,
        f"read timeout (default {DEFAULT_TIMEOUT:g})",
        flags=("--timeout",),
        metavar="SECONDS",
        shown=True,
    )
    plain: bool = _setting(
        False, parse_boolean, "no markdown rendering or colour", flags=("--plain",), const=True
    )
    autosave: bool = _setting(
        True,
        parse_boolean,
        "do not autosave this session",
        flags=("--no-save",),
        const=False,
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
CONFIG_KEYS = (*PARSERS, "profile", "profiles", "roles", "models", "prices")
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
    """Effective settings plus, for every key, the layer it came from."""

    settings: Settings
    sources: Mapping[str, str]

    def with_value(self, key: str, value: Any, source: str) -> Resolved:
        """A copy with one setting changed, e.g. by a slash-command."""
        sources = {**self.sources, key: source}
        if SPECS[key].merges:  # the whole table is replaced: each of its keys too
            value = dict(value) if value else None
            sources = {k: v for k, v in sources.items() if not k.startswith(f"{key}.")}
            sources.update({f"{key}.{sub}": source for sub in value or {}})
        return Resolved(replace(self.settings, **{key: value}), sources)

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
        return Resolved(settings, sources)


def resolve(*layers: Layer) -> Resolved:
    """Merge layers, later ones winning, remembering where each value came from.

    A table-valued setting (`params`) merges key by key instead, and each of its keys
    remembers its own source as `params.KEY`.
    """
    values: dict[str, Any] = {}
    sources = {name: "default" for name in SETTING_NAMES}
    for layer in layers:
        for key, value in layer.values.items():
            if SPECS[key].merges and value is not None:
                values[key] = {**(values.get(key) or {}), **value} or None
                sources.update({f"{key}.{sub}": layer.origin(key) for sub in value})
            else:
                values[key] = value
            sources[key] = layer.origin(key)
    return Resolved(Settings(**values), sources)


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

    def role(self, name: str) -> Layer:
        """The named role's layer, or a ConfigError naming the closest one."""
        return find_role(self.roles, name)

    def profile(self, name: str) -> Layer:
        """The named profile's layer, or a ConfigError naming the closest one."""
        if name in self.profiles:
            return self.profiles[name]
        hint = closest(name, list(self.profiles))
        known = ", ".join(sorted(self.profiles)) or "none"
        suggestion = f" (did you mean '{hint}'?)" if hint else f" (known: {known})"
        raise ConfigError(f"unknown profile '{name}'{suggestion}")


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
        try:
            values[key] = allowed[key](raw)
        except ValueError as exc:
            raise ConfigError(f"{path}: '{where}{key}' must be {exc}, not {raw!r}") from None
    return values


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
    try:
        if "models" in data:
            from chatrepl.core.context import parse_windows

            windows = parse_windows(data.pop("models"))
        if "prices" in data:
            from chatrepl.core.pricing import parse_prices

            prices = parse_prices(data.pop("prices"))
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
    config = ConfigFile(base, profiles, default_profile, roles, windows, prices)
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
KEY_VARS = ("INFERENCE_KEY", "OPENAI_API_KEY")  # the key is no setting row: it is a Secret


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
