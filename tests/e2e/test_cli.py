"""The command line: config discovery, precedence, one-line errors and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatrepl.app.cli import build_parser
from chatrepl.app.wiring import resolve_settings
from chatrepl.core.settings import PARSERS, from_toml

ROOT = Path(__file__).resolve().parents[2]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with no endpoint, keys or config from the developer's machine."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INFERENCE_", "OPENAI_", "CHATREPL_")) and k != "NO_COLOR"
    }
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatrepl", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_for(argv: list[str], env: dict[str, str]):  # type: ignore[no-untyped-def]
    return resolve_settings(build_parser().parse_args(argv), env)


def test_example_config_documents_every_key_and_loads() -> None:
    text = (ROOT / "config.example.toml").read_text()
    config = from_toml(text, path="config.example.toml")
    assert config.default_profile == "heroku"
    assert {"heroku", "openai", "ollama", "vllm", "tiny"} <= set(config.profiles)
    for key in PARSERS:
        assert f"{key} =" in text, f"config.example.toml does not document {key}"
    # the tables that are no settings rows: a context window and a price, each key shown
    assert config.windows["claude-4-5-sonnet"] == 200_000
    assert config.prices["claude-4-5-sonnet"].cached_input == 0.3
    for key in ("context =", "input =", "output =", "cached_input ="):
        assert key in text, f"config.example.toml does not document {key}"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config" / "chatrepl" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


CONFIG = """
url = "http://config.example/v1"
model = "config-model"
temperature = 0.3
profile = "work"

[profiles.work]
model = "work-model"
max_tokens = 50

