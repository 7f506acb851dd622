"""Settings: layers and precedence, provenance, config and env parsing, validation."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from chatrepl.core.errors import ConfigError
from chatrepl.core.settings import (
    Layer,
    Secret,
    Settings,
    api_base,
    check_plain_http,
    describe,
    from_env,
    from_toml,
    parse_key,
    parse_max_tokens,
    parse_temperature,
    parse_timeout,
    parse_url,
    read_timeout,
    resolve,
    resolve_key,
)

PATH = "/home/u/.config/chatrepl/config.toml"

CONFIG = """
url = "http://config-top.example"
model = "top-model"
temperature = 0.1
max_tokens = 100
system = "top system"
profile = "home"

[profiles.home]
model = "home-model"
temperature = 0.2

[profiles.work]
url = "https://work.example"
model = "work-model"
temperature = 0.3
"""

ENV = {"INFERENCE_URL": "https://us.inference.heroku.com", "INFERENCE_MODEL_ID": "env-model"}


def _layers(*, cli_profile: str | None = None, flags: dict | None = None) -> list[Layer]:
    """Layers in the order the CLI stacks them."""
    config = from_toml(CONFIG, path=PATH)
    layers = [config.base]
    if config.default_profile:
        layers.append(config.profile(config.default_profile))
    layers.append(from_env(ENV))
    if cli_profile:
        layers.append(config.profile(cli_profile))
    if flags:
        layers.append(Layer("flag", flags, {k: f"flag --{k}" for k in flags}))
    return layers


# --- precedence and provenance ----------------------------------------------------


def test_defaults_when_no_layer_sets_anything():
    resolved = resolve()
    assert resolved.settings == Settings()
    assert resolved.settings.stream is True
    assert resolved.settings.timeout is None  # read_timeout() picks per mode
    assert set(resolved.sources.values()) == {"default"}


def test_config_top_level_beats_defaults():
    config = from_toml(CONFIG, path=PATH)
    resolved = resolve(config.base)
    assert resolved.settings.max_tokens == 100
    assert resolved.sources["max_tokens"] == f"config {PATH}"
    assert resolved.sources["stream"] == "default"


def test_default_profile_beats_config_top_level():
    config = from_toml(CONFIG, path=PATH)
    resolved = resolve(config.base, config.profile("home"))
    assert resolved.settings.model == "home-model"
    assert resolved.settings.temperature == 0.2
    assert resolved.settings.system == "top system"  # not in the profile: top level shows
    assert resolved.settings.profile == "home"
    assert resolved.sources["model"] == f"config {PATH} [profiles.home]"
    assert resolved.sources["system"] == f"config {PATH}"


def test_env_beats_config_and_default_profile():
    resolved = resolve(*_layers())
    assert resolved.settings.url == "https://us.inference.heroku.com"
    assert resolved.settings.model == "env-model"
    assert resolved.sources["url"] == "env INFERENCE_URL"
    assert resolved.sources["model"] == "env INFERENCE_MODEL_ID"
    assert resolved.settings.temperature == 0.2  # env says nothing about it


def test_cli_profile_beats_env():
    resolved = resolve(*_layers(cli_profile="work"))
    assert resolved.settings.url == "https://work.example"
    assert resolved.settings.model == "work-model"
    assert resolved.settings.temperature == 0.3
    assert resolved.settings.profile == "work"
    assert resolved.sources["url"] == f"config {PATH} [profiles.work]"


def test_flags_beat_cli_profile():
    resolved = resolve(*_layers(cli_profile="work", flags={"model": "flag-model"}))
    assert resolved.settings.model == "flag-model"
    assert resolved.sources["model"] == "flag --model"
    assert resolved.settings.url == "https://work.example"


def test_slash_command_beats_flags():
    resolved = resolve(*_layers(cli_profile="work", flags={"temperature": 1.5}))
    changed = resolved.with_value("temperature", 0.7, "/temperature")
    assert changed.settings.temperature == 0.7
    assert changed.sources["temperature"] == "/temperature"
    # the original is untouched (frozen values)
    assert resolved.settings.temperature == 1.5
    assert resolved.sources["temperature"] == "flag --temperature"


def test_later_layer_wins_per_key_only():
    resolved = resolve(Layer("a", {"model": "a", "max_tokens": 5}), Layer("b", {"model": "b"}))
    assert resolved.settings.model == "b"
    assert resolved.settings.max_tokens == 5
    assert resolved.sources == {**resolved.sources, "model": "b", "max_tokens": "a"}


def test_layer_origin_falls_back_to_source():
    layer = Layer("env", {"url": "x", "model": "m"}, {"url": "env OPENAI_BASE_URL"})
    assert layer.origin("url") == "env OPENAI_BASE_URL"
    assert layer.origin("model") == "env"


# --- from_toml ----------------------------------------------------------------------


def test_from_toml_empty_file_is_empty():
    config = from_toml("", path=PATH)
    assert dict(config.base.values) == {}
    assert dict(config.profiles) == {}
    assert config.default_profile is None


def test_from_toml_parses_every_kind_of_value():
    text = """
    url = "https://x.example/v1"
    key_env = "MY_KEY"
    model = "m"
    temperature = 1
    max_tokens = 256
    system = "be brief"
    stream = false
    timeout = 30
    plain = true
    autosave = false
    """
    values = dict(from_toml(text, path=PATH).base.values)
    assert values == {
        "url": "https://x.example/v1",
        "key_env": "MY_KEY",
        "model": "m",
        "temperature": 1.0,
        "max_tokens": 256,
        "system": "be brief",
        "stream": False,
        "timeout": 30.0,
        "plain": True,
        "autosave": False,
    }
    assert isinstance(values["temperature"], float)


def test_from_toml_system_off_means_none():
    assert from_toml('system = "off"', path=PATH).base.values["system"] is None


@pytest.mark.parametrize(
    ("text", "bad", "hint"),
    [
        ("temprature = 0.5", "'temprature'", "'temperature'"),
        ('modle = "x"', "'modle'", "'model'"),
        ("max_token = 5", "'max_token'", "'max_tokens'"),
        ('[profiles.work]\nmodle = "x"', "'profiles.work.modle'", "'model'"),
        ("[profiles.work]\ntemperture = 1", "'profiles.work.temperture'", "'temperature'"),
        ('profle = "work"', "'profle'", "'profile'"),
    ],
)
def test_from_toml_unknown_key_names_file_key_and_closest(text, bad, hint):
    with pytest.raises(ConfigError) as info:
        from_toml(text, path=PATH)
    message = str(info.value)
    assert PATH in message
    assert f"unknown key {bad}" in message
    assert f"did you mean {hint}" in message


def test_from_toml_unknown_key_with_nothing_close_has_no_suggestion():
    with pytest.raises(ConfigError) as info:
        from_toml("zzzzzz = 1", path=PATH)
    assert "'zzzzzz'" in str(info.value)
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('temperature = "hot"', "'temperature'", "a number, not a string"),
        ('timeout = "10"', "'timeout'", "a number, not a string ('10'); drop the quotes"),
        ("timeout = 1e400", "'timeout'", "up to 86400, not inf"),
        ("timeout = nan", "'timeout'", "up to 86400, not nan"),
        ('max_retries = "3"', "'max_retries'", "a number, not a string"),
        ("max_retries = 11", "'max_retries'", "a whole number from 0 to 10"),
        ('key_command = "pass show x"', "'key_command'", "a list of words"),
        ("key_command = []", "'key_command'", "a list of words"),
        ("temperature = 2.5", "'temperature'", "a number from 0 to 2"),
        ("temperature = true", "'temperature'", "a number"),
        ("max_tokens = -3", "'max_tokens'", "a positive whole number"),
        ("max_tokens = 0", "'max_tokens'", "a positive whole number"),
        ("max_tokens = 1.5", "'max_tokens'", "a positive whole number"),
        ('stream = "yes"', "'stream'", "true or false"),
        ("stream = 1", "'stream'", "true or false"),
        ('url = "us.inference.heroku.com"', "'url'", "http:// or https:// URL"),
        ('url = "ftp://x"', "'url'", "http:// or https:// URL"),
        ("model = 3", "'model'", "a string"),
        ("timeout = 0", "'timeout'", "a number of seconds above 0"),
        ('[profiles.w]\nstream = "yes"', "'profiles.w.stream'", "true or false"),
    ],
)
def test_from_toml_wrong_type_names_file_and_key(text, key, expected):
    with pytest.raises(ConfigError) as info:
        from_toml(text, path=PATH)
    message = str(info.value)
    assert message.startswith(f"{PATH}: {key} must be ")
    assert expected in message


def test_from_toml_invalid_toml_names_file():
    with pytest.raises(ConfigError) as info:
        from_toml("model = = x", path=PATH)
    assert PATH in str(info.value)
    assert "not valid TOML" in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("profile = 3", "'profile' must be a profile name"),
        ("profiles = 3", "'profiles' must be a table"),
        ("[profiles]\nwork = 3", "'profiles.work' must be a table"),
    ],
)
def test_from_toml_bad_profile_shapes(text, fragment):
    with pytest.raises(ConfigError) as info:
        from_toml(text, path=PATH)
    assert PATH in str(info.value)
    assert fragment in str(info.value)


def test_from_toml_unknown_default_profile_fails_early_and_suggests():
    with pytest.raises(ConfigError) as info:
        from_toml('profile = "wrok"\n[profiles.work]\nmodel = "m"', path=PATH)
    message = str(info.value)
    assert "unknown profile 'wrok'" in message
    assert "did you mean 'work'" in message
    assert PATH in message


def test_from_toml_default_profile_without_any_profiles():
    with pytest.raises(ConfigError, match="unknown profile 'work'"):
        from_toml('profile = "work"', path=PATH)


def test_profile_layer_records_its_name_and_source():
    config = from_toml(CONFIG, path=PATH)
    work = config.profile("work")
    assert work.values["profile"] == "work"
    assert work.source == f"config {PATH} [profiles.work]"
    assert config.default_profile == "home"
    assert set(config.profiles) == {"home", "work"}


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("wrok", "did you mean 'work'?"),
        ("hom", "did you mean 'home'?"),
        ("zzzzzz", "known: home, work"),
    ],
)
def test_config_profile_unknown_name(name, fragment):
    config = from_toml(CONFIG, path=PATH)
    with pytest.raises(ConfigError) as info:
        config.profile(name)
    assert f"unknown profile '{name}'" in str(info.value)
    assert fragment in str(info.value)


# --- from_env and resolve_key -------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "values", "origins"),
    [
        ({}, {}, {}),
        (
            {"INFERENCE_URL": "https://us.inference.heroku.com", "INFERENCE_MODEL_ID": "claude"},
            {"url": "https://us.inference.heroku.com", "model": "claude"},
            {"url": "env INFERENCE_URL", "model": "env INFERENCE_MODEL_ID"},
        ),
        (
            {"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"},
            {"url": "http://127.0.0.1:8080/v1"},
            {"url": "env OPENAI_BASE_URL"},
        ),
        (
            {"INFERENCE_URL": "https://a.example", "OPENAI_BASE_URL": "https://b.example"},
            {"url": "https://a.example"},
            {"url": "env INFERENCE_URL"},
        ),
        (  # blank INFERENCE_URL falls through to the OpenAI variable
            {"INFERENCE_URL": "   ", "OPENAI_BASE_URL": "https://b.example"},
            {"url": "https://b.example"},
            {"url": "env OPENAI_BASE_URL"},
        ),
        (
            {"INFERENCE_URL": "  https://a.example\n", "INFERENCE_MODEL_ID": " m \t"},
            {"url": "https://a.example", "model": "m"},
            {"url": "env INFERENCE_URL", "model": "env INFERENCE_MODEL_ID"},
        ),
        (  # keys are not a setting from env: resolve_key attaches them
            {"INFERENCE_KEY": "inf-abcdefghijkl", "OPENAI_API_KEY": "sk-x", "HOME": "/h"},
            {},
            {},
        ),
    ],
)
def test_from_env(env, values, origins):
    layer = from_env(env)
    assert dict(layer.values) == values
    assert dict(layer.origins) == origins
    for key, origin in origins.items():
        assert layer.origin(key) == origin


def test_from_env_bad_url_names_the_variable():
    with pytest.raises(ConfigError) as info:
        from_env({"INFERENCE_URL": "us.inference.heroku.com"})
    assert "$INFERENCE_URL" in str(info.value)
    assert "http://" in str(info.value)


KEY = "inf-0123456789abcdefWXYZ"


@pytest.mark.parametrize(
    ("key_env", "env", "value", "source"),
    [
        (None, {"INFERENCE_KEY": KEY}, KEY, "INFERENCE_KEY"),
        (None, {"INFERENCE_KEY": f"  {KEY}\n"}, KEY, "INFERENCE_KEY"),
        (None, {"OPENAI_API_KEY": "sk-abc"}, "sk-abc", "OPENAI_API_KEY"),
        (None, {"INFERENCE_KEY": KEY, "OPENAI_API_KEY": "sk-abc"}, KEY, "INFERENCE_KEY"),
        (None, {"INFERENCE_KEY": " ", "OPENAI_API_KEY": "sk-abc"}, "sk-abc", "OPENAI_API_KEY"),
        ("WORK_KEY", {"WORK_KEY": "k-1", "INFERENCE_KEY": KEY}, "k-1", "WORK_KEY"),
    ],
)
def test_resolve_key_found(key_env, env, value, source):
    resolved = resolve(Layer("flag", {"key_env": key_env} if key_env else {}))
    with_key = resolve_key(resolved, env)
    assert with_key.settings.key == Secret(value, source)
    assert with_key.settings.key.value == value
    assert with_key.sources["key"] == f"env {source}"


def test_resolve_key_unset_without_key_env_leaves_no_key():
    resolved = resolve()
    assert resolve_key(resolved, {"HOME": "/h"}) is resolved
    assert resolved.settings.key is None
    assert resolved.sources["key"] == "default"


@pytest.mark.parametrize("env", [{}, {"WORK_KEY": "  "}, {"INFERENCE_KEY": KEY}])
def test_resolve_key_missing_named_var_is_an_error(env):
    resolved = resolve(Layer("config", {"key_env": "WORK_KEY"}))
    with pytest.raises(ConfigError) as info:
        resolve_key(resolved, env)
    assert "$WORK_KEY" in str(info.value)
    assert KEY not in str(info.value)


# --- Secret -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("inf-0123456789abcd", "inf-…abcd"),
        ("sk-proj-0123456789wxyz", "sk-…wxyz"),
        ("0123456789abcdefghij", "…ghij"),
        ("inf-1234567", "…"),  # too short to show any of it
        ("abc", "…"),
        ("", ""),
    ],
)
def test_secret_masked(value, masked):
    secret = Secret(value, "INFERENCE_KEY")
    assert secret.masked() == masked
    assert str(secret) == masked
    assert describe("key", secret) == masked


@pytest.mark.parametrize("value", ["inf-0123456789abcdSECRET", "short", "sk-proj-zzzzzzzzzzzz9"])
def test_secret_never_leaks_through_formatting(value):
    secret = Secret(value, "INFERENCE_KEY")
    settings = Settings(key=secret)
    for text in (str(secret), repr(secret), f"{secret}", repr(settings), str(settings)):
        assert value not in text
    assert "INFERENCE_KEY" in repr(secret)


# --- api_base -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://us.inference.heroku.com", "https://us.inference.heroku.com/v1"),
        ("https://us.inference.heroku.com/", "https://us.inference.heroku.com/v1"),
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/v1/chat/completions", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/v1/chat/completions/", "http://127.0.0.1:8080/v1"),
        ("  https://api.openai.com/v1  ", "https://api.openai.com/v1"),
        ("https://h.example/openai/v1", "https://h.example/openai/v1"),
    ],
)
def test_api_base(url, base):
    assert api_base(url) == base


# --- the value parsers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0.0), (2, 2.0), ("0", 0.0), ("2", 2.0), ("0.7", 0.7), (" 1.5 ", 1.5), (1, 1.0)],
)
def test_parse_temperature_ok(value, expected):
    result = parse_temperature(value)
    assert result == expected
    assert isinstance(result, float)


@pytest.mark.parametrize(
    "value", [2.01, "2.01", -0.1, "-0.1", "abc", "", "off", True, False, None, [1], "nan", "inf"]
)
def test_parse_temperature_rejects(value):
    with pytest.raises(ValueError) as info:
        parse_temperature(value)
    assert str(info.value) == "a number from 0 to 2"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        ("1", 1),
        ("4096", 4096),
        (" 7 ", 7),
        (3.0, 3),
        ("off", None),
        ("OFF", None),
        (" none ", None),
        (None, None),
    ],
)
def test_parse_max_tokens_ok(value, expected):
    assert parse_max_tokens(value) == expected


@pytest.mark.parametrize("value", [0, "0", -3, "-3", "1.5", 1.5, "abc", "", True, False, [3]])
def test_parse_max_tokens_rejects(value):
    with pytest.raises(ValueError) as info:
        parse_max_tokens(value)
    assert str(info.value) == "a positive whole number or 'off'"


@pytest.mark.parametrize(("value", "expected"), [(1, 1.0), ("0.5", 0.5), (600, 600.0)])
def test_parse_timeout_ok(value, expected):
    assert parse_timeout(value) == expected


@pytest.mark.parametrize("value", [0, "0", -1, "off", "abc", True, None])
def test_parse_timeout_rejects(value):
    with pytest.raises(ValueError):
        parse_timeout(value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://x.example", True),
        ("HTTP://x.example", True),
        (" http://x ", True),
        ("x.example", False),
        ("", False),
        ("   ", False),
        (None, False),
        ("file:///x", False),
    ],
)
def test_parse_url(value, ok):
    if ok:
        assert parse_url(value) == value.strip()
    else:
        with pytest.raises(ValueError, match="http"):
            parse_url(value)


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("max_tokens", None, "off"),
        ("system", None, "off"),
        ("model", None, "(not set)"),
        ("stream", True, "on"),
        ("stream", False, "off"),
        ("temperature", 0.5, "0.5"),
        ("temperature", 1.0, "1"),
        ("max_tokens", 64, "64"),
        ("timeout", math.inf, "inf"),
    ],
)
def test_describe(key, value, shown):
    assert describe(key, value) == shown


# --- robustness: bad values are one line, keys are validated, plain http is refused ---


@pytest.mark.parametrize(
    "value", ["inf", "-inf", "nan", "1e308", 1e308, math.inf, math.nan, "86401", 1e400]
)
def test_parse_timeout_refuses_non_finite_and_absurd_values(value):
    with pytest.raises(ValueError, match="up to 86400"):
        parse_timeout(value)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("http://[::1", "a valid URL"),
        ("http://exa mple.com", "without spaces"),
        ("http://example.com:99999", "a valid URL"),
        ("http://example.com:port", "a valid URL"),
        ("http://", "with a host name"),
        ("https:///v1", "with a host name"),
        ("http://x\x00y", "control characters"),
    ],
)
def test_parse_url_refuses_malformed_urls(value, fragment):
    with pytest.raises(ValueError, match=r"http|URL") as info:
        parse_url(value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("value", ["http://[::1]:8080", "https://user:pw@h.example/v1"])
def test_parse_url_accepts_ipv6_and_userinfo(value):
    assert parse_url(value) == value


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("inf-abc123", "inf-abc123"),
        ("  inf-abc123\n", "inf-abc123"),
        ('"inf-abc123"', "inf-abc123"),
        ("'inf-abc123'", "inf-abc123"),
        ("\u201cinf-abc123\u201d", "inf-abc123"),  # pasted from a word processor
        ("\u2018inf-abc123\u2019", "inf-abc123"),
    ],
)
def test_parse_key_strips_whitespace_and_quotes(raw, key):
    assert parse_key(raw) == key


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("inf-abc\n123SECRET", "a line break"),
        ("inf-abc 123SECRET", "a space"),
        ("inf-abc\t123SECRET", "a tab"),
        ("inf-abcé123SECRET", "a non-ASCII character"),
        ("inf-abc\x7f123SECRET", "a control character"),
        ('""', "not an empty string"),
    ],
)
def test_parse_key_refuses_without_repeating_the_key(raw, fragment):
    with pytest.raises(ValueError) as info:
        parse_key(raw)
    assert fragment in str(info.value)
    assert "SECRET" not in str(info.value) and "abc" not in str(info.value)


def test_a_key_with_a_line_break_in_the_environment_is_one_line_without_the_key():
    with pytest.raises(ConfigError) as info:
        resolve_key(resolve(), {"INFERENCE_KEY": "inf-abc\nSECRETPART"})
    message = str(info.value)
    assert message.startswith("$INFERENCE_KEY is not a usable API key")
    assert "SECRETPART" not in message and "\n" not in message


def test_a_literal_key_in_the_config_is_a_secret_naming_the_file():
    config = from_toml('key = "inf-literal-0123456789"', path=PATH)
    assert config.holds_key
    resolved = resolve_key(resolve(config.base), {})
    assert resolved.settings.key == Secret("inf-literal-0123456789", f"config {PATH}")
    assert not from_toml('model = "m"', path=PATH).holds_key


def test_a_bad_literal_key_in_the_config_is_not_echoed():
    with pytest.raises(ConfigError) as info:
        from_toml('key = "inf-abc\\nSECRETPART"', path=PATH)
    assert "SECRETPART" not in str(info.value) and "'key'" in str(info.value)


def test_key_command_output_is_stripped_and_validated():
    ran: list[tuple[str, ...]] = []

    def run(words):
        ran.append(tuple(words))
        return "  inf-from-pass-0123456789\n"

    layer = Layer("config c.toml", {"key_command": ("pass", "show", "x")})
    resolved = resolve_key(resolve(layer), {"INFERENCE_KEY": "inf-env"}, run_command=run)
    assert ran == [("pass", "show", "x")]
    assert resolved.settings.key.value == "inf-from-pass-0123456789"
    assert resolved.sources["key"] == "key_command pass"


def test_key_command_output_that_is_not_a_key_is_one_line():
    layer = Layer("config c.toml", {"key_command": ("pass", "show", "x")})
    with pytest.raises(ConfigError) as info:
        resolve_key(resolve(layer), {}, run_command=lambda words: "line one SECRET\nline two")
    assert "key_command 'pass'" in str(info.value) and "SECRET" not in str(info.value)


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        # the explicit way set last wins: a profile's command beats the top level's key_env
        ([{"key_env": "WORK_KEY"}, {"key_command": ("cmd",)}], "from-command"),
        ([{"key_command": ("cmd",)}, {"key_env": "WORK_KEY"}], "from-work"),
        ([{"key": Secret("inf-literal-0123", "c")}, {"key_env": "WORK_KEY"}], "from-work"),
        ([{"key_env": "WORK_KEY"}, {"key": Secret("inf-literal-0123", "c")}], "inf-literal-0123"),
        # explicit ways beat the default variables whatever their layer
        ([{"key": Secret("inf-literal-0123", "c")}], "inf-literal-0123"),
        ([{}], "from-default"),
    ],
)
def test_the_key_comes_from_the_way_set_last(layers, expected):
    env = {"WORK_KEY": "from-work", "INFERENCE_KEY": "from-default"}
    resolved = resolve(*(Layer(f"layer {i}", values) for i, values in enumerate(layers)))
    key = resolve_key(resolved, env, run_command=lambda words: "from-command").settings.key
    assert key is not None and key.value == expected


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://127.3.4.5", True),
        ("http://localhost:11434", True),
        ("http://api.localhost", True),
        ("http://[::1]:8000/v1", True),
        ("https://inference.example", True),
        ("http://inference.example", False),
        ("http://10.0.0.7:8000", False),
        ("http://localhost.evil.example", False),
    ],
)
def test_the_key_goes_over_plain_http_only_to_this_machine(url, allowed):
    settings = Settings(url=url, key=Secret("inf-0123456789abcdef", "INFERENCE_KEY"))
    if allowed:
        check_plain_http(settings)
    else:
        with pytest.raises(ConfigError, match="--allow-insecure-http") as info:
            check_plain_http(settings)
        assert "0123456789" not in str(info.value)
    check_plain_http(replace(settings, allow_insecure_http=True))  # always allowed then
    check_plain_http(replace(settings, key=None))  # no key, nothing to leak


def test_read_timeout_depends_on_streaming():
    assert read_timeout(Settings(), streaming=True) == 120
    assert read_timeout(Settings(), streaming=False) == 600
    assert read_timeout(Settings(timeout=7.0), streaming=True) == 7