[profiles.openai]
url = "https://api.openai.example"
key_env = "MY_OPENAI_KEY"
model = "gpt-x"
"""


def test_precedence_defaults_config_profile_env_flags(tmp_path: Path) -> None:
    write_config(tmp_path, CONFIG)
    env = clean_env(
        tmp_path, INFERENCE_URL="http://env.example", INFERENCE_KEY=" inf-envkey0123456789 "
    )
    resolved = settings_for([], env)
    s = resolved.settings
    assert (s.url, s.model, s.temperature, s.max_tokens) == (
        "http://env.example",
        "work-model",
        0.3,
        50,
    )
    assert resolved.sources["url"] == "env INFERENCE_URL"
    assert resolved.sources["model"].endswith("[profiles.work]")
    assert resolved.sources["temperature"].startswith("config ")
    assert s.key is not None and s.key.value == "inf-envkey0123456789"
    assert resolved.sources["stream"] == "default"

    flagged = settings_for(["-m", "flag-model", "-t", "1.5", "--max-tokens", "off"], env)
    assert (flagged.settings.model, flagged.settings.temperature) == ("flag-model", 1.5)
    assert flagged.settings.max_tokens is None
    assert flagged.sources["model"] == "flag --model"


def test_a_profile_named_on_the_command_line_outranks_the_environment(tmp_path: Path) -> None:
    write_config(tmp_path, CONFIG)
    env = clean_env(
        tmp_path,
        INFERENCE_URL="http://env.example",
        INFERENCE_KEY="inf-a",
        MY_OPENAI_KEY="sk-openai-key-value-1234",
    )
    s = settings_for(["--profile", "openai"], env).settings
    assert s.url == "https://api.openai.example"
    assert s.key is not None and s.key.source == "MY_OPENAI_KEY"
    assert s.max_tokens is None  # the default profile "work" is not applied


def test_openai_variables_are_fallbacks(tmp_path: Path) -> None:
    env = clean_env(tmp_path, OPENAI_BASE_URL="http://openai.example/v1", OPENAI_API_KEY="sk-x")
    s = settings_for([], env).settings
    assert s.url == "http://openai.example/v1"
    assert s.key is not None and s.key.source == "OPENAI_API_KEY"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("temprature = 0.5\n", ["unknown key 'temprature'", "did you mean 'temperature'"]),
        ('[profiles.w]\nmodle = "x"\n', ["unknown key 'profiles.w.modle'", "'model'"]),
        ('temperature = "hot"\n', ["'temperature' must be a number, not a string"]),
        ('timeout = "10"\n', ["'timeout' must be a number, not a string ('10')"]),
        ("timeout = 1e400\n", ["'timeout' must be a number of seconds", "not inf"]),
        ('key = "inf-abc\\nSECRET-PART"\n', ["'key' must be printable ASCII", "a line break"]),
        ("max_tokens = -3\n", ["'max_tokens' must be a positive whole number"]),
        ('url = "example.com"\n', ["'url' must be an http:// or https:// URL"]),
        ("stream = 1\n", ["'stream' must be true or false"]),
        ("url = \n", ["not valid TOML"]),
        ('profile = "wrk"\n[profiles.work]\nmodel = "x"\n', ["unknown profile 'wrk'", "'work'"]),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(
    tmp_path: Path, config: str, expected: list[str]
) -> None:
    path = write_config(tmp_path, config)
    result = run_cli(["hello"], clean_env(tmp_path, INFERENCE_URL="http://127.0.0.1:9"))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    for fragment in expected:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-t", "5", "hi"], "must be a number from 0 to 2, not '5'"),
        (["--max-tokens", "-3", "hi"], "positive whole number"),
        (["--timeout", "0", "hi"], "a number of seconds above 0"),
        (["--timeout", "inf", "hi"], "up to 86400, not 'inf'"),
        (["--timeout", "1e308", "hi"], "up to 86400, not '1e308'"),
        (["--timeout", "nan", "hi"], "up to 86400, not 'nan'"),
        (["--url", "http://[::1", "hi"], "must be a valid URL"),
        (["--url", "http://exa mple.com", "hi"], "without spaces"),
        (["--url", "http://example.com:99999", "hi"], "must be a valid URL"),
        (["--max-retries", "-1", "hi"], "a whole number from 0 to 10"),
        (["--url", "ftp://x", "hi"], "http:// or https://"),
        (["--key", "inf-secret", "hi"], "unrecognized arguments"),
        (["--profile", "nope", "hi"], "unknown profile 'nope'"),
        (["--config", "/nonexistent/c.toml", "hi"], "/nonexistent/c.toml: config file not found"),
    ],
)
def test_bad_flags_exit_2_with_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = run_cli(args, clean_env(tmp_path, INFERENCE_URL="http://127.0.0.1:9"))
    assert result.returncode == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "inf-secret" not in result.stderr


def test_no_endpoint_explains_what_to_set(tmp_path: Path) -> None:
    result = run_cli(["hello"], clean_env(tmp_path))
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "INFERENCE_URL" in line and "INFERENCE_KEY" in line
    assert str(tmp_path / "config" / "chatrepl" / "config.toml") in line
    assert "--local" in line


def test_chatrepl_config_variable_names_the_file(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("temprature = 1\n")
    result = run_cli(
        ["hi"], clean_env(tmp_path, CHATREPL_CONFIG=str(other), INFERENCE_URL="http://127.0.0.1:9")
    )
    assert result.returncode == 2 and str(other) in result.stderr


def test_version_and_help(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    version = run_cli(["--version"], env)
    assert version.returncode == 0 and version.stdout.startswith("chatrepl 0.")
    helptext = run_cli(["--help"], env).stdout
    for flag in (
        "--model",
        "--temperature",
        "--max-tokens",
        "--system",
        "--url",
        "--profile",
        "--config",
        "--no-stream",
        "--plain",
        "--timeout",
        "--local",
        "--continue",
        "--load",
        "--no-save",
        "--debug",
    ):
        assert flag in helptext


def test_help_names_this_machines_config_file_and_the_built_in_profiles(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    config = tmp_path / "config" / "chatrepl" / "config.toml"
    helptext = run_cli(["--help"], env).stdout
    assert str(config) in helptext  # on one line, never broken at a `-`
    flat = " ".join(helptext.split())  # argparse wraps its lines
    assert f"(default: {config}, not there yet)" in flat
    assert "or a built-in profile: local" in flat
    config.parent.mkdir(parents=True)
    config.write_text('model = "m"\n')
    assert f"(default: {config})" in " ".join(run_cli(["--help"], env).stdout.split())


@pytest.mark.parametrize(
    ("config", "args", "message"),
    [
        (None, ["--profile", "nope"], "unknown profile 'nope' (built in: local; no config"),
        (
            'profile = "nope"\n',
            [],
            "unknown profile 'nope' (built in: local; the config file defines none)",
        ),
        (
            '[profiles.work]\nurl = "https://w.example"\n',
            ["--profile", "wrk"],
            "unknown profile 'wrk' (did you mean 'work'? known: work; built in: local)",
        ),
    ],
)
def test_an_unknown_profile_names_the_built_in_ones_too(
    tmp_path: Path, config: str | None, args: list[str], message: str
) -> None:
    env = clean_env(tmp_path, INFERENCE_URL="http://127.0.0.1:9")
    if config is not None:
        path = tmp_path / "config" / "chatrepl" / "config.toml"
        path.parent.mkdir(parents=True)
        path.write_text(config)
    result = run_cli([*args, "hi"], env)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1  # one line


def test_a_config_file_may_name_the_built_in_profile_as_its_default(tmp_path: Path) -> None:
    config = from_toml('profile = "local"\n', path="c.toml")
    settings = resolve_settings(build_parser().parse_args([]), {}, profile=None)
    assert settings.settings.local is False
    from chatrepl.app.wiring import load_settings

    resolved = load_settings(build_parser().parse_args([]), {}, config, profile=None)
    assert resolved.settings.local is True and resolved.settings.profile == "local"
    assert resolved.sources["local"] == "built-in profile"
